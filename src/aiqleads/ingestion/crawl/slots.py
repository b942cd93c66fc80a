"""One download slot per source, so the rate cap covers every request of the crawl.

Scrapy keys download slots by host name; Craigslist spreads a source over many hosts
(seattle.craigslist.org, sfbay.craigslist.org…) and robots.txt fetches would each start a slot
of their own. Putting every request, robots.txt included, in the slot named after the source
makes the slot's delay a cap for the whole source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from scrapy.exceptions import NotConfigured

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request


class SourceSlotMiddleware:
    """Downloader middleware: `request.meta["download_slot"] = AIQ_SOURCE` for every request."""

    def __init__(self, source: str) -> None:
        self.source = source

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.getbool("AIQ_SOURCE_SLOT_ENABLED"):
            raise NotConfigured("AIQ_SOURCE_SLOT_ENABLED is off")
        source = settings.get("AIQ_SOURCE")
        if not source:
            raise NotConfigured("AIQ_SOURCE is not set")
        return cls(str(source))

    def process_request(self, request: Request) -> None:
        request.meta["download_slot"] = self.source
