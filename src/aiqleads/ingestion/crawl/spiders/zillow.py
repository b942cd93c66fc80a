"""Zillow: search page-state JSON (`GetSearchPageState.htm?searchQueryState=…`) and its pages.

A page-state answer says whether there is a next page (`cat1.searchList.pagination.nextUrl`,
else `cat1.searchList.totalPages`); the next page is the same request with
`searchQueryState.pagination.currentPage` one higher. Start URLs without a searchQueryState are
fetched once, not paginated.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from scrapy.http import Response

from aiqleads.ingestion.crawl.spiders.base import DocumentSpider

logger = logging.getLogger(__name__)

STATE_PARAM = "searchQueryState"


def _search_list(doc: Any) -> Mapping[str, Any] | None:
    cat1 = doc.get("cat1") if isinstance(doc, Mapping) else None
    found = cat1.get("searchList") if isinstance(cat1, Mapping) else None
    return found if isinstance(found, Mapping) else None


def has_next_page(doc: Any, current_page: int) -> bool:
    search_list = _search_list(doc)
    if search_list is None:
        return False
    pagination = search_list.get("pagination")
    if isinstance(pagination, Mapping) and "nextUrl" in pagination:
        return bool(pagination["nextUrl"])
    total = search_list.get("totalPages")
    return isinstance(total, int) and not isinstance(total, bool) and current_page < total


def next_page_url(url: str, doc: Any) -> str | None:
    """The URL of the page after `url`, or None when `doc` says this is the last page."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    raw_state = next((v for k, v in query if k == STATE_PARAM), None)
    if raw_state is None:
        return None
    try:
        state = json.loads(raw_state)
    except json.JSONDecodeError:
        return None
    if not isinstance(state, dict):
        return None
    pagination = state.get("pagination")
    page = pagination.get("currentPage", 1) if isinstance(pagination, Mapping) else 1
    current = page if isinstance(page, int) and not isinstance(page, bool) and page > 0 else 1
    if not has_next_page(doc, current):
        return None
    state["pagination"] = {**(pagination or {}), "currentPage": current + 1}
    new_state = json.dumps(state, separators=(",", ":"))
    new_query = [(k, new_state if k == STATE_PARAM else v) for k, v in query]
    return urlunsplit(parts._replace(query=urlencode(new_query, quote_via=quote)))


class ZillowSpider(DocumentSpider):
    name = "zillow"
    source = "zillow"

    def parse(self, response: Response, **kwargs: Any) -> Iterable[Any]:
        """A page-state answer: the document, then the next page if there is one."""
        yield self.document(response)
        try:
            doc = json.loads(response.body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            logger.warning("not JSON, not paginating: %s", response.url)
            return
        next_url = next_page_url(response.url, doc)
        if next_url:
            yield self.follow_url(next_url, self.parse)
