"""The crawl's pieces on their own: no reactor, no server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from scrapy.http import HtmlResponse

from aiqleads.ingestion.crawl import CrawledDocument, JsonlFormatError, JsonlSink, read_jsonl
from aiqleads.ingestion.crawl.retry import backoff_delay, parse_retry_after
from aiqleads.ingestion.crawl.settings import build_settings
from aiqleads.ingestion.crawl.spiders.craigslist import next_page_link, posting_links
from aiqleads.ingestion.crawl.spiders.zillow import next_page_url

from .conftest import SEARCH_2014, SEARCH_PAGE_1

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    # given / when / then
    assert parse_retry_after(b"1") == 1.0
    assert parse_retry_after(" 120 ") == 120.0
    assert parse_retry_after("Mon, 01 Jun 2026 12:00:30 GMT", now=NOW) == 30.0
    assert parse_retry_after("Mon, 01 Jun 2026 11:00:00 GMT", now=NOW) == 0.0  # past: no wait
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None


def test_backoff_doubles_up_to_the_max_wait() -> None:
    waits = [backoff_delay(n, base=2.0, factor=2.0, max_wait=10.0) for n in range(1, 5)]
    assert waits == [2.0, 4.0, 8.0, 10.0]
    with pytest.raises(ValueError):
        backoff_delay(0, base=2.0, factor=2.0, max_wait=10.0)


def test_rate_limits_become_a_fixed_delay_that_overrides_cannot_loosen() -> None:
    # given the default limits
    assert build_settings("zillow")["DOWNLOAD_DELAY"] == pytest.approx(0.6)  # 100/min
    assert build_settings("craigslist")["DOWNLOAD_DELAY"] == pytest.approx(3.0)  # 20/min

    # when an override asks for a rate but also a smaller delay and more concurrency
    settings = build_settings(
        "craigslist",
        {
            "AIQ_RATE_PER_MINUTE": 60,
            "DOWNLOAD_DELAY": 0.1,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
            "DOWNLOAD_DELAY_JITTER": 0.5,
        },
    )

    # then the cap still holds: one request at a time, at least 1 s apart, no jitter
    assert settings["DOWNLOAD_DELAY"] == 1.0
    assert settings["AUTOTHROTTLE_START_DELAY"] >= 1.0
    assert settings["CONCURRENT_REQUESTS_PER_DOMAIN"] == 1
    assert settings["DOWNLOAD_DELAY_JITTER"] == 0.0
    assert settings["DOWNLOAD_SLOTS"]["craigslist"] == {
        "concurrency": 1,
        "delay": 1.0,
        "jitter": 0.0,
    }
    assert settings["ROBOTSTXT_OBEY"] is True
    assert settings["AUTOTHROTTLE_ENABLED"] is True
    assert 429 not in settings["RETRY_HTTP_CODES"]
    assert 503 not in settings["RETRY_HTTP_CODES"]
    assert {429, 503} <= set(settings["HTTPCACHE_IGNORE_HTTP_CODES"])
    assert Path(settings["HTTPCACHE_DIR"]).is_absolute()


def test_jsonl_sink_round_trips_documents(tmp_path: Path) -> None:
    # given two documents, one with bytes that are not UTF-8
    docs = [
        CrawledDocument("zillow", "http://x/1", b'{"a": 1}', "application/json", NOW),
        CrawledDocument(
            "craigslist", "http://x/2", b"\xff\x00<html>", "text/html", NOW + timedelta(hours=1)
        ),
    ]
    path = tmp_path / "out" / "crawl.jsonl"
    sink = JsonlSink(path)

    # when
    for doc in docs:
        sink(doc)

    # then each is one line in the documented format, and reads back equal
    lines = path.read_text(encoding="utf-8").splitlines()
    assert list(json.loads(lines[0])) == [
        "source",
        "url",
        "content_type",
        "fetched_at",
        "body_base64",
    ]
    assert json.loads(lines[0])["fetched_at"] == "2026-06-01T12:00:00+00:00"
    assert list(read_jsonl(path)) == docs


def test_read_jsonl_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"source": "zillow"}\n', encoding="utf-8")
    with pytest.raises(JsonlFormatError, match=r"bad\.jsonl:1"):
        list(read_jsonl(path))


def test_documents_need_aware_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CrawledDocument("zillow", "http://x", b"", "text/plain", datetime(2026, 6, 1))


def test_craigslist_links_resolve_against_the_fetched_url() -> None:
    # given our first search page and the saved 2014 page, as fetched from a local host
    first = HtmlResponse("http://127.0.0.1:9/search/apa", body=SEARCH_PAGE_1)
    saved = HtmlResponse("http://127.0.0.1:9/search/apa?s=120", body=SEARCH_2014)

    # when / then
    assert posting_links(first) == [
        "http://127.0.0.1:9/eby/apa/6098474009.html",
        "http://127.0.0.1:9/private/apa/1234567890.html",
        "http://victoria.en.craigslist.ca/apa/4518708892.html",
    ]
    assert next_page_link(first) == "http://127.0.0.1:9/search/apa?s=120"
    local = [u for u in posting_links(saved) if u.startswith("http://127.0.0.1:9/")]
    assert local == [
        "http://127.0.0.1:9/see/apa/4523716250.html",
        "http://127.0.0.1:9/see/apa/4523717098.html",
        "http://127.0.0.1:9/see/apa/4482086626.html",
    ]
    assert next_page_link(saved) is None  # the 2014 page's "next" is a disabled span


def test_zillow_next_page_bumps_current_page_while_the_state_says_more() -> None:
    url = 'https://www.zillow.com/search/GetSearchPageState.htm?searchQueryState={"x":1}&wants=1'
    more = {"cat1": {"searchList": {"pagination": {"nextUrl": "/seattle-wa/2_p/"}}}}
    last = {"cat1": {"searchList": {"pagination": {"previousUrl": "/seattle-wa/"}}}}
    by_total = {"cat1": {"searchList": {"totalPages": 2}}}

    next_url = next_page_url(url, more)
    assert next_url is not None
    query = parse_qs(urlsplit(next_url).query)
    assert json.loads(query["searchQueryState"][0]) == {"x": 1, "pagination": {"currentPage": 2}}
    assert query["wants"] == ["1"]
    assert next_page_url(url, last) is None
    assert next_page_url(next_url, by_total) is None  # page 2 of 2
    assert next_page_url(url, by_total) is not None
    assert next_page_url("https://www.zillow.com/homes/", more) is None  # no state to page
