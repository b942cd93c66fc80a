"""Crawling with Scrapy: fetch a source's pages politely and hand each document to a sink.

Public: `run_crawl`, `CrawlStats`, `CrawledDocument`, `DocumentSink`, `JsonlSink`, `read_jsonl`,
`build_settings`. Run a crawl in a fresh process with `python -m aiqleads.ingestion.crawl`.
"""

from __future__ import annotations

from aiqleads.ingestion.crawl.documents import (
    CrawledDocument,
    DocumentSink,
    JsonlFormatError,
    JsonlSink,
    read_jsonl,
)
from aiqleads.ingestion.crawl.runner import run_crawl
from aiqleads.ingestion.crawl.settings import build_settings
from aiqleads.ingestion.crawl.stats import CrawlStats

__all__ = [
    "CrawlStats",
    "CrawledDocument",
    "DocumentSink",
    "JsonlFormatError",
    "JsonlSink",
    "build_settings",
    "read_jsonl",
    "run_crawl",
]
