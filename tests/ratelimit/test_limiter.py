"""Rate limits through the API: per tier (the policy in force), per address, per login, with
exemptions; on the in-process storage (SQLite runs) and on Redis (PostgreSQL runs)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.app import create_app
from aiqleads.config import RateLimitSettings, TierPolicy
from aiqleads.db.engine import transaction
from aiqleads.kit.clock import FrozenClock
from aiqleads.models.enums import Role, Tier
from aiqleads.observability.metrics import RATE_LIMIT_REJECTIONS, RATE_LIMIT_STORAGE_ERRORS
from aiqleads.ratelimit import RequestLimiter
from tests.conftest import Backend
from tests.factories import PASSWORD, login, make_account

ME = "/api/v1/auth/me"
REGISTER = "/api/v1/auth/register"
TOKEN = "/api/v1/auth/token"

AppMaker = Callable[..., Awaitable[FastAPI]]


@pytest.fixture
async def limited() -> AsyncIterator[AppMaker]:
    """limited(backend, clock, **rate_limit): an app with rate limits on, its counts under a
    namespace of its own (Redis outlives a test)."""
    stack: list[FastAPI] = []
    contexts: list[Any] = []

    async def make(backend: Backend, clock: FrozenClock, **limits: object) -> FastAPI:
        settings = backend.settings(
            rate_limit={"enabled": True, **limits}, cache_namespace=f"t{uuid.uuid4().hex[:10]}"
        )
        app = create_app(settings, clock=clock)
        ctx = app.router.lifespan_context(app)
        await ctx.__aenter__()
        stack.append(app)
        contexts.append(ctx)
        return app

    yield make
    for ctx in reversed(contexts):
        await ctx.__aexit__(None, None, None)


def client_for(app: FastAPI, ip: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def set_tier_limit(
    sessions: async_sessionmaker[AsyncSession], app: FastAPI, tier: Tier, per_minute: int
) -> None:
    state = app.state.aiq
    policy = state.tiers.defaults()[tier.value].model_copy(
        update={"rate_limit_per_minute": per_minute}
    )
    admin = await make_account(
        sessions, now=state.clock.now(), role=Role.ADMIN, tier=Tier.ENTERPRISE
    )
    async with transaction(sessions) as session:
        await state.tiers.set(
            session, tier, TierPolicy(**policy.model_dump()), by=admin.id, now=state.clock.now()
        )


async def test_a_tier_is_limited_by_the_policy_in_force(
    engine: object,
    backend: Backend,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    limited: AppMaker,
) -> None:
    # Given an admin who set the basic tier to 3 requests a minute (defaults: 100), a basic
    # agent and a pro agent
    app = await limited(backend, clock)
    await set_tier_limit(sessions, app, Tier.BASIC, 3)
    basic = await make_account(sessions, now=clock.now(), tier=Tier.BASIC)
    pro = await make_account(sessions, now=clock.now(), tier=Tier.PRO)
    rejected_before = RATE_LIMIT_REJECTIONS.labels("account", "basic")._value.get()
    async with client_for(app) as client:
        basic_auth = await login(client, basic.email)
        pro_auth = await login(client, pro.email)
        # When the basic agent makes 4 requests within the minute
        answers = [await client.get(ME, headers=basic_auth) for _ in range(4)]
        # Then 3 are answered, each saying what is left, and the 4th is refused with 429
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert [a.headers["RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
        assert all(a.headers["RateLimit-Limit"] == "3" for a in answers)
        refused = answers[3]
        assert refused.json()["code"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert 0 <= int(refused.headers["RateLimit-Reset"]) <= 60
        assert refused.headers["RateLimit-Policy"] == "3;w=60"
        # And the pro agent, on the pro tier's own limit, is still answered
        res = await client.get(ME, headers=pro_auth)
        assert res.status_code == 200
        assert res.headers["RateLimit-Limit"] == "500"
    assert RATE_LIMIT_REJECTIONS.labels("account", "basic")._value.get() == rejected_before + 1


# The routes whose query is read by `kit.query_model.QueryModel`, each with an invalid query.
BAD_QUERIES = [
    "/api/v1/leads?price_min=x",
    "/api/v1/geo/heatmap?zoom=x",
    "/api/v1/geo/clusters?eps_m=x",
    "/api/v1/geo/penetration?level=county",
    "/api/v1/geo/competitors?radius_m=x",
]


@pytest.mark.parametrize("path", BAD_QUERIES)
async def test_an_invalid_query_is_judged_after_the_caller_and_its_limit(
    path: str,
    engine: object,
    backend: Backend,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    limited: AppMaker,
) -> None:
    # Given a basic tier of 2 requests a minute, a basic agent, and 1 call a minute per address
    app = await limited(backend, clock, anonymous_per_minute=1)
    await set_tier_limit(sessions, app, Tier.BASIC, 2)
    basic = await make_account(sessions, now=clock.now(), tier=Tier.BASIC)
    async with client_for(app) as client, client_for(app, "10.0.0.9") as stranger:
        auth = await login(client, basic.email)
        # When someone not signed in sends the invalid query twice
        unsigned = [(await stranger.get(path)).status_code for _ in range(2)]
        # Then it is told to sign in, then limited, before the query is judged
        assert unsigned == [401, 429]
        # And the agent's invalid queries count against its limit, with its headers
        answers = [await client.get(path, headers=auth) for _ in range(3)]
        assert [a.status_code for a in answers] == [422, 422, 429]
        assert [a.headers["RateLimit-Remaining"] for a in answers] == ["1", "0", "0"]


async def test_calls_without_an_account_are_limited_per_address(
    engine: object, backend: Backend, clock: FrozenClock, limited: AppMaker
) -> None:
    # Given a limit of 2 calls a minute per address without an account
    app = await limited(backend, clock, anonymous_per_minute=2)
    body = {"email": "not-an-email", "password": PASSWORD}
    async with client_for(app, "10.0.0.1") as first, client_for(app, "10.0.0.2") as second:
        # When one address calls registration 3 times (invalid bodies: still calls)
        codes = [(await first.post(REGISTER, json=body)).status_code for _ in range(3)]
        # Then the third is refused, and another address is still answered
        assert codes == [422, 422, 429]
        assert (await second.post(REGISTER, json=body)).status_code == 422
        # And failed authentications count against the address too
        bad = {"Authorization": "Bearer not-a-token"}
        assert [(await second.get(ME, headers=bad)).status_code for _ in range(2)] == [401, 429]


async def test_logins_are_limited_per_account_named_whatever_the_address(
    engine: object,
    backend: Backend,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    limited: AppMaker,
) -> None:
    # Given 2 login attempts a minute per account
    app = await limited(backend, clock, login_per_minute=2, anonymous_per_minute=100)
    target = await make_account(sessions, now=clock.now())
    other = await make_account(sessions, now=clock.now())
    wrong = {"username": target.email, "password": "wrong password!"}
    # When two addresses guess the target's password, and a third then logs in
    for ip in ("10.1.0.1", "10.1.0.2"):
        async with client_for(app, ip) as client:
            assert (await client.post(TOKEN, data=wrong)).status_code == 401
    async with client_for(app, "10.1.0.3") as client:
        right = {"username": target.email.upper(), "password": PASSWORD}
        res = await client.post(TOKEN, data=right)
        # Then the account named is refused for the rest of the minute (any case of the name)
        assert res.status_code == 429
        # And another account logs in from the same address
        await login(client, other.email)


async def test_registrations_are_limited_per_address_per_hour(
    engine: object, backend: Backend, clock: FrozenClock, limited: AppMaker
) -> None:
    # Given 2 registrations an hour per address
    app = await limited(backend, clock, register_per_hour=2, anonymous_per_minute=100)
    async with client_for(app, "10.3.0.1") as first, client_for(app, "10.3.0.2") as second:
        # When one address registers 3 times (the last an existing e-mail: a 409 if answered)
        codes = [
            (await first.post(REGISTER, json={"email": e, "password": PASSWORD})).status_code
            for e in ("r1@example.com", "r2@example.com", "r1@example.com")
        ]
        # Then the third is refused before it can tell whether the e-mail has an account
        assert codes == [201, 201, 429]
        res = await first.post(REGISTER, json={"email": "r3@example.com", "password": PASSWORD})
        assert res.json()["detail"]["window_seconds"] == 3600
        # And another address still registers
        body = {"email": "r3@example.com", "password": PASSWORD}
        assert (await second.post(REGISTER, json=body)).status_code == 201


async def test_exempt_accounts_and_networks_are_never_limited(
    engine: object,
    backend: Backend,
    clock: FrozenClock,
    sessions: async_sessionmaker[AsyncSession],
    limited: AppMaker,
) -> None:
    # Given a basic tier of 2 requests a minute and an exemption list
    monitor = await make_account(sessions, now=clock.now(), email="monitor@ops.example.com")
    app = await limited(
        backend,
        clock,
        anonymous_per_minute=1,
        exempt_accounts=["Monitor@Ops.example.com"],
        exempt_networks=["10.9.0.0/16"],
    )
    await set_tier_limit(sessions, app, Tier.BASIC, 2)
    async with client_for(app, "10.9.3.4") as inside:
        # When an exempt network calls without an account, past the address limit
        for _ in range(3):
            assert (await inside.post(REGISTER, json={})).status_code == 422
        auth = await login(inside, monitor.email)
    async with client_for(app, "10.2.0.1") as outside:
        # And an exempt account calls past its tier's limit from anywhere
        codes = [(await outside.get(ME, headers=auth)).status_code for _ in range(4)]
    # Then nothing is refused
    assert codes == [200] * 4


async def test_an_unreachable_storage_lets_requests_through(unused_tcp_port: int) -> None:
    # Given a limiter whose Redis does not answer
    redis = Redis.from_url(f"redis://127.0.0.1:{unused_tcp_port}/0", socket_connect_timeout=0.5)
    limiter = RequestLimiter(RateLimitSettings(), redis=redis, namespace="t-down")
    errors_before = RATE_LIMIT_STORAGE_ERRORS._value.get()
    try:
        # When a request is counted
        verdict = await limiter.hit(1, "account", "x")
    finally:
        await redis.aclose()
    # Then there is no verdict (the request goes through) and the failure is counted
    assert verdict is None
    assert RATE_LIMIT_STORAGE_ERRORS._value.get() == errors_before + 1


@pytest.mark.parametrize("strategy", ["moving-window", "sliding-window-counter", "fixed-window"])
async def test_every_strategy_refuses_past_the_limit(strategy: str) -> None:
    # Given an in-process limiter of 2 a minute with the strategy
    limiter = RequestLimiter(
        RateLimitSettings(strategy=strategy),
        redis=None,
        namespace="t",
    )
    # When 3 requests are counted under one key and 1 under another
    verdicts = [await limiter.hit(2, "account", "a") for _ in range(3)]
    other = await limiter.hit(2, "account", "b")
    # Then the third is refused and the other key is untouched
    assert [v.allowed for v in verdicts if v] == [True, True, False]
    assert other is not None and other.allowed and other.remaining == 1
