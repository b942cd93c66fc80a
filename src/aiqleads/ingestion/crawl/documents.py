"""What the crawler hands downstream: fetched documents, not parsed records.

A `DocumentSink` receives every `CrawledDocument`; parsing and storing happen after it. `JsonlSink`
appends documents to a JSON-lines file that `aiqleads ingest` reads back with `read_jsonl`.

Line format (one JSON object per line, UTF-8, keys in this order)::

    {"source": "craigslist",                      # the crawl's source slug (a parser slug)
     "url": "https://seattle.craigslist.org/...", # the URL the document was fetched from
     "content_type": "text/html; charset=utf-8",  # the Content-Type header as served
     "fetched_at": "2026-06-01T12:00:00+00:00",   # ISO 8601, always UTC with an offset
     "body_base64": "PCFET0NUWVBF..."}             # the exact response bytes, standard base64
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class CrawledDocument:
    """One fetched document exactly as the site served it."""

    source: str
    url: str
    body: bytes
    content_type: str
    fetched_at: datetime

    def __post_init__(self) -> None:
        if self.fetched_at.tzinfo is None or self.fetched_at.utcoffset() is None:
            raise ValueError("fetched_at must be timezone-aware")

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> CrawledDocument:
        """Build a document from a spider item (a dict with the same keys)."""
        try:
            source, url, body = item["source"], item["url"], item["body"]
            content_type, fetched_at = item["content_type"], item["fetched_at"]
        except KeyError as exc:
            raise ValueError(f"crawled item lacks {exc.args[0]!r}") from None
        if not isinstance(body, bytes):
            raise ValueError("crawled item body must be bytes")
        if not isinstance(fetched_at, datetime):
            raise ValueError("crawled item fetched_at must be a datetime")
        return cls(
            source=str(source),
            url=str(url),
            body=body,
            content_type=str(content_type),
            fetched_at=fetched_at.astimezone(UTC),
        )


DocumentSink = Callable[[CrawledDocument], None]


class JsonlFormatError(ValueError):
    """A line of a crawl file is not a document in the format above."""


def to_json_line(document: CrawledDocument) -> str:
    return json.dumps(
        {
            "source": document.source,
            "url": document.url,
            "content_type": document.content_type,
            "fetched_at": document.fetched_at.astimezone(UTC).isoformat(),
            "body_base64": base64.b64encode(document.body).decode("ascii"),
        },
        ensure_ascii=False,
    )


def from_json_line(line: str) -> CrawledDocument:
    try:
        raw = json.loads(line)
        fetched_at = datetime.fromisoformat(raw["fetched_at"])
        return CrawledDocument(
            source=raw["source"],
            url=raw["url"],
            body=base64.b64decode(raw["body_base64"], validate=True),
            content_type=raw["content_type"],
            fetched_at=fetched_at.astimezone(UTC),
        )
    except (KeyError, TypeError, ValueError) as exc:  # bad JSON, base64, date or naive date
        raise JsonlFormatError(f"not a crawled document line: {exc}") from exc


class JsonlSink:
    """Append each document as one line to `path` (created with its parent folder if missing).

    The file is opened per document so that every line is complete and flushed on return: a
    crawl that dies half-way leaves a readable file with the documents fetched so far.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __call__(self, document: CrawledDocument) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(to_json_line(document) + "\n")

    def __repr__(self) -> str:
        return f"JsonlSink({str(self.path)!r})"


def read_jsonl(path: str | Path) -> Iterator[CrawledDocument]:
    """Read back the documents a `JsonlSink` wrote, in order; blank lines are skipped."""
    with Path(path).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                yield from_json_line(line)
            except JsonlFormatError as exc:
                raise JsonlFormatError(f"{path}:{number}: {exc}") from exc
