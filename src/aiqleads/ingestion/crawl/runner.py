"""Run one crawl in this process: `run_crawl`.

Twisted's reactor cannot be restarted, so `run_crawl` works once per process; callers that crawl
again (the CLI, tests) start a fresh process: `python -m aiqleads.ingestion.crawl`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from scrapy.crawler import CrawlerProcess

from aiqleads.ingestion.crawl.documents import DocumentSink
from aiqleads.ingestion.crawl.settings import build_settings
from aiqleads.ingestion.crawl.spiders import get_spider
from aiqleads.ingestion.crawl.stats import CrawlStats

logger = logging.getLogger(__name__)

_SWITCHES = (
    "ROBOTSTXT_OBEY",
    "AUTOTHROTTLE_ENABLED",
    "HTTPCACHE_ENABLED",
    "AIQ_RETRY_ENABLED",
    "RETRY_ENABLED",
    "AIQ_SOURCE_SLOT_ENABLED",
)


def run_crawl(
    source: str,
    start_urls: list[str],
    *,
    sink: DocumentSink,
    settings_overrides: Mapping[str, Any] | None = None,
    max_pages: int | None = None,
) -> CrawlStats:
    """Crawl `source` from `start_urls`, handing each fetched document to `sink`.

    Blocks until the crawl ends. `max_pages` caps the pages requested (retries excluded).
    """
    spider_cls = get_spider(source)
    overrides = dict(settings_overrides or {})
    if max_pages is not None:
        overrides["AIQ_MAX_PAGES"] = max_pages
    settings = build_settings(source, overrides)
    settings.pop("AIQ_DOCUMENT_SINK", None)  # set on the crawler below, never deep-copied

    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spider_cls)
    crawler.settings.set("AIQ_DOCUMENT_SINK", sink, priority="cmdline")
    _log_components(source, crawler.settings)
    process.crawl(crawler, start_urls=list(start_urls))
    process.start()

    assert crawler.stats is not None
    return CrawlStats.from_stats(source, crawler.stats.get_stats())


def _log_components(source: str, settings: Any) -> None:
    state = ", ".join(f"{name}={'on' if settings.getbool(name) else 'off'}" for name in _SWITCHES)
    logger.info(
        "crawl %s: %s, %.0f requests/min (delay %.2fs), max pages %s, cache dir %s",
        source,
        state,
        60.0 / settings.getfloat("DOWNLOAD_DELAY"),
        settings.getfloat("DOWNLOAD_DELAY"),
        settings.getint("AIQ_MAX_PAGES") or "unlimited",
        settings.get("HTTPCACHE_DIR") if settings.getbool("HTTPCACHE_ENABLED") else "-",
    )
