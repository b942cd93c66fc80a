"""The authorization matrix (issue 14, item 5): every route of the application x role
(anonymous, agent, admin) x tier (basic, pro, enterprise) x ownership (the caller's own
resource, another account's, none that exists) -> the status it answers, from one table.

`test_the_matrix_holds_every_route` lists the application's routes (through included routers,
as the disclosure test does) and fails when one has no row: a new route must say who may call
it. `test_every_caller_gets_the_status_of_the_table` builds one world per database (five
accounts who each bought, held, returned and registered things through the API) and sends each
row's request as each caller, on SQLite and, when the test command started it, PostgreSQL.

A status line reads `anonymous basic pro enterprise admin` (the admin is an enterprise account).
Writes run after every read, and those that remove the caller's own resource run last, so each
request meets the world the table describes; a row's callers run in that order too.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from aiqleads.app import create_app
from aiqleads.config import Settings
from aiqleads.db.engine import session_factory
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models.enums import Role, Tier
from tests.app_routes import app_routes
from tests.conftest import T0, Backend
from tests.emptying import empty_tables
from tests.factories import insert_leads, lead_row, login, make_account

CALLERS = ("anonymous", "basic", "pro", "enterprise", "admin")
OWNERSHIPS = ("own", "other", "none")
NO_SUCH = str(uuid.UUID(int=1))  # a well-formed id of nothing


@dataclass
class Caller:
    name: str
    headers: dict[str, str] = field(default_factory=dict)
    account_id: str = ""
    bought: str = ""  # a lead this caller bought, kept (not returned)
    order_id: str = ""
    held: str = ""  # a lead this caller holds
    spare: str = ""  # an available lead for this caller to hold
    webhook_id: str = ""
    api_key_prefix: str = ""


@dataclass
class World:
    """Who is who, and the ids of what each caller owns. `other` is a sixth account, an
    enterprise agent, whose resources are "another's" to every caller."""

    callers: dict[str, Caller]
    other: Caller
    open_lead: str  # available, published two hours ago: every tier sees it
    pro_lead: str  # published 20 minutes ago: pro (15 min delay) and enterprise see it
    ent_lead: str  # published 5 minutes ago: only enterprise (no delay) sees it
    returns: list[str]  # the other agent's returns, pending, for the admin to decide

    def owned(self, kind: str, caller: str, ownership: str) -> str:
        """The id of a `kind` resource: the caller's own, the other agent's, or nothing's."""
        if ownership == "none":
            return {"api_key_prefix": "nokey00000", "run_id": "999999"}.get(kind, NO_SUCH)
        if kind.startswith("return_"):
            return self.returns[int(kind.removeprefix("return_"))]
        if kind in ("open_lead", "pro_lead", "ent_lead"):
            return str(getattr(self, kind))
        who = self.other if ownership == "other" or caller == "anonymous" else self.callers[caller]
        return str(getattr(who, kind))


Statuses = tuple[int, int, int, int, int]
Body = Callable[[World, str, str], Any] | Any


def s(line: str) -> Statuses:
    """`"401 200 200 200 200"` -> the statuses of the callers, in CALLERS' order."""
    values = tuple(int(v) for v in line.split())
    assert len(values) == len(CALLERS), line
    return values  # type: ignore[return-value]


PUBLIC = s("200 200 200 200 200")
AGENTS_OK = s("401 200 200 200 200")
ADMIN_OK = s("401 403 403 403 200")
ENTERPRISE_OK = s("401 403 403 200 200")
ENTERPRISE_404 = s("401 403 403 404 404")


@dataclass(frozen=True)
class Row:
    """One route's request. `expect` maps an ownership ("-" for a route with no resource of
    its own) to the callers' statuses; `resource` names the World attribute whose id fills the
    path parameter `param`."""

    method: str
    path: str
    expect: dict[str, Statuses]
    resource: str | None = None
    param: str | None = None
    params: dict[str, str] | None = None
    json: Body = None
    data: dict[str, str] | None = None
    why: str = ""

    def url(self, world: World, caller: str, ownership: str) -> str:
        if self.resource is None or self.param is None:
            return self.path
        value = world.owned(self.resource, caller, ownership)
        return self.path.replace(f"{{{self.param}}}", value)


def _lead_of(kind: str) -> Callable[[World, str, str], Any]:
    def body(world: World, caller: str, ownership: str) -> Any:
        return {"lead_id": world.owned(kind, caller, ownership), "reason": "other"}

    return body


