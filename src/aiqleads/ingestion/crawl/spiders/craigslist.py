"""Craigslist: search result pages → each posting; the next-page link → the next search page.

The craigslist parser reads records out of a page but does not hand out links to follow (its
record URLs are made absolute against the page's canonical host, not the URL it was fetched
from), so links are found here with small selectors, resolved against the fetched URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from scrapy.http import Response

from aiqleads.ingestion.crawl.spiders.base import DocumentSpider

# /see/apa/4523717098.html, /eby/apa/6098474009.html, /apa/d/some-title/7612345678.html
POSTING_PATH = re.compile(r"/(?:[a-z]{3}/)?[a-z]{3}/(?:d/[^/]+/)?\d{6,}\.html$")
NEXT_PAGE = (
    "a.button.next::attr(href)",  # 2012–2021 layouts
    "a.next::attr(href)",
    "a[rel~=next]::attr(href)",
    "link[rel~=next]::attr(href)",
)


def posting_links(response: Response) -> list[str]:
    """Absolute URLs of the postings a search page links to, in page order, once each."""
    found: dict[str, None] = {}
    for href in response.css("a::attr(href)").getall():
        url = response.urljoin(href.strip())
        if POSTING_PATH.search(urlsplit(url).path):
            found.setdefault(url, None)
    return list(found)


def next_page_link(response: Response) -> str | None:
    for selector in NEXT_PAGE:
        href = response.css(selector).get()
        if href and href.strip() and not href.strip().startswith("#"):
            return str(response.urljoin(href.strip()))
    return None


class CraigslistSpider(DocumentSpider):
    name = "craigslist"
    source = "craigslist"

    def parse(self, response: Response, **kwargs: Any) -> Iterable[Any]:
        """A search page: the page itself, its postings, then the next page."""
        yield self.document(response)
        for url in posting_links(response):
            if not self.is_allowed(url):  # nearby cities on other hosts: not this crawl's
                continue
            yield self.follow_url(url, self.parse_posting)
        next_url = next_page_link(response)
        if next_url and self.is_allowed(next_url):
            yield self.follow_url(next_url, self.parse)

    def parse_posting(self, response: Response) -> Iterable[Any]:
        yield self.document(response)
