"""What a crawl reports: `CrawlStats`, read from Scrapy's stats collector at the end."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Self


@dataclass(frozen=True, slots=True)
class CrawlStats:
    source: str
    pages_fetched: int  # responses handed to the spider (from the site or the HTTP cache)
    items: int  # documents the sink accepted
    retries: int  # retry requests, ours (429/503) and Scrapy's (5xx, timeouts…)
    robots_blocked: int  # requests robots.txt forbade
    errors: int  # failed downloads, error answers given up on, spider and sink errors
    cache_hits: int
    finish_reason: str

    @classmethod
    def from_stats(cls, source: str, stats: Mapping[str, Any]) -> Self:
        def count(key: str) -> int:
            return int(stats.get(key, 0) or 0)

        return cls(
            source=source,
            pages_fetched=count("aiq/pages"),
            items=count("aiq/documents"),
            retries=count("retry/count"),
            robots_blocked=count("robotstxt/forbidden"),
            errors=count("aiq/errors/request")
            + count("aiq/errors/item")
            + count("spider_exceptions/count"),
            cache_hits=count("httpcache/hit"),
            finish_reason=str(stats.get("finish_reason", "unknown")),
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