SEATTLE_BOX = "-122.40,47.60,-122.25,47.70"
API = "/api/v1"

# The live socket: a plain GET finds no HTTP route; the socket's own sign-in (a first message
# with an access token, closed otherwise) is tested in tests/notices/test_live.py.
LIVE = "a WebSocket"

# --- reads --------------------------------------------------------------------------------------
READS: tuple[Row, ...] = (
    Row("GET", "/", {"-": PUBLIC}, why="the web page"),
    Row("GET", "/health", {"-": PUBLIC}),
    Row("GET", "/ready", {"-": PUBLIC}),
    Row("GET", "/metrics", {"-": PUBLIC}, why="public outside production (test_exposure)"),
    Row("GET", "/openapi.json", {"-": PUBLIC}),
    Row("GET", "/docs", {"-": PUBLIC}),
    Row("GET", "/docs/oauth2-redirect", {"-": PUBLIC}),
    Row("GET", "/redoc", {"-": PUBLIC}),
    Row("GET", "/static", {"-": PUBLIC}, why="a mount: asked for /static/js/main.js"),
    Row("GET", "/docs/static", {"-": PUBLIC}, why="a mount: the offline docs' style sheet"),
    Row("GET", f"{API}/web/config", {"-": PUBLIC}),
    Row("GET", f"{API}/geo/outlines", {"-": PUBLIC}, params={"metro": "seattle"}),
    Row("GET", f"{API}/auth/me", {"-": AGENTS_OK}),
    Row("GET", f"{API}/auth/api-keys", {"-": AGENTS_OK}),
    Row("GET", f"{API}/leads", {"-": AGENTS_OK}),
    Row(
        "GET",
        f"{API}/leads/{{lead_id}}",
        {
            "own": AGENTS_OK,
            "other": s("401 404 404 404 200"),  # sold to another: gone, but for admins
            "none": s("401 404 404 404 404"),
        },
        resource="bought",
        param="lead_id",
    ),
    # The tier dimension: a new lead reaches each tier after its priority delay.
    Row(
        "GET",
        f"{API}/leads/{{lead_id}}",
        {"other": s("401 404 200 200 200")},
        resource="pro_lead",
        param="lead_id",
        why="published 20 minutes ago",
    ),
    Row(
        "GET",
        f"{API}/leads/{{lead_id}}",
        {"other": s("401 404 404 200 200")},
        resource="ent_lead",
        param="lead_id",
        why="published 5 minutes ago",
    ),
    Row("GET", f"{API}/geo/heatmap", {"-": AGENTS_OK}, params={"bbox": SEATTLE_BOX}),
    Row("GET", f"{API}/geo/clusters", {"-": AGENTS_OK}, params={"bbox": SEATTLE_BOX}),
    Row("GET", f"{API}/geo/penetration", {"-": AGENTS_OK}, params={"bbox": SEATTLE_BOX}),
    Row(
        "GET",
        f"{API}/geo/competitors",
        {"-": AGENTS_OK},
        params={"bbox": SEATTLE_BOX, "radius_m": "500", "lat": "47.65", "lon": "-122.35"},
    ),
    Row("GET", f"{API}/market/zips/{{zip_code}}", {"-": AGENTS_OK}, params=None),
    Row("GET", f"{API}/cart", {"-": AGENTS_OK}),
    Row("GET", f"{API}/orders", {"-": AGENTS_OK}),
    Row(
        "GET",
        f"{API}/orders/{{order_id}}",
        {
            "own": AGENTS_OK,
            "other": s("401 404 404 404 200"),  # an admin reads any order
            "none": s("401 404 404 404 404"),
        },
        resource="order_id",
        param="order_id",
    ),
    Row("GET", f"{API}/purchases", {"-": AGENTS_OK}),
    Row("GET", f"{API}/purchases/export.csv", {"-": AGENTS_OK}),
    Row("GET", f"{API}/returns", {"-": AGENTS_OK}),
    # Webhooks and API keys are for enterprise accounts (the admin is one).
    Row("GET", f"{API}/webhooks", {"-": ENTERPRISE_OK}),
    Row(
        "GET",
        f"{API}/webhooks/{{webhook_id}}/deliveries",
        {"own": ENTERPRISE_OK, "other": ENTERPRISE_404, "none": ENTERPRISE_404},
        resource="webhook_id",
        param="webhook_id",
    ),
    Row("GET", f"{API}/admin/accounts", {"-": ADMIN_OK}),
    Row("GET", f"{API}/admin/tiers", {"-": ADMIN_OK}),
    Row("GET", f"{API}/admin/returns", {"-": ADMIN_OK}),
    Row("GET", f"{API}/admin/quarantine", {"-": ADMIN_OK}),
    Row("GET", f"{API}/admin/ingestion/runs", {"-": ADMIN_OK}),
    Row(
        "GET",
        f"{API}/admin/ingestion/runs/{{run_id}}",
        {"none": s("401 403 403 403 404")},
        resource="run_id",
        param="run_id",
    ),
    Row("GET", f"{API}/admin/sources", {"-": ADMIN_OK}),
    Row("GET", f"{API}/admin/scoring/models", {"-": ADMIN_OK}),
    Row("GET", f"{API}/admin/market/{{region_kind}}/{{region}}", {"-": ADMIN_OK}),
    Row("GET", f"{API}/admin/experiments", {"-": ADMIN_OK}),
    Row("GET", f"{API}/admin/experiments/{{name}}", {"none": s("401 403 403 403 404")}),
    Row("GET", f"{API}/admin/experiments/{{name}}/report", {"none": s("401 403 403 403 404")}),
    Row("GET", f"{API}/admin/experiments/{{name}}/report.png", {"none": s("401 403 403 403 404")}),
    Row("GET", f"{API}/me/preferences", {"-": AGENTS_OK}),
    Row("GET", f"{API}/recommendations", {"-": AGENTS_OK}, params={"limit": "5"}),
    Row("GET", f"{API}/live", {"-": s("404 404 404 404 404")}, why=LIVE),
)

