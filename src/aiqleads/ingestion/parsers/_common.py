"""Small helpers shared by the source parsers: decoding, JSON loading, safe lookups, text scans."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from aiqleads.ingestion.records import ParseError, RawValue

_BOM = "\ufeff"

# US/Canada numbers as people type them in ads: 305.467.6348, 954-478-4784, (281)336-9159.
_PHONE_RE = re.compile(
    r"(?<![\w/])(?:\+?1[\s.\-]?)?(?:\(\d{3}\)\s*|\d{3}[\s.\-])\d{3}[\s.\-]\d{4}(?![\w/])"
)
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_WS_RE = re.compile(r"\s+")


def decode_text(data: bytes) -> str:
    """Bytes to text: UTF-8 (BOM dropped); a stray byte is read as Windows-1252.

    Scraper outputs mix encodings (scrapfly's Zillow search.json has one raw 0xAE "®"), and one
    bad byte must not cost the whole document.
    """
    if not data or not data.strip():
        raise ParseError("empty document")
    parts: list[str] = []
    rest = data
    while True:
        try:
            parts.append(rest.decode("utf-8"))
            break
        except UnicodeDecodeError as exc:
            parts.append(rest[: exc.start].decode("utf-8"))
            parts.append(rest[exc.start : exc.end].decode("cp1252", errors="replace"))
            rest = rest[exc.end :]
    text = "".join(parts)
    text = text[1:] if text.startswith(_BOM) else text
    if not text.strip():
        raise ParseError("empty document")
    return text


def load_json(data: bytes) -> Any:
    """Parse a JSON document; a truncated or malformed one is a `ParseError` with its position."""
    text = decode_text(data)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"invalid or truncated JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    except RecursionError as exc:
        raise ParseError("JSON nested too deeply") from exc


def looks_like_json(text: str) -> bool:
    return text.lstrip()[:1] in ("{", "[")


def dig(obj: Any, *path: str | int) -> Any:
    """`obj[a][b]…` that answers None instead of raising when a step is missing or mistyped."""
    current = obj
    for step in path:
        if isinstance(step, int):
            if not isinstance(current, list) or not -len(current) <= step < len(current):
                return None
            current = current[step]
        else:
            if not isinstance(current, Mapping):
                return None
            current = current.get(step)
    return current


def scalar(value: Any) -> RawValue:
    """Keep a JSON scalar as it is; anything else (lists, dicts) is not a raw field value."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    return None


def text_or_none(value: Any) -> str | None:
    """A string field: strings are kept (blank ones dropped), numbers are written out."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value if value.strip() else None
    return None


def squash(text: str | None) -> str | None:
    """Collapse the whitespace HTML leaves in text nodes; empty becomes None."""
    if text is None:
        return None
    out = _WS_RE.sub(" ", text).strip()
    return out or None


def find_phones(text: str | None) -> list[str]:
    """Phone numbers as written in free text, in order, without repeats."""
    if not text:
        return []
    return _unique(m.group(0).strip() for m in _PHONE_RE.finditer(text))


def find_emails(text: str | None) -> list[str]:
    if not text:
        return []
    return _unique(m.group(0) for m in _EMAIL_RE.finditer(text))


def _unique(items: Any) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


def join_nonblank(*parts: Any, sep: str = " ") -> str | None:
    words = [str(p).strip() for p in parts if p is not None and str(p).strip()]
    return sep.join(words) or None


def mapping(value: Any) -> Mapping[str, Any]:
    """`value` if it is a JSON object, else an empty one, so lookups can chain without checks."""
    return value if isinstance(value, Mapping) else {}
