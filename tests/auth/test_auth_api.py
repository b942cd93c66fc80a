from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.kit.clock import FrozenClock
from aiqleads.models.enums import Role, Tier
from tests.factories import PASSWORD, login, make_account

TOKEN = "/api/v1/auth/token"


async def test_register_then_login_and_see_myself(client: httpx.AsyncClient) -> None:
    # Given a new agent registering
    res = await client.post(
        "/api/v1/auth/register", json={"email": "New.Agent@Example.com", "password": PASSWORD}
    )
    assert res.status_code == 201, res.text
    assert res.json()["email"] == "new.agent@example.com"
    assert res.json()["tier"] == "basic"
    # When logging in with the e-mail in any case
    headers = await login(client, "NEW.AGENT@example.com")
    # Then /me answers with the account
    me = await client.get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["role"] == "agent"


async def test_register_rejects_bad_input_naming_the_field(client: httpx.AsyncClient) -> None:
    cases = [
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "a@example.com", "password": "short"}, "password"),
        ({"email": "a@example.com"}, "password"),
        ({"email": "a@example.com", "password": PASSWORD, "role": "admin"}, "role"),
    ]
    for body, field in cases:
        res = await client.post("/api/v1/auth/register", json=body)
        assert res.status_code == 422, (body, res.text)
        payload = res.json()
        assert payload["code"] == "validation_error"
        assert field in {d["field"] for d in payload["detail"]}, payload


async def test_register_twice_is_a_conflict(client: httpx.AsyncClient) -> None:
    body = {"email": "twice@example.com", "password": PASSWORD}
    assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201
    res = await client.post("/api/v1/auth/register", json=body)
    assert res.status_code == 409
    assert res.json()["code"] == "conflict"


