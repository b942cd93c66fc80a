"""Crawling with Scrapy: fetch a source's pages politely and hand each document to a sink.

Public here: `CrawledDocument`, `DocumentSink`, `JsonlSink`, `JsonlFormatError`, `read_jsonl`,
`CrawlStats`. The crawl itself is `aiqleads.ingestion.crawl.runner.run_crawl` (settings in
`.settings.build_settings`), imported only where a crawl runs: Scrapy and Twisted take over a
second to import, and the API and the workers read crawled documents without ever crawling. Run a
crawl in a fresh process with `python -m aiqleads.ingestion.crawl`.
"""

from __future__ import annotations

from aiqleads.ingestion.crawl.documents import (
    CrawledDocument,
    DocumentSink,
    JsonlFormatError,
    JsonlSink,
    read_jsonl,
)
from aiqleads.ingestion.crawl.stats import CrawlStats

__all__ = [
    "CrawlStats",
    "CrawledDocument",
    "DocumentSink",
    "JsonlFormatError",
    "JsonlSink",
    "read_jsonl",
]
