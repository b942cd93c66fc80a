"""The `aiqleads` command, run as a user runs it: in a subprocess, against a real database."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from aiqleads.config import Environment, Settings
from aiqleads.db import migrate
from aiqleads.db.databases import drop_database, recreate_database
from aiqleads.db.engine import create_engine, session_factory, transaction
from aiqleads.geo import service as geo
from aiqleads.kit.cache import MemoryCache
from aiqleads.kit.clock import SystemClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.leads.filters import Area, LeadFilter
from aiqleads.leads.visibility import Viewer
from aiqleads.metros import get_metro
from aiqleads.models import Account, Lead, LeadEvent, Purchase
from aiqleads.models.enums import EventKind, LeadStatus, Tier
from aiqleads.sample.history import agent_email
from tests.conftest import _POSTGRES_URL, TEST_HASHING, Backend

AIQLEADS = [sys.executable, "-m", "aiqleads"]


def _env(database_url: str, redis_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIQ_")}
    env.update({"AIQ_DATABASE_URL": database_url, "AIQ_LOG_JSON": "false", **TEST_HASHING, **extra})
    if redis_url:
        env["AIQ_REDIS_URL"] = redis_url
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        AIQLEADS + args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


EnvFactory = Callable[[str], dict[str, str]]
FICTIONAL_PHONE = re.compile(r"\+120655501\d\d")  # Seattle area code, 555-0100..0199
KC_FILE = Path(__file__).resolve().parents[1] / "src/aiqleads/sample_data/kc_house_sales.csv.gz"


@pytest.fixture(scope="module")
def fresh_env(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EnvFactory]:
    """Environments for the CLI, each with a new empty database (SQLite file or PostgreSQL)."""
    folder = tmp_path_factory.mktemp("cli")
    created: list[str] = []

    def make(name: str) -> dict[str, str]:
        if backend.name == "sqlite":
            return _env(f"sqlite+aiosqlite:///{folder}/{name}.db")
        assert _POSTGRES_URL is not None
        database = f"aiq_cli_{name}_{uuid.uuid4().hex[:8]}"
        created.append(database)
        return _env(asyncio.run(recreate_database(_POSTGRES_URL, database)), backend.redis_url)

    yield make
    for database in created:
        assert _POSTGRES_URL is not None
        asyncio.run(drop_database(_POSTGRES_URL, database))


@dataclass(frozen=True)
class DemoRun:
    env: dict[str, str]
    cwd: Path
    first: subprocess.CompletedProcess[str]  # `aiqleads demo --no-serve` on an empty database


@pytest.fixture(scope="module")
def demo_run(
    backend: Backend, fresh_env: EnvFactory, tmp_path_factory: pytest.TempPathFactory
) -> DemoRun:
    """The demo prepared once (it ingests 21k records and simulates 180 days) for the tests that
    read its outcome. On its own default, SQLite, only: the demo is the README's laptop command,
    and every stage it runs (pipeline, simulator, training, scoring) has its PostgreSQL tests in
    its own package; twice the demo would cost the suite minutes."""
    if backend.name != "sqlite":
        pytest.skip("the demo runs on its embedded default, SQLite")
    cwd = tmp_path_factory.mktemp("demo")
    env = fresh_env("demo")
    return DemoRun(env, cwd, _run(["demo", "--no-serve"], env, cwd))


@pytest.fixture
def background() -> Iterator[ThreadPoolExecutor]:
    """A thread for commands a test waits on later, in the order given; a test that fails
    first still waits for them before its files and databases go."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool


@dataclass(frozen=True)
class StoredLead:
    source: str
    kind: str
    owner: tuple[str | None, str | None, str | None]  # name, phone, e-mail, decrypted
    listing_office: str | None
    listing_agent: str | None


def _stored_leads(env: dict[str, str]) -> list[StoredLead]:
    """Every lead in the CLI's database, read with the key the CLI used (the default one)."""
    settings = Settings(database_url=env["AIQ_DATABASE_URL"], env=Environment.TEST)
    cipher = FieldCipher(settings.encryption_keys)
    # The columns the checks read, not whole ORM objects: 21k of those cost seconds (more under
    # the coverage tracer) and hold the same values.
    columns = select(
        Lead.source,
        Lead.kind,
        Lead.owner_name_enc,
        Lead.owner_phone_enc,
        Lead.owner_email_enc,
        Lead.listing_office,
        Lead.listing_agent,
    )

    async def read() -> list[Any]:
        engine = create_engine(settings)
        try:
            async with transaction(session_factory(engine)) as session:
                return list((await session.execute(columns)).all())
        finally:
            await engine.dispose()

    return [
        StoredLead(
            row.source,
            row.kind,
            (
                cipher.decrypt(row.owner_name_enc),
                cipher.decrypt(row.owner_phone_enc),
                cipher.decrypt(row.owner_email_enc),
            ),
            row.listing_office,
            row.listing_agent,
        )
        for row in asyncio.run(read())
    ]


