"""End-to-end crawls against the local site (each in a fresh process)."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

from aiqleads.ingestion.crawl.settings import USER_AGENT
from aiqleads.ingestion.parsers import craigslist, zillow
from aiqleads.ingestion.records import RawRecord

from .conftest import POSTING, SEARCH_2014, SEARCH_PAGE_1, ZILLOW_PAGES, CrawlCli, Site, zillow_page

FAST = ("--rate-per-minute", "1200", "--no-cache")
TOLERANCE = 0.01  # timer resolution; the crawler's own waits are the lower bounds checked
# The site stamps a request when it arrives, not when the crawler sent it: on a loaded machine
# one request may reach it some tens of milliseconds late and the next on time, so a single gap
# can look shorter than the spacing the crawler kept. The whole run's span has no such slack.
ARRIVAL_JITTER = 0.1


def test_craigslist_follows_postings_and_next_page_and_obeys_robots(
    site: Site, run_crawl_cli: CrawlCli
) -> None:
    # given a search page linking a posting, a robots-forbidden posting, an off-site posting
    # and a next page (the saved 2014 search page, whose postings are served locally)
    # when
    run = run_crawl_cli("craigslist", [site.url("/search/apa")], *FAST)

    # then the forbidden path is never requested, nor anything off-site
    paths = site.paths()
    assert not [p for p in paths if p.startswith("/private/")]
    assert paths.count("/robots.txt") == 1
    assert all(h.user_agent == USER_AGENT for h in site.hits)
    assert "AIQLeads" in USER_AGENT
    # and every fetched page went to the sink as a document with the bytes served
    by_url = {d.url.removeprefix(site.base): d for d in run.documents}
    assert set(by_url) == {
        "/search/apa",
        "/search/apa?s=120",
        "/eby/apa/6098474009.html",
        "/see/apa/4482086626.html",
        "/see/apa/4523717098.html",
        "/see/apa/4523716250.html",
    }
    assert by_url["/search/apa"].body == SEARCH_PAGE_1
    assert by_url["/search/apa?s=120"].body == SEARCH_2014
    assert by_url["/eby/apa/6098474009.html"].body == POSTING
    for doc in run.documents:
        assert doc.source == "craigslist"
        assert doc.content_type == "text/html; charset=utf-8"
        assert doc.fetched_at.utcoffset() is not None
        assert doc.fetched_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    # and the documents parse downstream
    posting = list(craigslist.parse(by_url["/eby/apa/6098474009.html"].body))
    assert [type(r) for r in posting] == [RawRecord]
    assert run.stats == {
        "source": "craigslist",
        "pages_fetched": 6,
        "items": 6,
        "retries": 0,
        "robots_blocked": 1,
        "errors": 0,
        "cache_hits": 0,
        "finish_reason": "finished",
    }


def test_zillow_follows_search_state_pagination(site: Site, run_crawl_cli: CrawlCli) -> None:
    # given a page-state search URL whose answers give a next page until page 3
    state = json.dumps({"pagination": {}, "usersSearchTerm": "Seattle WA"})
    start = site.url(f"/search/GetSearchPageState.htm?searchQueryState={state}")

    # when
    run = run_crawl_cli("zillow", [start], *FAST)

    # then all three pages are fetched once, in order, and reach the sink as they were served
    assert [d.body for d in run.documents] == [zillow_page(p) for p in range(1, 4)]
    assert all(d.content_type == "application/json" for d in run.documents)
    zpids = [r.source_ref for d in run.documents for r in zillow.parse(d.body)]
    assert len(zpids) == len(set(zpids)) == 2 * ZILLOW_PAGES
    assert run.stats["pages_fetched"] == run.stats["items"] == ZILLOW_PAGES
    assert len([p for p in site.paths() if p.startswith("/search/")]) == ZILLOW_PAGES


def test_429_waits_for_retry_after_then_succeeds(site: Site, run_crawl_cli: CrawlCli) -> None:
    # given a path that answers 429 with Retry-After: 1 twice, then the page
    # when
    run = run_crawl_cli("craigslist", [site.url("/flaky/429")], *FAST)

    # then each retry came at least Retry-After seconds after the 429, and the page arrived
    times = site.times("/flaky/429")
    assert len(times) == 3
    assert all(later - earlier >= 1.0 - TOLERANCE for earlier, later in pairwise(times))
    assert [d.body for d in run.documents] == [POSTING]
    assert run.stats["retries"] == 2
    assert run.stats["errors"] == 0


def test_503_is_retried_with_backoff(site: Site, run_crawl_cli: CrawlCli) -> None:
    # given a path that answers 503 once without Retry-After, and a 0.5 s backoff base
    # when
    run = run_crawl_cli(
        "craigslist", [site.url("/flaky/503")], *FAST, "-s", "AIQ_RETRY_BACKOFF_BASE=0.5"
    )

    # then the retry waited the backoff and succeeded
    first, second = site.times("/flaky/503")
    assert second - first >= 0.5 - TOLERANCE
    assert [d.body for d in run.documents] == [POSTING]
    assert run.stats["retries"] == 1


def test_retry_after_beyond_max_wait_gives_up(site: Site, run_crawl_cli: CrawlCli) -> None:
    # given a path that asks for an hour's pause, more than AIQ_RETRY_MAX_WAIT allows
    # when
    run = run_crawl_cli("craigslist", [site.url("/flaky/429-long")], *FAST)

    # then the crawler asks once, does not retry early, and reports the error
    assert site.paths().count("/flaky/429-long") == 1
    assert run.documents == []
    assert run.stats["retries"] == 0
    assert run.stats["errors"] == 1


def test_rate_cap_spaces_every_request(site: Site, run_crawl_cli: CrawlCli) -> None:
    # given a cap of 60 requests/minute and a budget of 4 requests (one is robots-forbidden)
    # when
    run = run_crawl_cli(
        "craigslist",
        [site.url("/search/apa")],
        "--rate-per-minute",
        "60",
        "--max-pages",
        "4",
        "--no-cache",
    )

    # then robots.txt and the 3 allowed pages were requested 1 s apart, no more often
    times = [h.at for h in site.hits]
    assert len(times) == 4
    assert min(b - a for a, b in pairwise(times)) >= 1.0 - ARRIVAL_JITTER
    assert times[-1] - times[0] >= 3.0 - ARRIVAL_JITTER
    assert run.stats["pages_fetched"] == run.stats["items"] == 3
    assert run.stats["robots_blocked"] == 1


def test_http_cache_serves_a_repeated_crawl(
    site: Site, run_crawl_cli: CrawlCli, tmp_path: Path
) -> None:
    # given a first crawl with the HTTP cache in a directory of ours
    cache = ("--rate-per-minute", "1200", "--cache-dir", str(tmp_path / "cache"))
    state = json.dumps({"pagination": {}})
    start = site.url(f"/search/GetSearchPageState.htm?searchQueryState={state}")
    first = run_crawl_cli("zillow", [start], *cache)
    hits_after_first = len(site.hits)

    # when the same crawl runs again
    second = run_crawl_cli("zillow", [start], *cache)

    # then the server saw nothing new, and the same documents came out of the cache
    assert hits_after_first == 1 + ZILLOW_PAGES  # robots.txt and the pages
    assert len(site.hits) == hits_after_first
    assert [d.body for d in second.documents] == [d.body for d in first.documents]
    assert second.stats["cache_hits"] >= ZILLOW_PAGES
    assert second.stats["items"] == ZILLOW_PAGES
