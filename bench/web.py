"""Time to the first map render with the heatmap, and each layer switch, in the web app at 100k
leads in one metro; prints one JSON document.

    .venv/bin/python bench/web.py [--leads 100000] [--runs 5] [--postgres-url postgresql+asyncpg://…]

A fresh database (SQLite file, or PostgreSQL when a URL is given) gets `--leads` synthetic
leads around the real ZIP centres of King County, WA (the `zipcodes` package), stored through
the leads' write path; one `aiqleads serve` process serves them, and headless Debian Chromium
(`/usr/bin/chromium`, through Playwright) opens the map page signed in as an enterprise agent
(who sees every lead) at a laptop's size. Measured inside the page with `performance.now()`:

* `first_render_ms`: from navigation start to the map's first frame drawn with the heatmap
  (the page's `aiq:rendered:heatmap` mark: the heatmap fetched, set and the map idle);
* `layer_switch_ms`: from the click on a layer's switch to the map idle with that layer drawn,
  for clusters, penetration and competitors at zoom 10, and single leads after zooming to 14
  (`zoom_refresh_ms`: the zoom's own refresh of every shown layer), after letting the page
  settle for SETTLE_MS as a person would before reaching for a switch;
* `layer_switch_api_ms`: of each switch, the time until its API answer was in (0 when no
  request followed the click: the page had prefetched the hidden layer), and
  `layer_switch_bytes` the answer's size as sent: what is left of a switch is parsing,
  MapLibre's worker and drawing.

Each run is a new browser context (cold browser cache); the first run also meets cold server
caches. Bars (issue 13): first render with the heatmap < 1.5 s, a layer switch < 300 ms.

`--baseline REF` (a git ref) measures two pages on the same server and data, runs alternating:
the page of the working tree and the page at REF (its `static/` files but the vendored MapLibre,
served to the browser by Playwright for both, so both pay the same interception); the answer
then has `baseline` beside the current page's figures; the first run of one of them meets the
server's cold caches (the order alternates). `server_cpu_seconds_per_run`: the server's CPU
seconds (its `/proc` times) per run of a page, all its requests from sign-in to the last
switch: the machine is shared, so wall-clock figures carry other people's load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import mimetypes
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from playwright.async_api import Browser, Route, async_playwright

from aiqleads.config import Settings
from aiqleads.db import migrate
from aiqleads.db.databases import drop_database, recreate_database
from aiqleads.db.engine import create_engine, session_factory, transaction
from aiqleads.ingestion.normalize.coordinates import _zip_table
from aiqleads.kit.crypto import FieldCipher, blind_index, generate_key
from aiqleads.leads import writes
from aiqleads.models.enums import Role, Tier

SECRET = "bench-secret-key-0123456789abcdef-0123456789"
KEYS = generate_key("bench")
PASSWORD = "bench password 1"
EMAIL = "enterprise@example.com"
NOW = datetime.now(UTC)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAYERS = ("clusters", "penetration", "competitors")
BARS_MS = {"first_render": 1500.0, "layer_switch": 300.0}
OFFICES = ("Windermere", "Redfin", "Compass", "John L. Scott", "Keller Williams", None)
CHUNK = 5000
SETTLE_MS = 1500
STATIC = "src/aiqleads/web/static"
ROOT = Path(__file__).resolve().parents[1]


def king_county_zips() -> list[tuple[str, float, float, str]]:
    return [
        (z, info.lat, info.lon, info.city.title())
        for z, info in _zip_table().items()
        if info.state == "WA" and 47.08 <= info.lat <= 47.78 and -122.54 <= info.lon <= -121.06
    ]


def lead_rows(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """`n` rows for `leads.writes.upsert`, spread around King County's ZIP centres."""
    rng = random.Random(seed)
    zips = king_county_zips()
    cipher = FieldCipher(KEYS)
    names = [cipher.encrypt(f"Owner {i}") for i in range(200)]
    phones = [f"+1206555{100 + i:04d}" for i in range(100)]
    phone_enc = [cipher.encrypt(p) for p in phones]
    phone_mac = [blind_index(SECRET, p) for p in phones]
    emails = [cipher.encrypt(f"owner{i}@example.com") for i in range(200)]
    kinds = ("fsbo", "for_sale", "for_sale", "for_rent", "expired")
    rows = []
    for i in range(n):
        z, lat0, lon0, city = zips[i % len(zips)]
        published = NOW - timedelta(days=2, minutes=rng.randrange(60 * 24 * 60))
        p = rng.randrange(100)
        rows.append(
            {
                "source": "bench",
                "source_ref": f"w{i}",
                "source_url": None,
                "kind": kinds[i % len(kinds)],
                "listing_status": "Active",
                "currency": "USD",
                "latitude": lat0 + rng.gauss(0, 0.01),
                "longitude": lon0 + rng.gauss(0, 0.014),
                "geocode_precision": "exact",
                "score": round(rng.random(), 3),
                "model_version": "bench",
                "price_cents": rng.randrange(500, 5001),
                "price_currency": "USD",
                "title": None,
                "property_type": "single_family",
                "bedrooms": rng.randrange(1, 6),
                "bathrooms": rng.choice((1.0, 1.5, 2.0, 2.5, 3.0)),
                "living_area_sqft": rng.randrange(600, 4000),
                "lot_sqft": rng.randrange(1000, 20000),
                "year_built": rng.randrange(1900, 2024),
                "asking_price_cents": rng.randrange(150_000, 2_000_000) * 100,
                "street_address": f"{i} Bench St",
                "unit": None,
                "city": city,
                "state": "WA",
                "zip_code": z,
                "address_key": f"{i} bench st||{z}",
                "owner_name_enc": names[i % 200],
                "owner_phone_enc": phone_enc[p],
                "owner_email_enc": emails[i % 200],
                "owner_phone_hmac": phone_mac[p],
                "listing_agent": None,
                "listing_office": OFFICES[i % len(OFFICES)],
                "listed_at": published - timedelta(days=rng.randrange(30)),
                "published_at": published,
            }
        )
    return rows