def _leads_per_source(env: dict[str, str]) -> Counter[str]:
    """How many leads each source has in the CLI's database."""
    settings = Settings(database_url=env["AIQ_DATABASE_URL"], env=Environment.TEST)

    async def read() -> Counter[str]:
        engine = create_engine(settings)
        try:
            async with transaction(session_factory(engine)) as session:
                rows = await session.execute(
                    select(Lead.source, func.count()).group_by(Lead.source)
                )
                return Counter({source: n for source, n in rows.all()})
        finally:
            await engine.dispose()

    return asyncio.run(read())


def _demo_summary(stdout: str) -> dict[str, dict[str, int]]:
    """The demo's per-source table: {row name: {source: number}}."""
    lines = stdout.splitlines()
    header = next(line for line in lines if line.startswith("┃") and "king_county_sales" in line)
    sources = [cell.strip() for cell in header.strip("┃").split("┃")][1:]
    table: dict[str, dict[str, int]] = {}
    for line in lines[lines.index(header) + 1 :]:
        if line.startswith("└"):
            break
        if line.startswith("│"):
            name, *cells = (cell.strip() for cell in line.strip("│").split("│"))
            if name != "seconds":
                table[name] = dict(zip(sources, map(int, cells), strict=True))
    return table


@pytest.mark.slow
def test_demo_ingests_the_bundled_sources_through_the_pipeline(
    demo_run: DemoRun, fresh_env: EnvFactory, background: ThreadPoolExecutor, tmp_path: Path
) -> None:
    # (The plain ingest of the King County file, checked last, needs nothing of the demo: it
    # runs into a fresh database of its own, in the background, while the demo's outcome is read.)
    plain_env = fresh_env("ingest")
    args = ["ingest", str(KC_FILE), "--source", "king_county_sales", "--metro", "seattle"]
    upgraded = background.submit(_run, ["db", "upgrade"], plain_env, tmp_path)
    ingested = background.submit(_run, [*args, "--json"], plain_env, tmp_path)

    # When the demo is prepared without serving, on an empty database
    env, first = demo_run.env, demo_run.first
    assert first.returncode == 0, first.stderr
    # Then it ran the ingest stages plus the demo step, and reports per source
    assert "demo_owners → enrich → store" in first.stdout.replace("\n", " ")
    summary = _demo_summary(first.stdout)
    leads = _stored_leads(env)
    by_source = Counter(lead.source for lead in leads)
    # leads from the three bundled sources, one per record created
    assert set(by_source) == {"king_county_sales", "craigslist", "redfin"}
    assert summary["created"] == dict(by_source)
    assert all(summary["quarantined"][s] >= 0 for s in by_source)
    # sales and rentals
    assert {"for_sale", "for_rent"} <= {lead.kind for lead in leads}
    assert {lead.kind for lead in leads if lead.source == "craigslist"} == {"for_rent"}
    # Redfin's listings name their listing office and agent
    redfin = [lead for lead in leads if lead.source == "redfin"]
    assert redfin and all(lead.listing_office and lead.listing_agent for lead in redfin)
    # no source gave an owner contact: every lead has a fictional one, from the demo step
    assert summary["fictional owners"] == dict(by_source)
    for lead in leads:
        name, phone, email = lead.owner
        assert name and phone and email, lead
        assert FICTIONAL_PHONE.fullmatch(phone) and email.endswith("@example.com"), lead

    # When the demo runs again
    again = _run(["demo", "--no-serve"], env, tmp_path)
    # Then it adds nothing
    assert again.returncode == 0, again.stderr
    assert "sample not reloaded" in again.stdout
    assert _leads_per_source(env) == by_source

    # When the King County file is ingested with `aiqleads ingest` into a fresh database
    assert upgraded.result().returncode == 0
    plain = ingested.result()
    assert plain.returncode == 0, plain.stderr
    # Then it holds the same King County leads as the demo, without any owner contact
    plain_leads = _stored_leads(plain_env)
    demo_kc = [lead for lead in leads if lead.source == "king_county_sales"]
    assert Counter(lead.kind for lead in plain_leads) == Counter(lead.kind for lead in demo_kc)
    assert {lead.kind for lead in plain_leads} == {"for_sale"}
    assert json.loads(plain.stdout)["created"] == by_source["king_county_sales"]
    assert all(lead.owner == (None, None, None) for lead in plain_leads)


