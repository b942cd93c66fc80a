"""A page budget: the spider may issue at most AIQ_MAX_PAGES requests in one crawl.

Counted where requests leave the spider (start requests and follow-ups), so retries of a page
do not count and the crawl can never fetch more pages than the budget. A request robots.txt then
forbids still used up its place in the budget. Requests over the budget
are dropped and counted in the `budget/dropped` stat.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from scrapy.exceptions import NotConfigured
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response


class PageBudgetMiddleware(BaseSpiderMiddleware):
    """Spider middleware: let through the first AIQ_MAX_PAGES requests, drop the rest."""

    def __init__(self, crawler: Crawler, max_pages: int) -> None:
        super().__init__(crawler)
        self.max_pages = max_pages
        self.issued = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        max_pages = crawler.settings.getint("AIQ_MAX_PAGES") or 0
        if max_pages <= 0:
            raise NotConfigured  # no budget: nothing to log, run_crawl logs "unlimited"
        return cls(crawler, max_pages)

    def get_processed_request(self, request: Request, response: Response | None) -> Request | None:
        if self.issued >= self.max_pages:
            self.crawler.stats.inc_value("budget/dropped")
            return None
        self.issued += 1
        return request
