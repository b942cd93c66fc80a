"""The test of the disclosure rule (DESIGN.md section 2, issue 7): what a buyer pays for changes,
and no answer any agent can get changes with it.

Each agent (basic, pro, enterprise) asks every question of the table (`table.py`: every lead
route, every parameter) three times:

* in world A, with the target as first stored;
* in world A again, after its source changed it (through the write path, same source and
  source_ref, so the data versions bump and caches recompute): its exact point moved 420 m inside
  its preview cell, its exact score moved inside its bucket, its one-listing office renamed, its
  link, title, street address, listing agent and owner replaced;
* in world B, built identically in a second database except that the source knows the target
  by another id (source_ref and source_url). Public ids are random, so world B takes world A's
  (the only write outside the write path; see `world.align_public_ids`; world A goes through
  the same writes, so the two differ in nothing else, not even the order of rows on disk).
  World B is built and asked in a child process while world A is asked (`world_b`).

Every answer must be byte-identical (a cursor, encrypted under a fresh nonce each time, is
compared by its length). The admin's answers, and the buyer's, show the changes: the same
questions can tell them apart.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import h3
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from aiqleads.app import create_app
from aiqleads.models.enums import Tier
from tests.app_routes import app_routes
from tests.conftest import T0, Backend
from tests.disclosure import world_b
from tests.disclosure.answers import AGENTS, Answers, ask, differences, everyone, json_pages
from tests.disclosure.conftest import analyze
from tests.disclosure.table import LEAD, LEADS, Entry, table
from tests.disclosure.world import (
    AGENT_ONLY,
    CHANGED,
    OFFICES,
    ORIGINAL,
    RENUMBERED,
    TARGET_SOURCE,
    TargetVersion,
    World,
    align_public_ids,
    take_holds,
)
from tests.factories import record_purchase

# GET routes that answer with no lead data at all, each with the reason. Any other GET route is
# a lead route and must be in the table.
NO_LEAD_DATA = {
    "/health": "liveness",
    "/ready": "readiness",
    "/metrics": "process counters, labelled by route template and endpoint",
    "/": "the static web page; its data comes from the API",
    "/openapi.json": "the API's description",
    "/docs": "the API's description",
    "/docs/oauth2-redirect": "the API's description",
    "/redoc": "the API's description",
    "/api/v1/auth/me": "the caller's own account",
    "/api/v1/auth/api-keys": "the caller's own API keys",
    "/api/v1/admin/accounts": "accounts, admins only",
    "/api/v1/admin/tiers": "tier policies, admins only",
    "/api/v1/orders": "the caller's own orders: the ids of leads it ordered, the prices it paid",
    "/api/v1/orders/{order_id}": "one of the caller's own orders (another's is not found)",
    "/api/v1/purchases": "the caller's own purchases: leads it bought, shown in full to it",
    "/api/v1/purchases/export.csv": "the caller's own purchases, as CSV",
    "/api/v1/returns": "the caller's own returns",
    "/api/v1/admin/returns": "every return, admins only",
    "/api/v1/webhooks": "the caller's own webhooks",
    "/api/v1/webhooks/{webhook_id}/deliveries": "deliveries of one of the caller's webhooks",
    "/api/v1/web/config": "the web page's settings: map assets, tile style, gateway, metros",
    "/api/v1/geo/outlines": "public Census ZIP outlines of a metro; no lead is read",
    "/api/v1/admin/quarantine": "records ingestion could not use, admins only",
    "/api/v1/admin/ingestion/runs": "ingestion runs: source, times, outcome, counts; admins only",
    "/api/v1/admin/ingestion/runs/{run_id}": "one ingestion run and its counts, admins only",
    "/api/v1/admin/sources": "each source's profile (shares, price percentiles), admins only",
    "/api/v1/admin/scoring/models": "scoring models: versions, metrics, importance; admins only",
    "/api/v1/admin/experiments": "A/B experiments: names, variants, statuses; admins only",
    "/api/v1/admin/experiments/{name}": "one A/B experiment, admins only",
    "/api/v1/admin/experiments/{name}/report": "per-variant counts and rates; admins only",
    "/api/v1/admin/experiments/{name}/report.png": "the report as a chart; admins only",
}
# Routes that are neither GET nor another HTTP method: the static files' mounts (the web app's,
# and the offline API docs' scripts), and the live socket, whose market notices name only leads
# re-checked against the agent's own visibility (tested in tests/notices/test_live.py).
OTHER_ROUTES = {"/static", "/docs/static", "/api/v1/live"}
# Other methods: none may answer with lead data today; a new one that does (a bulk search, a
# hold, a cart) must join the table and this list must lose it.
NOT_LEAD_WRITES = {
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/api-keys"),
    ("DELETE", "/api/v1/auth/api-keys/{prefix}"),
    ("PATCH", "/api/v1/admin/accounts/{account_id}"),
    ("PUT", "/api/v1/admin/tiers/{tier}"),
    ("DELETE", "/api/v1/admin/tiers/{tier}"),
    ("POST", "/api/v1/payments/webhooks/{gateway}"),  # the gateway's, signed: no caller
    ("POST", "/api/v1/webhooks"),  # the caller's own webhook
    ("DELETE", "/api/v1/webhooks/{webhook_id}"),
    ("POST", "/api/v1/admin/returns/{return_id}/approve"),  # admins only
    ("POST", "/api/v1/admin/returns/{return_id}/reject"),
    ("POST", "/api/v1/admin/quarantine/retry"),  # admins only
    ("POST", "/api/v1/admin/sources/profile"),  # admins only: per-source profiles, no lead
    ("POST", "/api/v1/admin/experiments"),  # admins only: A/B experiments, no lead data
    ("POST", "/api/v1/admin/experiments/{name}/start"),
    ("POST", "/api/v1/admin/experiments/{name}/stop"),
    ("POST", "/api/v1/admin/experiments/{name}/conclude"),
    ("PUT", "/api/v1/me/preferences"),  # the caller's own preferences (its GET is in the table)
}
# Actions on leads: they change state, so they are not in the table of questions; what their
# answers say is probed in test_probes (hold refusals), and each world takes holds through them.
LEAD_ACTIONS = {
    ("POST", "/api/v1/cart/holds"),
    ("DELETE", "/api/v1/cart/holds/{lead_id}"),
    ("POST", "/api/v1/cart/holds/{lead_id}/extend"),
    ("POST", "/api/v1/checkout"),  # answers the caller's order: its own leads and prices
    ("POST", "/api/v1/returns"),  # a return of a lead the caller bought (another's: 404)
    ("POST", "/api/v1/leads/{lead_id}/release"),  # admins only (a withheld lead back on sale)
}


def _app(backend: Backend) -> FastAPI:
    return create_app(backend.settings())


def test_the_table_holds_every_lead_route_and_every_parameter(backend: Backend) -> None:
    # Given the application and the table
    app = _app(backend)
    entries = table(["target"])
    by_path: dict[str, list[Entry]] = {}
    for e in entries:
        by_path.setdefault(e.path, []).append(e)
    # When its routes are listed
    found = list(app_routes(app.routes))
    gets = {p for m, p, _ in found if m == "GET"}
    others = {(m, p) for m, p, r in found if m not in ("GET", "*")}
    # Then every GET route is in the table or answers with no lead data, and nothing else is
    assert gets - set(NO_LEAD_DATA) == set(by_path), "a lead route is missing from the table"
    unknown = others - NOT_LEAD_WRITES - LEAD_ACTIONS
    assert not unknown, f"new routes: decide whether they give lead data: {unknown}"
    rest = {p for m, p, _ in found if m == "*"}
    assert rest == OTHER_ROUTES, f"new routes: decide whether they give lead data: {rest}"
    # And between them a route's entries use every parameter it accepts
    spec = app.openapi()["paths"]
    for path, es in by_path.items():
        declared = {
            p["name"] for p in spec[path]["get"].get("parameters", []) if p["in"] == "query"
        }
        used = set().union(*(e.parameters for e in es))
        assert declared <= used, f"{path}: the table never uses {sorted(declared - used)}"
        if "{lead_id}" in path:
            assert all(e.lead for e in es)
    assert all(isinstance(r, APIRoute) for m, p, r in found if p in by_path)


# --- the answers -----------------------------------------------------------------------------


@dataclass
class Captured:
    before: dict[str, Answers]  # per principal, world A as first built
    changed: dict[str, Answers]  # world A after the source changed the target
    renumbered: dict[str, Answers]  # world B, the target under another source id
    buyer: dict[str, bytes]  # what the target's buyer gets, after buying it
    target_id: uuid.UUID


def _b_ids(world: World, version: TargetVersion) -> dict[tuple[str, str], uuid.UUID]:
    ids = {(r["source"], r["source_ref"]): r["public_id"] for r in world.rows}
    ids[(TARGET_SOURCE, version.source_ref)] = ids.pop((TARGET_SOURCE, ORIGINAL.source_ref))
    return ids


@pytest.fixture(scope="module")
async def captured(
    world: World, backend: Backend, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Captured]:
    entries = table(world.named)
    # World B is built and asked in a process of its own (`world_b`) while world A is asked
    # here: it needs nothing of world A but its ids, and the two no longer wait on each other.
    folder = tmp_path_factory.mktemp("world_b")
    spec = world_b.Spec(
        backend=(backend.name, backend.database_url, backend.redis_url),
        path=str(folder / "b.db"),
        ids=_b_ids(world, RENUMBERED),
        named=world.named,
        a_target_id=world.target_id,
    )
    async with world_b.started(spec, folder) as b:
        # World B's public ids are set by `align_public_ids`, two UPDATEs of every row; world A
        # goes through the same, so the two databases differ in the target's source id alone,
        # not in the physical order of their rows (see test_probes for answers that depend on
        # it).
        await align_public_ids(world.sessions, _b_ids(world, ORIGINAL))
        await take_holds(world)
        await analyze(world.sessions)
        before = await everyone(world, entries)
        await world.upsert_target(CHANGED)
        changed = await everyone(world, entries)
        await world.upsert_target(ORIGINAL)
        renumbered = await b.answers()
    # Last, the target finds a buyer.
    await record_purchase(
        world.sessions,
        lead_public_id=world.target_id,
        account=world.accounts["buyer"],
        now=T0,
        price_cents=world.target["price_cents"],
    )
    buyer = {
        "lead": await ask(
            world.client, world.headers["buyer"], Entry(LEAD, lead="target"), world.named
        ),
        "catalog": await ask(
            world.client,
            world.headers["buyer"],
            Entry(LEADS, (("status", "sold"),)),
            world.named,
        ),
    }
    yield Captured(before, changed, renumbered, buyer, world.target_id)


def _report(changed: list[str]) -> str:
    names = "\n".join(c.split("\n")[0] for c in changed)
    return f"{len(changed)} answers changed:\n{names}\nfirst differences:\n" + "\n".join(
        changed[:3]
    )


@pytest.mark.parametrize("who", AGENTS)
async def test_no_agent_answer_changes_when_the_target_changes_inside_its_preview(
    captured: Captured, who: str
) -> None:
    # Given every answer before and after the source moved, rescored, relisted the target
    # Then they are byte-identical
    changed = differences(captured.before[who], captured.changed[who])
    assert not changed, _report(changed)


@pytest.mark.parametrize("who", AGENTS)
async def test_no_agent_answer_changes_with_the_source_id(captured: Captured, who: str) -> None:
    # Given every answer in two worlds that differ only in the target's source id
    # Then they are byte-identical
    changed = differences(captured.before[who], captured.renumbered[who])
    assert not changed, _report(changed)


def _target(answer: bytes) -> dict[str, object]:
    [body] = json_pages(answer)
    assert isinstance(body, dict)
    return body


async def test_the_admin_sees_every_change(captured: Captured) -> None:
    # Given the admin's answers to the same questions
    before, changed = captured.before["admin"], captured.changed["admin"]
    key = Entry(LEAD, lead="target").name
    # Then the admin's view of the target shows its exact point, score, office and source
    old, new = _target(before[key]), _target(changed[key])
    assert (old["latitude"], old["longitude"]) == ORIGINAL.point
    assert (new["latitude"], new["longitude"]) == CHANGED.point
    assert (old["score"], new["score"]) == (ORIGINAL.score, CHANGED.score)
    assert (old["listing_office"], new["listing_office"]) == (ORIGINAL.office, CHANGED.office)
    assert (old["source_url"], new["source_url"]) == (ORIGINAL.source_url, CHANGED.source_url)
    renumbered = _target(captured.renumbered["admin"][world_b.ADMIN_TARGET])
    assert renumbered["source_ref"] == RENUMBERED.source_ref
    # And most of the admin's questions about the target get a different answer
    differ = differences(before, changed)
    assert len(differ) >= len(before) // 2, f"only {len(differ)} of {len(before)} differ"


async def test_the_buyer_sees_the_exact_lead(captured: Captured) -> None:
    lead = _target(captured.buyer["lead"])
    assert lead["access"] == "full"
    assert (lead["latitude"], lead["longitude"]) == ORIGINAL.point
    assert lead["score"] == ORIGINAL.score
    assert lead["listing_office"] == ORIGINAL.office
    assert (lead["source"], lead["source_ref"]) == (TARGET_SOURCE, ORIGINAL.source_ref)
    assert lead["source_url"] == ORIGINAL.source_url
    [page] = json_pages(captured.buyer["catalog"])
    assert [i["id"] for i in page["items"]] == [str(captured.target_id)]
    assert page["items"][0]["score"] == ORIGINAL.score


# --- what no agent answer may hold ----------------------------------------------------------


def secrets(version: TargetVersion) -> list[str]:
    """What a buyer of the target pays for, as it could appear in an answer's bytes."""
    s = version.score
    scores = {repr(s), f"{s:.4f}", f"{s:.5f}", f"{s:.6f}", repr(s)[1:], f"{s * 100:g}", f"{s:e}"}
    lat, lon = version.point
    # Full precision and the six decimals answers round coordinates to (0.1 m); fewer decimals
    # would match the outlines of cells by chance (a vertex of the target's own cell lies at
    # -122.33807, as does the original point's longitude to five decimals).
    points = {repr(lat), repr(lon), f"{lat:.6f}", f"{lon:.6f}"}
    cells = {h3.latlng_to_cell(lat, lon, res) for res in (9, 10, 11, 12)}
    return sorted(
        {
            *scores,
            *points,
            *cells,
            version.office,
            version.listing_agent,
            version.source_ref,
            version.source_url,
            version.title,
            version.street_address,
            version.owner_name,
            version.owner_phone,
            version.owner_email,
        }
    )


