"""A local site for crawl tests: saved Craigslist pages, a built Zillow search state, robots.txt
and paths that answer "slow down" first. Every request the server sees is logged with its time.

Crawls run in a subprocess (`python -m aiqleads.ingestion.crawl`) because Twisted's reactor
cannot restart; `run_crawl_cli` returns the printed stats and the documents written.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from aiqleads.ingestion.crawl import CrawledDocument, read_jsonl

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "listings" / "craigslist"
POSTING = (FIXTURES / "listing_6098474009.html").read_bytes()  # real 2017 posting page
SEARCH_2014 = (FIXTURES / "craigslist_response_2014.html").read_bytes()  # real search page
HTML = "text/html; charset=utf-8"
JSON = "application/json"

ROBOTS = b"User-agent: *\nDisallow: /private/\n"

# Our own first search page: links a real posting, a posting robots.txt forbids, a posting on
# another site, and (as the 2012-2021 layouts do) the next page, which is the saved 2014 page.
SEARCH_PAGE_1 = b"""<!DOCTYPE html>
<html><head><title>apts/housing for rent - craigslist</title></head>
<body class="search">
<ul class="rows">
<li class="result-row" data-pid="6098474009"><a href="/eby/apa/6098474009.html"
  class="result-title hdrlnk">1 BR near BART</a></li>
<li class="result-row" data-pid="1234567890"><a href="/private/apa/1234567890.html"
  class="result-title hdrlnk">hidden</a></li>
<li class="result-row" data-pid="4518708892"><a
  href="http://victoria.en.craigslist.ca/apa/4518708892.html">nearby</a></li>
</ul>
<span class="buttons"><a href="/search/apa?s=120" class="button next" title="next page">
next &gt; </a></span>
</body></html>
"""

ZILLOW_PAGES = 3


def zillow_page(page: int) -> bytes:
    """A small search page state in Zillow's shape: two results per page, three pages."""
    results = [
        {
            "zpid": str(1000 + page * 10 + n),
            "detailUrl": f"/homedetails/{1000 + page * 10 + n}_zpid/",
            "statusType": "FOR_SALE",
            "price": f"${(300 + page * 10 + n) * 1000:,}",
            "beds": 3,
            "baths": 2,
            "area": 1500 + n,
            "address": f"{100 + n} Main St, Seattle, WA 98101",
            "latLong": {"latitude": 47.6 + n / 100, "longitude": -122.3},
        }
        for n in range(2)
    ]
    pagination: dict[str, str] = {}
    if page > 1:
        pagination["previousUrl"] = "/seattle-wa/" if page == 2 else f"/seattle-wa/{page - 1}_p/"
    if page < ZILLOW_PAGES:
        pagination["nextUrl"] = f"/seattle-wa/{page + 1}_p/"
    doc = {
        "cat1": {
            "searchResults": {"listResults": results, "mapResults": []},
            "searchList": {"pagination": pagination, "totalPages": ZILLOW_PAGES},
        }
    }
    return json.dumps(doc).encode()


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str = HTML
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Hit:
    at: float  # time.monotonic() when the server read the request
    path: str  # path with query
    user_agent: str


class Site:
    """Routes and the log of requests; one per test."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        self._seen: dict[str, int] = {}
        self.base = ""

    def url(self, path: str) -> str:
        return self.base + path

    def paths(self) -> list[str]:
        with self._lock:
            return [h.path for h in self.hits]

    def times(self, path: str) -> list[float]:
        with self._lock:
            return [h.at for h in self.hits if h.path == path]

    def answer(self, path: str, user_agent: str) -> Answer:
        with self._lock:
            self.hits.append(Hit(time.monotonic(), path, user_agent))
            count = self._seen[path] = self._seen.get(path, 0) + 1
        parts = urlsplit(path)
        route = parts.path
        if route == "/robots.txt":
            return Answer(200, ROBOTS, "text/plain")
        if route == "/search/apa":
            query = parse_qs(parts.query)
            return Answer(200, SEARCH_2014 if query.get("s") else SEARCH_PAGE_1)
        if route.endswith(".html") and route.count("/") == 3:
            return Answer(200, POSTING)
        if route == "/search/GetSearchPageState.htm":
            state = json.loads(parse_qs(parts.query)["searchQueryState"][0])
            page = state.get("pagination", {}).get("currentPage", 1)
            return Answer(200, zillow_page(page), JSON)
        if route == "/flaky/429":  # slow down twice, then the page
            if count <= 2:
                return Answer(429, b"slow down", "text/plain", {"Retry-After": "1"})
            return Answer(200, POSTING)
        if route == "/flaky/503":  # unavailable once without Retry-After, then the page
            if count == 1:
                return Answer(503, b"unavailable", "text/plain")
            return Answer(200, POSTING)
        if route == "/flaky/429-long":  # asks for more than the crawler may wait
            return Answer(429, b"come back later", "text/plain", {"Retry-After": "3600"})
        return Answer(404, b"not found", "text/plain")


def _handler_for(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            answer = site.answer(self.path, self.headers.get("User-Agent", ""))
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@pytest.fixture
def site() -> Iterator[Site]:
    state = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(state))
    server.daemon_threads = True
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class CrawlRun:
    stats: dict[str, Any]
    documents: list[CrawledDocument]
    stderr: str


CrawlCli = Callable[..., CrawlRun]


@pytest.fixture
def run_crawl_cli(tmp_path: Path) -> CrawlCli:
    """Run one crawl in a fresh process; extra CLI arguments as strings."""
    runs = iter(range(1, 1000))

    def run(source: str, start_urls: list[str], *args: str) -> CrawlRun:
        out = tmp_path / f"crawl-{next(runs)}.jsonl"
        command = [sys.executable, "-m", "aiqleads.ingestion.crawl", "--source", source]
        for url in start_urls:
            command += ["--start-url", url]
        command += ["--out", str(out), *args]
        done = subprocess.run(
            command, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr[-4000:]
        documents = list(read_jsonl(out)) if out.exists() else []
        return CrawlRun(json.loads(done.stdout), documents, done.stderr)

    return run