async def prepare(settings: Settings, n: int) -> float:
    """Migrate, create the agent, store `n` leads through the write path; the load's seconds."""
    engine = create_engine(settings)
    await migrate.upgrade(engine)
    sessions = session_factory(engine)
    from aiqleads.auth import service

    async with transaction(sessions) as session:
        await service.create_account(
            session, email=EMAIL, password=PASSWORD, role=Role.AGENT, tier=Tier.ENTERPRISE, now=NOW
        )
    rows = lead_rows(n)
    start = time.perf_counter()
    for i in range(0, n, CHUNK):
        async with transaction(sessions) as session:
            await writes.upsert(session, rows[i : i + CHUNK], now=NOW, cause="bench")
    took = time.perf_counter() - start
    await engine.dispose()
    return took


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(env: dict[str, str], port: int, log: Any) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "aiqleads", "serve", "--port", str(port)]
    return subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError("the server exited; see its log")
        try:
            if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not start")


# Runs in the page: click a layer's switch, wait until the map has drawn it, return the ms.
SWITCH = """async ([name, times]) => {
  const t0 = performance.now();
  document.querySelector(`#layers input[value=${name}]`).click();
  while ((window.aiqMap.rendered[name] || 0) < times) {
    await new Promise((r) => requestAnimationFrame(r));
  }
  const total = performance.now() - t0;
  // Where the time went: the layer's API answer (if one was fetched after the click; none when
  // it was prefetched), its size, and the rest (parsing, MapLibre's worker, drawing).
  const path = name === "leads" ? "/api/v1/leads?" : `/api/v1/geo/${name}?`;
  const fetched = performance.getEntriesByType("resource")
    .filter((e) => e.name.includes(path) && e.startTime >= t0);
  const api = fetched.reduce((ms, e) => Math.max(ms, e.responseEnd - t0), 0);
  const bytes = fetched.reduce((n, e) => n + e.encodedBodySize, 0);
  return { total, api, bytes };
}"""
ZOOM = """async (zoom) => {
  const map = window.aiqMap;
  const before = map.rendered.heatmap || 0;
  const t0 = performance.now();
  map.map.jumpTo({ zoom });
  while ((map.rendered.heatmap || 0) <= before) {
    await new Promise((r) => requestAnimationFrame(r));
  }
  return performance.now() - t0;
}"""