# --- writes -------------------------------------------------------------------------------------
WRITES: tuple[Row, ...] = (
    # Public: every caller meets the same check (none signs in through these).
    Row(
        "POST",
        f"{API}/auth/register",
        {"-": s("422 422 422 422 422")},
        json={"email": "new@example.com", "password": "password"},
        why="a guessable password: the answer does not depend on the caller",
    ),
    Row(
        "POST",
        f"{API}/auth/token",
        {"-": s("401 401 401 401 401")},
        data={"username": "nobody@example.com", "password": "wrong password 123"},
    ),
    Row(
        "POST", f"{API}/auth/refresh", {"-": s("401 401 401 401 401")}, json={"refresh_token": "x"}
    ),
    Row(
        "POST",
        f"{API}/payments/webhooks/{{gateway}}",
        {"-": s("400 400 400 400 400")},
        why="the gateway's events, signed: no caller; an unsigned body is refused alike",
    ),
    Row("POST", f"{API}/auth/api-keys", {"-": s("401 403 403 201 201")}, json={"name": "m"}),
    Row(
        "POST",
        f"{API}/webhooks",
        {"-": s("401 403 403 201 201")},
        json={"url": "https://hooks.example.com/aiq", "event_types": ["hold.expired"]},
    ),
    Row(
        "POST",
        f"{API}/cart/holds/{{lead_id}}/extend",
        {
            "own": s("401 409 200 200 200"),  # basic holds have no extension
            "other": s("401 404 404 404 404"),
            "none": s("401 404 404 404 404"),
        },
        resource="held",
        param="lead_id",
    ),
    Row(
        "POST",
        f"{API}/returns",
        {
            "other": s("401 404 404 404 404"),
            "none": s("401 404 404 404 404"),
            "own": s("401 201 201 201 201"),
        },
        json=_lead_of("bought"),
    ),
    Row(
        "POST",
        f"{API}/leads/{{lead_id}}/release",
        {"other": s("401 403 403 403 409")},
        resource="open_lead",
        param="lead_id",
        why="admins only; an available lead is not withheld",
    ),
    Row(
        "PATCH",
        f"{API}/admin/accounts/{{account_id}}",
        {"other": ADMIN_OK, "none": s("401 403 403 403 404")},
        resource="account_id",
        param="account_id",
        json={"tier": "enterprise"},
    ),
    Row("PUT", f"{API}/admin/tiers/{{tier}}", {"-": s("401 403 403 403 422")}, json={}),
    Row(
        "PUT",
        f"{API}/me/preferences",
        {"-": AGENTS_OK},
        json={"zip_codes": ["98103"], "price_max": 900000},
        why="each agent sets their own; there is no one else's to set",
    ),
    Row("DELETE", f"{API}/admin/tiers/{{tier}}", {"-": ADMIN_OK}),
    Row(
        "POST",
        f"{API}/admin/returns/{{return_id}}/approve",
        {"other": ADMIN_OK, "none": s("401 403 403 403 404")},
        resource="return_0",
        param="return_id",
    ),
    Row(
        "POST",
        f"{API}/admin/returns/{{return_id}}/reject",
        {"other": ADMIN_OK, "none": s("401 403 403 403 404")},
        resource="return_1",
        param="return_id",
        json={"reason": "the number answers"},
    ),
    Row(
        "POST",
        f"{API}/admin/quarantine/retry",
        {"none": s("401 403 403 403 404")},
        json={"id": 999_999},
    ),
    Row("POST", f"{API}/admin/sources/profile", {"-": ADMIN_OK}),
    Row(
        "POST",
        f"{API}/admin/experiments",
        {"-": s("401 403 403 403 422")},
        json={},
        why="the body is checked only once the caller is an admin",
    ),
    Row("POST", f"{API}/admin/experiments/{{name}}/start", {"none": s("401 403 403 403 404")}),
    Row("POST", f"{API}/admin/experiments/{{name}}/stop", {"none": s("401 403 403 403 404")}),
    Row("POST", f"{API}/admin/experiments/{{name}}/conclude", {"none": s("401 403 403 403 404")}),
    Row(
        "POST",
        f"{API}/cart/holds",
        {"-": AGENTS_OK},
        json=lambda w, c, o: {"lead_ids": [w.owned("spare", c, "own")]},
    ),
    Row(
        "DELETE",
        f"{API}/cart/holds/{{lead_id}}",
        {
            "other": s("401 404 404 404 404"),
            "none": s("401 404 404 404 404"),
            "own": s("401 204 204 204 204"),
        },
        resource="held",
        param="lead_id",
    ),
    Row("POST", f"{API}/checkout", {"-": AGENTS_OK}, why="pays for the caller's holds"),
    # Last: the caller's own resources go.
    Row(
        "DELETE",
        f"{API}/webhooks/{{webhook_id}}",
        {"other": ENTERPRISE_404, "none": ENTERPRISE_404, "own": s("401 403 403 204 204")},
        resource="webhook_id",
        param="webhook_id",
    ),
    Row(
        "DELETE",
        f"{API}/auth/api-keys/{{prefix}}",
        {
            "other": s("401 404 404 404 200"),  # an admin may revoke any key
            "none": s("401 404 404 404 404"),
            "own": s("401 404 404 200 200"),  # basic and pro own none
        },
        resource="api_key_prefix",
        param="prefix",
    ),
)
TABLE = READS + WRITES

