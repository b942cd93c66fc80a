"""The per-process cache of account facts behind access tokens: what it saves and the bound it
keeps (a change made elsewhere is seen within `auth_cache_seconds`, one made here at once)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.auth import principal_cache
from aiqleads.auth.principal_cache import AccountFacts, TimedCache
from aiqleads.kit.clock import FrozenClock
from aiqleads.models import Account, ApiKey
from aiqleads.models.enums import Role, Tier
from tests.factories import login, make_account

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ME = "/api/v1/auth/me"


def facts(**overrides: object) -> AccountFacts:
    values: dict[str, object] = {
        "id": 1,
        "public_id": uuid.uuid4(),
        "email": "a@example.com",
        "role": "agent",
        "tier": "basic",
        "custom_cart_limit": None,
        "is_active": True,
        "token_version": 0,
    }
    values.update(overrides)
    return AccountFacts(**values)  # type: ignore[arg-type]


def test_facts_are_kept_for_the_time_to_live_and_no_longer() -> None:
    # Given a cache of 5 s holding an account read at T0
    cache: TimedCache[uuid.UUID, AccountFacts] = TimedCache("t", 5)
    kept = facts()
    cache.put(kept.public_id, kept, now=T0)
    # Then it is served until just before T0 + 5 s, and not from then on
    assert cache.get(kept.public_id, now=T0 + timedelta(seconds=4.9)) == kept
    assert cache.get(kept.public_id, now=T0 + timedelta(seconds=5)) is None
    # Nor to a clock set back before the read
    assert cache.get(kept.public_id, now=T0 - timedelta(seconds=1)) is None


def test_a_zero_time_to_live_keeps_nothing() -> None:
    cache: TimedCache[uuid.UUID, AccountFacts] = TimedCache("t", 0)
    kept = facts()
    cache.put(kept.public_id, kept, now=T0)
    assert cache.get(kept.public_id, now=T0) is None
    assert len(cache) == 0


def test_the_least_recently_read_go_first_past_the_ceiling() -> None:
    # Given a cache of two entries
    cache: TimedCache[uuid.UUID, AccountFacts] = TimedCache("t", 5, max_entries=2)
    a, b, c = facts(id=1), facts(id=2), facts(id=3)
    cache.put(a.public_id, a, now=T0)
    cache.put(b.public_id, b, now=T0)
    # When a third is read
    cache.put(c.public_id, c, now=T0)
    # Then the first is gone and the others stay
    assert cache.get(a.public_id, now=T0) is None
    assert cache.get(b.public_id, now=T0) == b
    assert cache.get(c.public_id, now=T0) == c


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        TimedCache("t", -1)
    with pytest.raises(ValueError, match="max_entries"):
        TimedCache("t", 5, max_entries=0)


async def test_a_deactivation_made_elsewhere_ends_tokens_within_the_time_to_live(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given an agent whose token this process has just checked
    agent = await make_account(sessions, now=clock.now())
    headers = await login(client, agent.email)
    assert (await client.get(ME, headers=headers)).status_code == 200
    # When another process deactivates the account (straight in the database: this process
    # hears nothing of it)
    async with sessions() as session:
        await session.execute(update(Account).where(Account.id == agent.id).values(is_active=False))
        await session.commit()
    # Then the token may still work while the facts are kept (the stated bound)…
    clock.advance(timedelta(seconds=4))
    assert (await client.get(ME, headers=headers)).status_code == 200
    # …and stops working once the time to live has passed
    clock.advance(timedelta(seconds=1))
    assert (await client.get(ME, headers=headers)).status_code == 401


async def test_a_token_version_raised_elsewhere_ends_tokens_within_the_time_to_live(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given an agent signed in and checked once
    agent = await make_account(sessions, now=clock.now())
    headers = await login(client, agent.email)
    assert (await client.get(ME, headers=headers)).status_code == 200
    # When another process revokes the token family (the token version rises)
    async with sessions() as session:
        await session.execute(
            update(Account)
            .where(Account.id == agent.id)
            .values(token_version=Account.token_version + 1)
        )
        await session.commit()
    # Then the old access token is refused after the time to live
    clock.advance(timedelta(seconds=5))
    assert (await client.get(ME, headers=headers)).status_code == 401


async def test_changes_made_in_this_process_apply_at_once(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given an agent whose facts this process keeps
    admin = await make_account(sessions, now=clock.now(), role=Role.ADMIN, tier=Tier.ENTERPRISE)
    agent = await make_account(sessions, now=clock.now())
    agent_headers = await login(client, agent.email)
    assert (await client.get(ME, headers=agent_headers)).json()["tier"] == "basic"
    admin_headers = await login(client, admin.email)
    url = f"/api/v1/admin/accounts/{agent.public_id}"
    # When an admin of this process raises the tier, the next request has it, with no wait
    assert (await client.patch(url, json={"tier": "pro"}, headers=admin_headers)).is_success
    assert (await client.get(ME, headers=agent_headers)).json()["tier"] == "pro"
    # And a deactivation ends the token at once
    assert (await client.patch(url, json={"is_active": False}, headers=admin_headers)).is_success
    assert (await client.get(ME, headers=agent_headers)).status_code == 401


async def test_a_checked_token_skips_the_account_read(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given an agent's token checked once
    agent = await make_account(sessions, now=clock.now())
    headers = await login(client, agent.email)
    assert (await client.get(ME, headers=headers)).status_code == 200
    # Then this process keeps the account's facts for the next requests
    kept = principal_cache.principals.get(agent.public_id, now=clock.now())
    assert kept is not None and kept.id == agent.id and kept.is_active


async def _enterprise_key(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> tuple[Account, dict[str, str], dict[str, str]]:
    """An enterprise agent's login headers and a fresh API key's headers."""
    ent = await make_account(sessions, now=clock.now(), tier=Tier.ENTERPRISE)
    ent_headers = await login(client, ent.email)
    res = await client.post("/api/v1/auth/api-keys", json={"name": "crm"}, headers=ent_headers)
    assert res.status_code == 201, res.text
    return ent, ent_headers, {"X-API-Key": res.json()["key"]}


async def test_an_api_key_revoked_elsewhere_stops_within_the_time_to_live(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given an API key this process has checked
    ent, _, key_headers = await _enterprise_key(client, sessions, clock)
    assert (await client.get(ME, headers=key_headers)).status_code == 200
    # When another process revokes it (straight in the database)
    async with sessions() as session:
        await session.execute(
            update(ApiKey).where(ApiKey.account_id == ent.id).values(revoked_at=clock.now())
        )
        await session.commit()
    # Then it works at most for the time to live, and not after
    clock.advance(timedelta(seconds=4))
    assert (await client.get(ME, headers=key_headers)).status_code == 200
    clock.advance(timedelta(seconds=1))
    assert (await client.get(ME, headers=key_headers)).status_code == 401


async def test_a_wrong_secret_under_a_kept_prefix_is_refused(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given a key this process keeps
    _, _, key_headers = await _enterprise_key(client, sessions, clock)
    assert (await client.get(ME, headers=key_headers)).status_code == 200
    # When a caller sends its prefix with another secret, then it is refused
    key = key_headers["X-API-Key"]
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert (await client.get(ME, headers={"X-API-Key": forged})).status_code == 401


async def test_an_api_key_s_last_use_is_written_at_most_once_a_minute(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given a key used once
    _, ent_headers, key_headers = await _enterprise_key(client, sessions, clock)
    start = clock.now()
    assert (await client.get(ME, headers=key_headers)).status_code == 200

    async def last_used() -> datetime:
        listed = (await client.get("/api/v1/auth/api-keys", headers=ent_headers)).json()
        return datetime.fromisoformat(listed[0]["last_used_at"])

    assert await last_used() == start
    # When it is used again within the minute (the cache read again after its time to live)
    clock.advance(timedelta(seconds=30))
    assert (await client.get(ME, headers=key_headers)).status_code == 200
    # Then the last use stays, and a use a minute after the first is written
    assert await last_used() == start
    clock.advance(timedelta(seconds=30))
    assert (await client.get(ME, headers=key_headers)).status_code == 200
    assert await last_used() == start + timedelta(seconds=60)
