"""Crawl settings: Scrapy's own plus ours (prefixed `AIQ_`), with the order of every stage as data.

`build_settings` starts from `DEFAULTS`, applies the caller's overrides, then derives the settings
that enforce the per-source rate cap so that no override can loosen it by accident.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

USER_AGENT = "AIQLeadsBot/0.1 (+AIQLeads real-estate lead marketplace crawler; obeys robots.txt)"
ROBOTS_USER_AGENT = "AIQLeadsBot"

# Requests per minute per source: a hard cap, never exceeded (see build_settings).
DEFAULT_RATE_LIMITS: dict[str, float] = {"zillow": 100.0, "craigslist": 20.0}
FALLBACK_RATE_PER_MINUTE = 20.0

# Codes our RetryAfterMiddleware owns; Scrapy's RetryMiddleware keeps the rest of its list.
RETRY_AFTER_CODES = [429, 503]
_SCRAPY_RETRY_CODES = [500, 502, 504, 522, 524, 408]

_CRAWL = "aiqleads.ingestion.crawl"

DEFAULTS: dict[str, Any] = {
    # --- ours
    "AIQ_SOURCE": None,  # the source slug; set by run_crawl
    "AIQ_RATE_LIMITS": DEFAULT_RATE_LIMITS,  # requests/minute by source
    "AIQ_RATE_PER_MINUTE": None,  # this crawl's cap; None → AIQ_RATE_LIMITS[source]
    "AIQ_SOURCE_SLOT_ENABLED": True,  # one download slot per source, robots.txt included
    "AIQ_RETRY_ENABLED": True,
    "AIQ_RETRY_HTTP_CODES": RETRY_AFTER_CODES,
    "AIQ_RETRY_MAX_TIMES": 3,  # retries after the first answer, per request
    "AIQ_RETRY_BACKOFF_BASE": 2.0,  # seconds before the first retry without Retry-After
    "AIQ_RETRY_BACKOFF_FACTOR": 2.0,  # each further retry waits this many times longer
    "AIQ_RETRY_MAX_WAIT": 120.0,  # seconds; a longer Retry-After means giving up
    "AIQ_MAX_PAGES": None,  # page budget (requests the spider may issue); None/0 → no budget
    "AIQ_DOCUMENT_SINK": None,  # a DocumentSink; set by run_crawl on the crawler itself
    # --- Scrapy: politeness
    "USER_AGENT": USER_AGENT,
    "ROBOTSTXT_OBEY": True,
    "ROBOTSTXT_USER_AGENT": ROBOTS_USER_AGENT,
    "AUTOTHROTTLE_ENABLED": True,
    "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
    "AUTOTHROTTLE_MAX_DELAY": 60.0,
    "CONCURRENT_REQUESTS": 1,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
    "DOWNLOAD_DELAY_JITTER": 0.0,
    "DOWNLOAD_TIMEOUT": 60,
    "COOKIES_ENABLED": False,
    "TELNETCONSOLE_ENABLED": False,  # no listening ports in a crawl process
    "REMOTE_CONTROL_ENABLED": False,
    "BOT_NAME": "aiqleads",
    # --- Scrapy: retries (ours for 429/503, Scrapy's for the rest)
    "RETRY_ENABLED": True,
    "RETRY_TIMES": 2,
    "RETRY_HTTP_CODES": _SCRAPY_RETRY_CODES,
    # --- Scrapy: HTTP cache, on by default; failures are never cached
    "HTTPCACHE_ENABLED": True,
    "HTTPCACHE_DIR": "var/httpcache",
    "HTTPCACHE_EXPIRATION_SECS": 12 * 3600,
    "HTTPCACHE_IGNORE_HTTP_CODES": [*RETRY_AFTER_CODES, *_SCRAPY_RETRY_CODES],
    # --- the order of stages
    "DOWNLOADER_MIDDLEWARES": {
        f"{_CRAWL}.slots.SourceSlotMiddleware": 40,
        f"{_CRAWL}.retry.RetryAfterMiddleware": 540,
    },
    "SPIDER_MIDDLEWARES": {f"{_CRAWL}.budget.PageBudgetMiddleware": 950},
    "ITEM_PIPELINES": {f"{_CRAWL}.pipelines.SinkPipeline": 500},
    "LOG_LEVEL": "INFO",
}


def rate_per_minute(source: str, settings: Mapping[str, Any]) -> float:
    """This crawl's cap: AIQ_RATE_PER_MINUTE, else the source's entry in AIQ_RATE_LIMITS."""
    explicit = settings.get("AIQ_RATE_PER_MINUTE")
    limits = settings.get("AIQ_RATE_LIMITS") or {}
    rate = float(explicit) if explicit is not None else float(limits.get(source, 0) or 0)
    if rate <= 0:
        rate = FALLBACK_RATE_PER_MINUTE
    return rate


def build_settings(source: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The settings for one crawl of `source`.

    The rate cap becomes a minimum delay between request starts in one download slot of
    concurrency one (all of the crawl's requests share it, robots.txt included): DOWNLOAD_DELAY
    is at least 60/rate seconds, AutoThrottle never goes below DOWNLOAD_DELAY and starts from it,
    and the delay is never randomised.
    """
    settings: dict[str, Any] = {**DEFAULTS, **(overrides or {})}
    settings["AIQ_SOURCE"] = source
    interval = 60.0 / rate_per_minute(source, settings)
    settings["DOWNLOAD_DELAY"] = max(float(settings.get("DOWNLOAD_DELAY") or 0.0), interval)
    settings["AUTOTHROTTLE_START_DELAY"] = max(
        float(settings.get("AUTOTHROTTLE_START_DELAY") or 0.0), settings["DOWNLOAD_DELAY"]
    )
    settings["DOWNLOAD_DELAY_JITTER"] = 0.0
    settings["CONCURRENT_REQUESTS_PER_DOMAIN"] = 1
    settings["CONCURRENT_REQUESTS"] = 1
    settings["DOWNLOAD_SLOTS"] = {
        **(settings.get("DOWNLOAD_SLOTS") or {}),
        source: {"concurrency": 1, "delay": settings["DOWNLOAD_DELAY"], "jitter": 0.0},
    }
    cache_dir = settings.get("HTTPCACHE_DIR")
    if cache_dir:
        settings["HTTPCACHE_DIR"] = str(Path(cache_dir).resolve())
    return settings