# Fixed path parameters (no ownership).
FIXED = {
    "zip_code": "98103",
    "region_kind": "zip",
    "region": "98103",
    "name": "no-such-experiment",
    "tier": "basic",
    "gateway": "sandbox",
}
MOUNT_FILES = {"/static": "/static/js/main.js", "/docs/static": "/docs/static/swagger-ui.css"}


# --- the world ----------------------------------------------------------------------------------


async def _build(client: httpx.AsyncClient, engine: AsyncEngine, settings: Settings) -> World:
    sessions = session_factory(engine)
    cipher = FieldCipher(settings.encryption_keys)
    now = T0
    rows = [lead_row(settings, cipher, now=now, zip_code="98103") for _ in range(18)]
    rows.append(lead_row(settings, cipher, now=now, published_at=now - timedelta(minutes=20)))
    rows.append(lead_row(settings, cipher, now=now, published_at=now - timedelta(minutes=5)))
    await insert_leads(sessions, rows, now=now)
    ids = [str(r["public_id"]) for r in rows]
    free = iter(ids[1:18])

    async def caller(name: str, tier: Tier, role: Role, buys: int) -> Caller:
        account = await make_account(sessions, now=now, role=role, tier=tier)
        c = Caller(name, await login(client, account.email), str(account.public_id))
        bought = [next(free) for _ in range(buys)]
        held = await client.post(f"{API}/cart/holds", json={"lead_ids": bought}, headers=c.headers)
        assert held.status_code == 200 and held.json()["held"] == buys, held.text
        paid = await client.post(f"{API}/checkout", headers=c.headers)
        assert paid.status_code == 200 and paid.json()["status"] == "paid", paid.text
        c.order_id, c.bought = str(paid.json()["id"]), bought[0]
        c.held, c.spare = next(free), next(free)
        held = await client.post(
            f"{API}/cart/holds", json={"lead_ids": [c.held]}, headers=c.headers
        )
        assert held.status_code == 200 and held.json()["held"] == 1, held.text
        # Webhooks and API keys are for enterprise accounts.
        c.webhook_id, c.api_key_prefix = NO_SUCH, "nokey00000"
        if tier is Tier.ENTERPRISE:
            hook = await client.post(
                f"{API}/webhooks",
                json={"url": "https://hooks.example.com/own", "event_types": ["hold.expired"]},
                headers=c.headers,
            )
            assert hook.status_code == 201, hook.text
            c.webhook_id = str(hook.json()["id"])
            key = await client.post(f"{API}/auth/api-keys", json={"name": "own"}, headers=c.headers)
            assert key.status_code == 201, key.text
            c.api_key_prefix = str(key.json()["prefix"])
        return c

    callers = {"anonymous": Caller("anonymous")}
    for name, tier, role in (
        ("basic", Tier.BASIC, Role.AGENT),
        ("pro", Tier.PRO, Role.AGENT),
        ("enterprise", Tier.ENTERPRISE, Role.AGENT),
        ("admin", Tier.ENTERPRISE, Role.ADMIN),
    ):
        callers[name] = await caller(name, tier, role, 1)
    other = await caller("other", Tier.ENTERPRISE, Role.AGENT, 3)
    assert other.bought == ids[13]
    returns = []
    for lead in ids[14:16]:  # the other agent's second and third purchases
        back = await client.post(
            f"{API}/returns", json={"lead_id": lead, "reason": "other"}, headers=other.headers
        )
        assert back.status_code == 201, back.text
        returns.append(str(back.json()["id"]))
    return World(callers, other, ids[0], ids[18], ids[19], returns)


