"""The item pipeline that hands each crawled document to the crawl's DocumentSink."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Self

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem, NotConfigured

from aiqleads.ingestion.crawl.documents import CrawledDocument, DocumentSink

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class SinkPipeline:
    """Item pipeline: item dict → `CrawledDocument` → AIQ_DOCUMENT_SINK.

    A malformed item or a failing sink drops the item, counts it under `aiq/errors/item` and
    logs why; the crawl goes on.
    """

    def __init__(self, crawler: Crawler, sink: DocumentSink) -> None:
        self.crawler = crawler
        self.sink = sink

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        sink = crawler.settings.get("AIQ_DOCUMENT_SINK")
        if sink is None:
            raise NotConfigured("AIQ_DOCUMENT_SINK is not set")
        if not callable(sink):
            raise TypeError(f"AIQ_DOCUMENT_SINK must be callable, got {type(sink).__name__}")
        return cls(crawler, sink)

    def process_item(self, item: Any) -> Any:
        try:
            document = CrawledDocument.from_item(ItemAdapter(item).asdict())
        except ValueError as exc:
            self.crawler.stats.inc_value("aiq/errors/item")
            raise DropItem(f"not a crawled document: {exc}") from exc
        try:
            self.sink(document)
        except Exception as exc:
            self.crawler.stats.inc_value("aiq/errors/item")
            logger.exception("document sink failed for %s", document.url)
            raise DropItem(f"document sink failed: {exc!r}") from exc
        self.crawler.stats.inc_value("aiq/documents")
        return item
