"""What every crawl spider shares: start URLs, the document item, error counting."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError

logger = logging.getLogger(__name__)

Callback = Callable[[Response], Iterable[Any]]


class DocumentSpider(Spider):
    """A spider whose items are the documents it fetched (see `document`).

    Only the hosts of the start URLs are crawled (`allowed_domains`), so links to other sites
    are never followed.
    """

    source: ClassVar[str]

    def __init__(self, start_urls: Iterable[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_urls = list(start_urls)
        if not self.start_urls:
            raise ValueError("a crawl needs at least one start URL")
        hosts = {urlsplit(url).hostname for url in self.start_urls}
        self.allowed_domains = sorted(h for h in hosts if h)

    async def start(self) -> AsyncIterator[Request]:
        for url in self.start_urls:
            yield self.follow_url(url, self.parse)

    def is_allowed(self, url: str) -> bool:
        """Whether `url` is on one of the crawled hosts (or a subdomain of one)."""
        host = urlsplit(url).hostname or ""
        return any(host == d or host.endswith(f".{d}") for d in self.allowed_domains)

    def follow_url(self, url: str, callback: Callback) -> Request:
        return Request(url, callback=callback, errback=self.on_error)

    def document(self, response: Response) -> dict[str, Any]:
        """The item for one fetched document; counts the page."""
        self.crawler.stats.inc_value("aiq/pages")
        content_type = response.headers.get(b"Content-Type") or b"application/octet-stream"
        return {
            "source": self.source,
            "url": response.url,
            "body": response.body,
            "content_type": content_type.decode("latin-1"),
            "fetched_at": fetched_at(response),
        }

    def on_error(self, failure: Any) -> None:
        """Errback: a request that failed for good. Requests refused on purpose (robots.txt,
        off-site, over budget) are not errors; error answers and download failures are."""
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            return
        self.crawler.stats.inc_value("aiq/errors/request")
        request = getattr(failure, "request", None)
        logger.error("request failed: %s: %s", request, failure.getErrorMessage())


def fetched_at(response: Response) -> datetime:
    """When the document was fetched: now, or for an HTTP-cache hit the Date it was served."""
    if "cached" in response.flags:
        raw = response.headers.get(b"Date")
        if raw:
            try:
                served = parsedate_to_datetime(raw.decode("latin-1"))
            except (TypeError, ValueError, IndexError):
                served = None
            if served is not None:
                tz = served.tzinfo or UTC
                return served.replace(tzinfo=tz).astimezone(UTC)
    return datetime.now(UTC)