# Offices with fewer than 5 listings in the world, and the one listing with an agent alone.
SMALL_OFFICES = [
    *(o for o, n in OFFICES if n < 5),
    *(f"{o} agent" for o, n in OFFICES if n < 5),
    AGENT_ONLY,
]


def found_secrets(answers: Answers, version: TargetVersion) -> list[tuple[str, str]]:
    """(secret, entry) of each secret an answer holds, unless the question held it (a
    competitor answer repeats the point it was asked about). Numbers match whole: "0.8137"
    is not found in "0.81375"."""
    alternatives = b"|".join(re.escape(s.encode()) for s in secrets(version))
    pattern = re.compile(rb"(?<![0-9])(" + alternatives + rb")(?![0-9])")
    return sorted(
        {
            (found.decode(), name)
            for name, body in answers.items()
            for found in pattern.findall(body)
            if found.decode() not in name
        }
    )


@pytest.mark.parametrize("who", AGENTS)
async def test_no_agent_answer_holds_the_targets_exact_score_point_office_or_source(
    captured: Captured, who: str
) -> None:
    # Given every answer of the agent, in every version of the target
    for answers, version in (
        (captured.before[who], ORIGINAL),
        (captured.changed[who], CHANGED),
        (captured.renumbered[who], RENUMBERED),
    ):
        # Then none holds its exact score (however written), point, finer cells, office,
        # listing agent, source id or link, title, address or owner
        assert not found_secrets(answers, version)
        # And none names an office (or a listing agent) with fewer than 5 listings
        for body in answers.values():
            for name in SMALL_OFFICES:
                assert name.encode() not in body, name


async def test_the_admins_answers_hold_them(captured: Captured) -> None:
    # The search above can find them: the admin's answers hold each kind.
    found = {s for s, _ in found_secrets(captured.before["admin"], ORIGINAL)}
    for needle in (
        repr(ORIGINAL.score),
        repr(ORIGINAL.point[0]),
        ORIGINAL.office,
        ORIGINAL.source_ref,
        ORIGINAL.source_url,
        ORIGINAL.owner_name,
        h3.latlng_to_cell(*ORIGINAL.point, 9),
    ):
        assert needle in found, needle
    admin = b"".join(captured.before["admin"].values())
    assert any(name.encode() in admin for name in SMALL_OFFICES)


def test_tiers_cover_the_agents() -> None:
    assert {Tier(t) for t in AGENTS} == set(Tier)
