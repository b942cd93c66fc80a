"""The crawl spiders, by source slug."""

from __future__ import annotations

from types import MappingProxyType

from aiqleads.ingestion.crawl.spiders.base import DocumentSpider
from aiqleads.ingestion.crawl.spiders.craigslist import CraigslistSpider
from aiqleads.ingestion.crawl.spiders.zillow import ZillowSpider

SPIDERS: MappingProxyType[str, type[DocumentSpider]] = MappingProxyType(
    {CraigslistSpider.source: CraigslistSpider, ZillowSpider.source: ZillowSpider}
)


class UnknownCrawlSourceError(KeyError):
    """No spider crawls this source."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown crawl source"


def get_spider(source: str) -> type[DocumentSpider]:
    try:
        return SPIDERS[source]
    except KeyError:
        known = ", ".join(sorted(SPIDERS))
        raise UnknownCrawlSourceError(f"no spider for source {source!r}; known: {known}") from None


__all__ = ["SPIDERS", "DocumentSpider", "UnknownCrawlSourceError", "get_spider"]