@pytest.mark.slow
def test_demo_sets_up_serves_and_its_printed_accounts_work(
    demo_run: DemoRun, tmp_path: Path
) -> None:
    # When the demo is prepared without serving
    server_env, first = demo_run.env, demo_run.first
    assert first.returncode == 0, first.stderr
    # Then it prints one account per tier plus an admin, with passwords
    creds = dict(re.findall(r"│ (\S+@example\.com)\s+│ (\S+)\s+│", first.stdout))
    assert set(creds) == {
        "admin@example.com",
        "basic@example.com",
        "pro@example.com",
        "enterprise@example.com",
    }
    # And a second run keeps the data, issuing new passwords
    second = _run(["demo", "--no-serve"], server_env, tmp_path)
    assert second.returncode == 0, second.stderr
    assert "sample not reloaded" in second.stdout
    creds = dict(re.findall(r"│ (\S+@example\.com)\s+│ (\S+)\s+│", second.stdout))

    # When the server runs on those settings
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [*AIQLEADS, "serve", "--port", str(port)],
        env=server_env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        ready = httpx.get(f"{base}/ready", timeout=5).json()
        assert ready["status"] == "ok"
        assert ("redis" in ready["checks"]) == ("AIQ_REDIS_URL" in server_env)

        def search(email: str) -> list[dict[str, object]]:
            token = httpx.post(
                f"{base}/api/v1/auth/token",
                data={"username": email, "password": creds[email]},
                timeout=5,
            ).json()["access_token"]
            page = httpx.get(
                f"{base}/api/v1/leads",
                params={"zip": "98178", "limit": 5},
                headers={"Authorization": f"Bearer {token}"},
                timeout=5,
            ).json()
            items: list[dict[str, object]] = page["items"]
            return items

        # Then agents of every tier see the sample at once (it is published as of just past the
        # longest priority window), as previews
        for email in ("enterprise@example.com", "basic@example.com"):
            items = search(email)
            assert len(items) == 5
            assert all(i["zip_code"] == "98178" and i["access"] == "preview" for i in items)
        assert httpx.get(f"{base}/", timeout=5).text.startswith("<!doctype html>")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def test_users_create_and_clear_errors(tmp_path: Path) -> None:
    env = _env(f"sqlite+aiosqlite:///{tmp_path}/u.db")
    assert _run(["db", "upgrade"], env, tmp_path).returncode == 0
    ok = _run(
        [
            "users",
            "create",
            "--email",
            "op@example.com",
            "--password",
            "long enough pw",
            "--role",
            "admin",
            "--tier",
            "enterprise",
        ],
        env,
        tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    assert "created op@example.com (admin, enterprise)" in ok.stdout
    dup = _run(
        ["users", "create", "--email", "op@example.com", "--password", "long enough pw"],
        env,
        tmp_path,
    )
    assert dup.returncode == 1
    assert "exists" in dup.stderr and "Traceback" not in dup.stderr
    bad = _run(
        ["users", "create", "--email", "nope", "--password", "long enough pw"], env, tmp_path
    )
    assert bad.returncode == 1
    assert "email" in bad.stderr and "Traceback" not in bad.stderr
    listed = _run(["users", "list"], env, tmp_path)
    assert "op@example.com" in listed.stdout
    current = _run(["db", "current"], env, tmp_path)
    head = migrate.head_revision()
    assert f"current: {head}  head: {head}" in current.stdout


def test_demo_refuses_to_run_in_production(tmp_path: Path) -> None:
    env = _env(
        f"sqlite+aiosqlite:///{tmp_path}/p.db",
        AIQ_ENV="production",
        AIQ_LOGIN__HASH_COST="rfc9106",
        AIQ_SECRET_KEY="p" * 40,
        AIQ_ENCRYPTION_KEYS="prod:" + "A" * 43 + "=",
    )
    res = _run(["demo", "--no-serve"], env, tmp_path)
    assert res.returncode == 1
    assert "not in production" in res.stderr


def test_the_demo_scores_buckets_and_prices_its_leads_from_a_simulated_past(
    demo_run: DemoRun,
) -> None:
    # When the demo is prepared on an empty database
    assert demo_run.first.returncode == 0, demo_run.first.stderr
    assert "giving the demo a past" in demo_run.first.stdout
    settings = Settings(database_url=demo_run.env["AIQ_DATABASE_URL"], env=Environment.TEST)

    async def read() -> tuple[list[Any], int]:
        engine = create_engine(settings)
        week_ago = SystemClock().now() - timedelta(days=7)
        try:
            async with transaction(session_factory(engine)) as session:
                stmt = select(
                    Lead.model_version,
                    Lead.score_bucket,
                    Lead.price_cents,
                    Lead.price_factors,
                    Lead.metro,
                )
                viewed = select(func.count(func.distinct(LeadEvent.lead_id))).where(
                    LeadEvent.kind == EventKind.VIEW.value, LeadEvent.at >= week_ago
                )
                return list((await session.execute(stmt)).all()), await session.scalar(viewed) or 0
        finally:
            await engine.dispose()

    rows, viewed_7d = asyncio.run(read())
    # Then every lead is scored by the trained model (not the rules), in the three buckets of
    # its metro, at prices that vary with its bucket and market: at least 50 distinct
    assert {r.model_version for r in rows} == {next(iter({r.model_version for r in rows}))}
    assert rows[0].model_version.startswith("demo-")
    assert {r.score_bucket for r in rows} == {"A", "B", "C"}
    # And each metro's buckets hold 20 / 50 / 30 % of its leads (halves rounded up), tied scores
    # or not
    for metro in {r.metro for r in rows} - {None}:
        counts = Counter(r.score_bucket for r in rows if r.metro == metro)
        n = sum(counts.values())
        assert (counts["A"], counts["C"]) == (int(0.2 * n + 0.5), int(0.3 * n + 0.5)), metro
    assert len({r.price_cents for r in rows}) >= 50
    assert all(500 <= r.price_cents <= 5000 for r in rows)
    assert all(r.price_factors["cents"] == r.price_cents for r in rows)
    assert len({r.price_factors["market"] for r in rows}) > 10
    # And its simulated past reaches now: leads viewed in the last 7 days, demand that varies
    assert viewed_7d > 50
    assert len({r.price_factors["demand"] for r in rows}) >= 3


def test_the_demos_simulated_sales_are_real_purchases_that_show_on_the_maps(
    demo_run: DemoRun,
) -> None:
    # When the demo is prepared on an empty database
    assert demo_run.first.returncode == 0, demo_run.first.stderr
    settings = Settings(database_url=demo_run.env["AIQ_DATABASE_URL"], env=Environment.TEST)

    async def read() -> tuple[int, int, list[Any], list[Any]]:
        engine = create_engine(settings)
        now = SystemClock().now()
        try:
            async with session_factory(engine)() as session:
                bought = await session.scalar(select(func.count()).select_from(Purchase)) or 0
                sold = await session.scalar(
                    select(func.count()).where(Lead.status == LeadStatus.SOLD.value)
                )
                # an enterprise agent of the simulation (every fifth), as the maps answer it
                account = await session.scalar(
                    select(Account).where(Account.email == agent_email(4))
                )
                assert account is not None and account.tier == Tier.ENTERPRISE.value
                viewer = Viewer(account.id, False, Tier.ENTERPRISE, now, 25, now)
                ctx = geo.GeoContext(settings=settings, cache=MemoryCache(), now=now)
                seattle = LeadFilter(area=Area(metro=get_metro("seattle")))
                penetration = json.loads(
                    await geo.penetration(
                        session,
                        viewer,
                        filt=seattle,
                        level="h3",
                        resolution=8,
                        metric="agent",
                        ctx=ctx,
                    )
                )
                competitors = json.loads(
                    await geo.competitors(
                        session,
                        viewer,
                        filt=seattle,
                        radius_m=1000,
                        point=None,
                        top_n=5,
                        ctx=ctx,
                    )
                )
        finally:
            await engine.dispose()
        return bought, sold or 0, penetration["features"], competitors["features"]

    bought, sold, regions, around = asyncio.run(read())
    # Then its kept sales were bought through the checkout: purchases, and as many leads sold
    assert "leads bought:" in demo_run.first.stdout
    assert bought > 100 and sold == bought
    # And the penetration map varies: the market's and the agent's own share differ by region
    props = [r["properties"] for r in regions]
    assert len({p["market_penetration"] for p in props}) >= 2
    assert len({p["agent_penetration"] for p in props}) >= 2
    # And the agent's purchased leads have competitors around them
    mine = [f["properties"] for f in around if f["properties"].get("layer") == "lead"]
    assert mine and any((p["competitors"] or 0) > 0 for p in mine)