@pytest.fixture(scope="module")
async def world(
    migrated_engine: AsyncEngine, backend: Backend
) -> AsyncIterator[tuple[httpx.AsyncClient, World]]:
    await empty_tables(migrated_engine)
    settings = backend.settings(cache_namespace=f"aiq-matrix-{uuid.uuid4().hex}")
    app = create_app(settings, clock=FrozenClock(T0))
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                yield c, await _build(c, migrated_engine, settings)
    finally:
        await empty_tables(migrated_engine)


def test_the_matrix_holds_every_route(backend: Backend) -> None:
    # Given the application's routes (methods other than HEAD; a mount or socket as "*")
    app = create_app(backend.settings())
    found = {(m if m != "*" else "GET", p) for m, p, _ in app_routes(app.routes)}
    # When the table's rows are listed
    rows = {(r.method, r.path) for r in TABLE}
    # Then every route has a row, and every row a route
    assert found - rows == set(), f"routes without a row in the matrix: {sorted(found - rows)}"
    assert rows - found == set(), f"rows of no route: {sorted(rows - found)}"
    # And every row names a status for each caller and each ownership it has
    for r in TABLE:
        assert set(r.expect) <= {"-", *OWNERSHIPS}, r
        if "-" in r.expect:  # no resource of its own: one line, nothing to own
            assert len(r.expect) == 1 and r.resource is None, r


async def _ask(client: httpx.AsyncClient, world: World, row: Row, caller: str, own: str) -> int:
    url = MOUNT_FILES.get(row.path) or row.url(world, caller, own)
    for k, v in FIXED.items():
        url = url.replace(f"{{{k}}}", v)
    body = row.json(world, caller, own) if callable(row.json) else row.json
    res = await client.request(
        row.method,
        url,
        params=row.params,
        json=body,
        data=row.data,
        headers=world.callers[caller].headers,
    )
    return res.status_code


async def test_every_caller_gets_the_status_of_the_table(
    world: tuple[httpx.AsyncClient, World],
) -> None:
    # Given the world: five callers who each bought, hold, and registered a webhook and a key
    client, w = world
    # When every row's request is sent as every caller, for every ownership it has
    wrong = []
    for row in TABLE:
        for own, statuses in row.expect.items():
            for caller, expected in zip(CALLERS, statuses, strict=True):
                got = await _ask(client, w, row, caller, own)
                if got != expected:
                    wrong.append(
                        f"{row.method} {row.path} [{own}] as {caller}: {got}, not {expected}"
                    )
    # Then each answer is the table's
    assert wrong == [], "\n".join(wrong)