async def test_wrong_password_and_unknown_email_are_401(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    account = await make_account(sessions, now=clock.now())
    for user, pw in ((account.email, "wrong password!"), ("nobody@example.com", PASSWORD)):
        res = await client.post(TOKEN, data={"username": user, "password": pw})
        assert res.status_code == 401
        assert res.json()["error"] == "wrong e-mail or password"


async def test_login_form_missing_field_is_422(client: httpx.AsyncClient) -> None:
    res = await client.post(TOKEN, data={"username": "a@example.com"})
    assert res.status_code == 422
    assert res.json()["detail"][0]["field"] == "password"


async def test_lockout_after_repeated_failures_then_unlocks(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given an account and five failed logins in a row (the default threshold)
    account = await make_account(sessions, now=clock.now())
    for _ in range(5):
        res = await client.post(TOKEN, data={"username": account.email, "password": "bad password"})
        assert res.status_code == 401
    # When the right password is then given, the account is locked
    res = await client.post(TOKEN, data={"username": account.email, "password": PASSWORD})
    assert res.status_code == 429
    assert res.json()["code"] == "account_locked"
    assert int(res.headers["Retry-After"]) == 15 * 60
    # Then after the lockout period it works again
    clock.advance(timedelta(minutes=15, seconds=1))
    res = await client.post(TOKEN, data={"username": account.email, "password": PASSWORD})
    assert res.status_code == 200


async def test_a_success_resets_the_failure_count(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    account = await make_account(sessions, now=clock.now())
    for _ in range(4):
        await client.post(TOKEN, data={"username": account.email, "password": "bad password"})
    await login(client, account.email)
    for _ in range(4):
        await client.post(TOKEN, data={"username": account.email, "password": "bad password"})
    assert (
        await client.post(TOKEN, data={"username": account.email, "password": PASSWORD})
    ).status_code == 200


async def test_access_token_expires(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    account = await make_account(sessions, now=clock.now())
    headers = await login(client, account.email)
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
    clock.advance(timedelta(minutes=15, seconds=1))
    res = await client.get("/api/v1/auth/me", headers=headers)
    assert res.status_code == 401
    assert "expired" in res.json()["error"]
    assert res.headers["WWW-Authenticate"] == "Bearer"


async def test_missing_or_garbage_token_is_401(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/auth/me")).status_code == 401
    for value in ("Bearer nonsense", "Bearer a.b.c", "Basic Zm9vOmJhcg=="):
        res = await client.get("/api/v1/auth/me", headers={"Authorization": value})
        assert res.status_code == 401, value


async def test_refresh_rotates_and_a_replay_revokes_everything(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    account = await make_account(sessions, now=clock.now())
    first = (
        await client.post(TOKEN, data={"username": account.email, "password": PASSWORD})
    ).json()
    # When the refresh token is used, a new pair comes back
    res = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert res.status_code == 200
    second = res.json()
    assert second["refresh_token"] != first["refresh_token"]
    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {second['access_token']}"}
    )
    assert me.status_code == 200
    # When the first (already used) refresh token is replayed, it fails...
    res = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert res.status_code == 401
    # ...and the newer one is revoked too: whoever replayed it may have stolen the family
    res = await client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert res.status_code == 401


async def test_access_token_is_not_a_refresh_token(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    account = await make_account(sessions, now=clock.now())
    tokens = (
        await client.post(TOKEN, data={"username": account.email, "password": PASSWORD})
    ).json()
    res = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["access_token"]})
    assert res.status_code == 401
    res = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['refresh_token']}"}
    )
    assert res.status_code == 401
    res = await client.post("/api/v1/auth/refresh", json={})
    assert res.status_code == 422


async def test_api_keys_for_enterprise_only(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    basic = await make_account(sessions, now=clock.now(), tier=Tier.BASIC)
    ent = await make_account(sessions, now=clock.now(), tier=Tier.ENTERPRISE)
    # A basic agent may not create one
    res = await client.post(
        "/api/v1/auth/api-keys", json={"name": "crm"}, headers=await login(client, basic.email)
    )
    assert res.status_code == 403
    assert res.json()["code"] == "forbidden"
    # An enterprise agent gets the secret once
    ent_headers = await login(client, ent.email)
    res = await client.post("/api/v1/auth/api-keys", json={"name": "crm"}, headers=ent_headers)
    assert res.status_code == 201
    created = res.json()
    key = created["key"]
    assert key.startswith("aiq_")
    # The key authenticates requests
    me = await client.get("/api/v1/auth/me", headers={"X-API-Key": key})
    assert me.status_code == 200
    assert me.json()["email"] == ent.email
    listed = await client.get("/api/v1/auth/api-keys", headers=ent_headers)
    assert [k["prefix"] for k in listed.json()] == [created["prefix"]]
    assert "key" not in listed.json()[0]
    assert listed.json()[0]["last_used_at"] is not None
    # An API key cannot mint more keys
    res = await client.post("/api/v1/auth/api-keys", json={"name": "x"}, headers={"X-API-Key": key})
    assert res.status_code == 403
    # Once revoked it stops working
    res = await client.delete(f"/api/v1/auth/api-keys/{created['prefix']}", headers=ent_headers)
    assert res.status_code == 200
    assert (await client.get("/api/v1/auth/me", headers={"X-API-Key": key})).status_code == 401


async def test_bad_api_keys_are_401(client: httpx.AsyncClient) -> None:
    for key in ("nope", "aiq_short_x", "aiq_abcdefghij_" + "x" * 43):
        res = await client.get("/api/v1/auth/me", headers={"X-API-Key": key})
        assert res.status_code == 401, key


async def test_admin_sets_tiers_and_agents_may_not(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    admin = await make_account(sessions, now=clock.now(), role=Role.ADMIN, tier=Tier.ENTERPRISE)
    agent = await make_account(sessions, now=clock.now())
    agent_headers = await login(client, agent.email)
    res = await client.get("/api/v1/admin/accounts", headers=agent_headers)
    assert res.status_code == 403
    admin_headers = await login(client, admin.email)
    url = f"/api/v1/admin/accounts/{agent.public_id}"
    res = await client.patch(
        url, json={"tier": "enterprise", "custom_cart_limit": 800}, headers=admin_headers
    )
    assert res.status_code == 200, res.text
    assert (res.json()["tier"], res.json()["custom_cart_limit"]) == ("enterprise", 800)
    res = await client.patch(
        url, json={"tier": "pro", "custom_cart_limit": 5}, headers=admin_headers
    )
    assert res.status_code == 422
    assert res.json()["detail"][0]["field"] == "custom_cart_limit"
    res = await client.patch(url, json={"tier": "platinum"}, headers=admin_headers)
    assert res.status_code == 422
    res = await client.patch(url, json={"is_active": False}, headers=admin_headers)
    assert res.status_code == 200
    # A deactivated account's token stops working at once
    assert (await client.get("/api/v1/auth/me", headers=agent_headers)).status_code == 401


async def test_malformed_bodies_are_422_naming_the_body_or_field(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    ent = await make_account(sessions, now=clock.now(), tier=Tier.ENTERPRISE)
    headers = await login(client, ent.email)
    res = await client.post(
        "/api/v1/auth/register",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert res.status_code == 422
    assert res.json()["detail"][0]["field"] == "body"
    res = await client.post("/api/v1/auth/api-keys", json={"name": ""}, headers=headers)
    assert res.status_code == 422
    assert res.json()["detail"][0]["field"] == "name"
    res = await client.post("/api/v1/auth/api-keys", json=["crm"], headers=headers)
    assert res.status_code == 422
    res = await client.delete("/api/v1/auth/api-keys/bad!", headers=headers)
    assert res.status_code == 422
    assert res.json()["detail"][0]["field"] == "prefix"
    res = await client.delete("/api/v1/auth/api-keys/abcdefghij", headers=headers)
    assert res.status_code == 404
    res = await client.post(TOKEN, data={"username": "x" * 400, "password": "p"})
    assert res.status_code == 422
    assert res.json()["detail"][0]["field"] == "username"
