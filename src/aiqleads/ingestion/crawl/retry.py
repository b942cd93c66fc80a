"""Retries for "slow down" answers (429, 503) that wait before asking again.

The wait is the server's `Retry-After` (seconds or an HTTP date) when it gives one, else an
exponential backoff (base × factor^(n-1)), never more than AIQ_RETRY_MAX_WAIT. A `Retry-After`
longer than that ends the retries: asking sooner than the server allows is not an option.

The middleware waits inside `process_response`, so the request stays active in the downloader
for the whole wait; with CONCURRENT_REQUESTS = 1 (our default) nothing else is sent to the
source meanwhile: the whole crawl slows down, not just this one URL.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Self

from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import sleep

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

logger = logging.getLogger(__name__)


def parse_retry_after(value: str | bytes | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP date; None if absent
    or unreadable. A date in the past means no wait (0.0)."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT by definition
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_delay(attempt: int, *, base: float, factor: float, max_wait: float) -> float:
    """The wait before retry number `attempt` (1 for the first retry) without Retry-After."""
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    return float(min(max_wait, base * factor ** (attempt - 1)))


class RetryAfterMiddleware:
    """Downloader middleware: retry AIQ_RETRY_HTTP_CODES after the wait the server asks for."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("AIQ_RETRY_ENABLED"):
            raise NotConfigured("AIQ_RETRY_ENABLED is off")
        self.crawler = crawler
        self.codes = {int(c) for c in settings.getlist("AIQ_RETRY_HTTP_CODES")}
        self.max_times = settings.getint("AIQ_RETRY_MAX_TIMES")
        self.base = settings.getfloat("AIQ_RETRY_BACKOFF_BASE")
        self.factor = settings.getfloat("AIQ_RETRY_BACKOFF_FACTOR")
        self.max_wait = settings.getfloat("AIQ_RETRY_MAX_WAIT")
        overlap = self.codes & {int(c) for c in settings.getlist("RETRY_HTTP_CODES")}
        if overlap and settings.getbool("RETRY_ENABLED"):
            raise NotConfigured(  # two retry middlewares on one code would retry twice
                f"codes {sorted(overlap)} are in both AIQ_RETRY_HTTP_CODES and RETRY_HTTP_CODES"
            )

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_response(self, request: Request, response: Response) -> Any:
        if response.status not in self.codes or request.meta.get("dont_retry", False):
            return response
        attempt = int(request.meta.get("retry_times", 0)) + 1
        if attempt > self.max_times:
            self._stats.inc_value("retry/max_reached")
            logger.error("Gave up on %s after %d retries", request, attempt - 1)
            return response
        asked = parse_retry_after(response.headers.get(b"Retry-After"))
        if asked is not None and asked > self.max_wait:
            self._stats.inc_value("retry/retry_after_too_long")
            logger.error(
                "Not retrying %s: Retry-After %.0fs exceeds AIQ_RETRY_MAX_WAIT %.0fs",
                request,
                asked,
                self.max_wait,
            )
            return response
        wait = (
            asked
            if asked is not None
            else backoff_delay(attempt, base=self.base, factor=self.factor, max_wait=self.max_wait)
        )
        assert self.crawler.spider is not None
        retry = get_retry_request(
            request,
            spider=self.crawler.spider,
            reason=f"http_{response.status}",
            max_retry_times=self.max_times,
        )
        if retry is None:  # a max_retry_times meta key may be lower than ours
            return response
        logger.info("Got %d for %s: retrying in %.2fs", response.status, request, wait)
        self._stats.inc_value("retry/wait_seconds", wait)
        await sleep(wait)
        return retry

    @property
    def _stats(self) -> Any:
        return self.crawler.stats
