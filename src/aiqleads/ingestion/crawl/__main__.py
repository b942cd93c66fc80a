"""`python -m aiqleads.ingestion.crawl`: one crawl in a fresh process, stats as JSON on stdout.

    python -m aiqleads.ingestion.crawl --source craigslist \\
        --start-url https://seattle.craigslist.org/search/apa --out var/crawl/cl.jsonl \\
        --max-pages 50 --rate-per-minute 10 --cache-dir var/httpcache

Logs go to stderr; stdout carries only the final CrawlStats JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from aiqleads.ingestion.crawl.documents import JsonlSink
from aiqleads.ingestion.crawl.runner import run_crawl
from aiqleads.ingestion.crawl.spiders import SPIDERS


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def _setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError("expected NAME=VALUE")
    return name, value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m aiqleads.ingestion.crawl", description="Crawl one source into JSONL."
    )
    parser.add_argument("--source", required=True, choices=sorted(SPIDERS))
    parser.add_argument("--start-url", dest="start_urls", action="append", required=True)
    parser.add_argument("--out", required=True, help="JSON-lines file the documents go to")
    parser.add_argument("--max-pages", type=_positive_int)
    parser.add_argument("--rate-per-minute", type=_positive_float, help="hard request cap")
    parser.add_argument("--no-cache", action="store_true", help="switch the HTTP cache off")
    parser.add_argument("--cache-dir", help="HTTP cache directory (default var/httpcache)")
    parser.add_argument(
        "-s",
        "--set",
        dest="settings",
        action="append",
        type=_setting,
        default=[],
        metavar="NAME=VALUE",
        help="any other crawl setting, e.g. -s AIQ_RETRY_MAX_WAIT=30",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides: dict[str, Any] = dict(args.settings)
    if args.rate_per_minute is not None:
        overrides["AIQ_RATE_PER_MINUTE"] = args.rate_per_minute
    if args.no_cache:
        overrides["HTTPCACHE_ENABLED"] = False
    if args.cache_dir:
        overrides["HTTPCACHE_DIR"] = args.cache_dir
    stats = run_crawl(
        args.source,
        args.start_urls,
        sink=JsonlSink(args.out),
        settings_overrides=overrides,
        max_pages=args.max_pages,
    )
    json.dump(stats.as_dict(), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