def page_files(ref: str | None) -> dict[str, bytes]:
    """The page's static files (path under static/ → bytes) at git `ref`, or in the working
    tree when None; the vendored MapLibre is left to the server (not in git)."""
    if ref is None:
        folder = ROOT / STATIC
        return {
            str(f.relative_to(folder)): f.read_bytes()
            for f in folder.rglob("*")
            if f.is_file() and "vendor" not in f.relative_to(folder).parts
        }
    names = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", ref, STATIC],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {
        name.removeprefix(STATIC + "/"): subprocess.run(
            ["git", "show", f"{ref}:{name}"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        for name in names
    }


def file_server(files: dict[str, bytes]) -> Any:
    """A Playwright route handler answering the page and its static files from `files`."""

    async def handle(route: Route) -> None:
        path = urlsplit(route.request.url).path
        name = "index.html" if path == "/" else path.removeprefix("/static/")
        body = files.get(name) if path == "/" or path.startswith("/static/") else None
        if body is None:
            await route.continue_()
            return
        kind = "text/javascript" if name.endswith(".js") else mimetypes.guess_type(name)[0]
        await route.fulfill(body=body, content_type=kind or "application/octet-stream")

    return handle


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of process `pid` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def one_run(
    browser: Browser, base: str, tokens: dict[str, Any], files: dict[str, bytes] | None = None
) -> dict[str, Any]:
    context = await browser.new_context(viewport={"width": 1366, "height": 900})
    if files is not None:
        await context.route(f"{base}/**", file_server(files))
    session = {
        "access": tokens["access_token"],
        "refresh": tokens["refresh_token"],
        "expiresAt": int(time.time() * 1000) + tokens["expires_in"] * 1000,
    }
    await context.add_init_script(
        f"sessionStorage.setItem('aiq_session', {json.dumps(json.dumps(session))});"
    )
    page = await context.new_page()
    await page.goto(base + "/#/map")
    await page.wait_for_function(  # cold caches on a loaded machine: minutes, not seconds
        "() => window.aiqMap && window.aiqMap.rendered.heatmap >= 1", timeout=600_000
    )
    first = await page.evaluate(
        "() => performance.getEntriesByName('aiq:rendered:heatmap')[0].startTime"
    )
    # Switches are timed on a settled map: its basemap outlines drawn, nothing in flight.
    await page.wait_for_function(
        "() => window.aiqMap.basemapSet && window.aiqMap.map.loaded()"
        " && window.aiqMap.map.isSourceLoaded('outlines')",
        timeout=180_000,
    )
    # Let the page settle as a person would before reaching for a switch (its idle work, such
    # as prefetching the hidden layers, is part of the page).
    await page.wait_for_timeout(SETTLE_MS)
    timed = {name: await page.evaluate(SWITCH, [name, 1]) for name in LAYERS}
    for name in LAYERS:  # off again, so the zoom below refreshes the heatmap and leads only
        await page.uncheck(f"#layers input[value={name}]")
    zoom = await page.evaluate(ZOOM, 14)
    # "Leads" is on by default: off, then on again at zoom 14, where single leads are drawn.
    await page.uncheck("#layers input[value=leads]")
    leads_before = await page.evaluate("() => window.aiqMap.rendered.leads || 0")
    timed["leads"] = await page.evaluate(SWITCH, ["leads", leads_before + 1])
    await context.close()
    return {
        "first_render_ms": first,
        "layer_switch_ms": {k: v["total"] for k, v in timed.items()},
        "layer_switch_api_ms": {k: v["api"] for k, v in timed.items()},
        "layer_bytes": {k: v["bytes"] for k, v in timed.items()},
        "zoom_refresh_ms": zoom,
    }


def summary(values: list[float]) -> dict[str, Any]:
    return {
        "cold": round(values[0], 1),
        "median": round(statistics.median(values), 1),
        "max": round(max(values), 1),
        "runs": [round(v, 1) for v in values],  # in order: the spread, not only its middle
    }


async def measure(
    base: str, runs: int, baseline: str | None = None, server_pid: int | None = None
) -> dict[str, Any]:
    # A fresh server's first sign-in (password hash, cold imports) takes seconds on a loaded
    # machine: more than httpx's default 5 s.
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        res = await http.post("/api/v1/auth/token", data={"username": EMAIL, "password": PASSWORD})
        tokens = res.json()
    arms: dict[str, dict[str, bytes] | None] = {"current": None}
    if baseline:
        arms = {"current": page_files(None), "baseline": page_files(baseline)}
    results: dict[str, list[dict[str, Any]]] = {arm: [] for arm in arms}
    cpu: dict[str, float] = dict.fromkeys(arms, 0.0)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        for i in range(runs):
            # Alternating, first one arm then the other, so the machine's load and the
            # server's cold caches fall on both alike.
            for arm in sorted(arms, reverse=i % 2 == 1):
                files = arms[arm]
                before = cpu_seconds(server_pid) if server_pid else 0.0
                results[arm].append(await one_run(browser, base, tokens, files))
                cpu[arm] += (cpu_seconds(server_pid) if server_pid else 0.0) - before
        await browser.close()
    answer = summarise(results["current"])
    answer["server_cpu_seconds_per_run"] = round(cpu["current"] / runs, 2)
    if baseline:
        answer["baseline"] = {
            "ref": baseline,
            **summarise(results["baseline"]),
            "server_cpu_seconds_per_run": round(cpu["baseline"] / runs, 2),
        }
    return answer


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    first = summary([r["first_render_ms"] for r in results])
    switches = {
        name: summary([r["layer_switch_ms"][name] for r in results]) for name in (*LAYERS, "leads")
    }
    names = (*LAYERS, "leads")
    api_ms = {k: summary([r["layer_switch_api_ms"][k] for r in results]) for k in names}
    layer_bytes = {k: max(r["layer_bytes"][k] for r in results) for k in names}
    worst_switch = max(s["median"] for s in switches.values())
    return {
        "first_render_ms": first,
        "layer_switch_ms": switches,
        # Of each switch, the time until its API answer was in (0: no request after the click)
        # and the answer's bytes as sent (compressed when the server compressed it).
        "layer_switch_api_ms": api_ms,
        "layer_switch_bytes": layer_bytes,
        "zoom_refresh_ms": summary([r["zoom_refresh_ms"] for r in results]),
        "bars_ms": BARS_MS,
        "meets_bars": {
            "first_render": first["median"] < BARS_MS["first_render"],
            "layer_switch": worst_switch < BARS_MS["layer_switch"],
        },
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres-url", default=os.environ.get("AIQ_TEST_POSTGRES_URL"))
    parser.add_argument("--baseline", help="a git ref whose page to measure beside this one")
    args = parser.parse_args()
    db_name = f"aiq_bench_web_{os.getpid()}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if args.postgres_url:
                url = await recreate_database(args.postgres_url, db_name)
                backend = "postgres"
            else:
                url = f"sqlite+aiosqlite:///{tmp}/web.db"
                backend = "sqlite"
            answer = await run(args, url, backend, Path(tmp))
    finally:
        # The database is the benchmark's own: it goes, whatever happened (the server has
        # stopped by now, so nothing holds a connection to it).
        if args.postgres_url:
            await drop_database(args.postgres_url, db_name)
    print(json.dumps(answer, indent=2))


async def run(args: argparse.Namespace, url: str, backend: str, tmp: Path) -> dict[str, Any]:
    """Load the leads into `url`, serve them and measure; the answer's JSON document."""
    settings = Settings(database_url=url, secret_key=SECRET, encryption_keys=KEYS)
    load_seconds = await prepare(settings, args.leads)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIQ_")}
    env.update(
        AIQ_DATABASE_URL=url,
        AIQ_SECRET_KEY=SECRET,
        AIQ_ENCRYPTION_KEYS=KEYS,
        AIQ_LOG_LEVEL="WARNING",
        AIQ_WORKER__BACKEND="embedded",
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with open(tmp / "serve.log", "w") as log:  # noqa: ASYNC230 (once, at start)
        proc = serve(env, port, log)
        try:
            await asyncio.to_thread(wait_ready, base, proc)
            result = await measure(base, args.runs, args.baseline, proc.pid)
        finally:
            stop(proc)
    return {
        "benchmark": "web",
        "backend": backend,
        "leads": args.leads,
        "runs": args.runs,
        "load_seconds": round(load_seconds, 1),
        "viewport": [1366, 900],
        # The machine's load when the run ended: the page renders with SwiftShader on
        # the CPU, so other work on the machine shows in every figure.
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        **result,
    }


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server; killed when it has not stopped within 30 s (a stop waits for answers
    still being computed), so its database can be dropped."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    asyncio.run(main())
