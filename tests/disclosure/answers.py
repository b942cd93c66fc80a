"""Asking the table's questions and keeping the answers as bytes."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from tests.disclosure.table import COMPETITORS, HEATMAP, LEADS, Entry
from tests.disclosure.world import P0, World

AGENTS = ("basic", "pro", "enterprise")
Answers = dict[str, bytes]

MAX_PAGES = 200
# A cursor is encrypted with a fresh nonce each time, so two cursors for one position differ;
# the answer keeps its length (which depends on the position's plaintext) and nothing else.
_CURSOR = re.compile(rb'"next_cursor":"([A-Za-z0-9_=-]+)"')


def without_cursor(body: bytes) -> bytes:
    return _CURSOR.sub(lambda m: b'"next_cursor":"<%d chars>"' % len(m.group(1)), body)


def _next_cursor(body: bytes) -> str | None:
    try:
        found = json.loads(body).get("next_cursor")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, str) else None


async def ask(
    client: httpx.AsyncClient,
    headers: Mapping[str, str],
    entry: Entry,
    named: Mapping[str, uuid.UUID],
) -> bytes:
    """The answer to one entry: status, content type and body of each page, one per line."""
    url = entry.path
    if entry.lead is not None:
        url = url.replace("{lead_id}", str(named[entry.lead]))
    for name, value in entry.path_params:
        url = url.replace(f"{{{name}}}", value)
    params: list[tuple[str, str | int | float | bool | None]] = list(entry.params)
    pages: list[bytes] = []
    for _ in range(MAX_PAGES):
        res = await client.get(url, params=params, headers=dict(headers))
        kind = res.headers.get("content-type", "")
        pages.append(b"%d %s " % (res.status_code, kind.encode()) + without_cursor(res.content))
        cursor = _next_cursor(res.content) if entry.walk and res.status_code == 200 else None
        if cursor is None:
            return b"\n".join(pages)
        params = [*entry.params, ("cursor", cursor)]
    raise AssertionError(f"{entry.name}: more than {MAX_PAGES} pages")


async def ask_all(
    client: httpx.AsyncClient,
    headers: Mapping[str, str],
    entries: Sequence[Entry],
    named: Mapping[str, uuid.UUID],
) -> dict[str, bytes]:
    return {e.name: await ask(client, headers, e, named) for e in entries}


def admin_entries(entries: Sequence[Entry]) -> list[Entry]:
    """The admin's questions: those about the target's exact point, score and office."""

    def about_target(e: Entry) -> bool:
        params = dict(e.params)
        if e.path == LEADS:
            return "price_min" in params and "price_max" in params
        if e.path == HEATMAP:
            return params.get("resolution") in ("9", "10")
        if e.path == COMPETITORS:
            return params.get("lat") == str(P0[0]) and "top_n" in params
        return e.lead == "target"

    return [e for e in entries if about_target(e)]


async def everyone(world: World, entries: Sequence[Entry]) -> dict[str, Answers]:
    """Every agent's answers to every entry, and the admin's to those about the target. The
    principals ask at the same time (they only read), so the database works while Python
    does."""
    found = await asyncio.gather(
        *(ask_all(world.client, world.headers[who], entries, world.named) for who in AGENTS),
        ask_all(world.client, world.headers["admin"], admin_entries(entries), world.named),
    )
    return dict(zip((*AGENTS, "admin"), found, strict=True))


def differences(before: Mapping[str, bytes], after: Mapping[str, bytes]) -> list[str]:
    """The entries whose answers differ, each with the first differing bytes."""
    out = []
    for name, old in before.items():
        new = after[name]
        if old != new:
            at = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), 0)
            lo = max(0, at - 80)
            out.append(
                f"{name}\n    before: {old[lo : at + 80]!r}\n    after:  {new[lo : at + 80]!r}"
            )
    return out


def json_pages(answer: bytes) -> list[Any]:
    """The JSON bodies of an answer's pages."""
    out = []
    for line in answer.split(b"\n"):
        _, _, body = line.split(b" ", 2)
        out.append(json.loads(body))
    return out
