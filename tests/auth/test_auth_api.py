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
    # Then /me answers with the account, field for field as the registration did (one is
    # built from the row read by key, the other from the ORM object)
    me = await client.get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["role"] == "agent"
    assert me.json() == res.json()


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


async def _attempts(
    client: httpx.AsyncClient, email: str, passwords: list[str]
) -> list[tuple[int, str, str | None]]:
    out = []
    for pw in passwords:
        res = await client.post(TOKEN, data={"username": email, "password": pw})
        out.append((res.status_code, res.json()["error"], res.headers.get("Retry-After")))
    return out


async def test_failures_bring_growing_delays_not_a_lockout(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given an account and six failed logins in a row (five are free by default)
    account = await make_account(sessions, now=clock.now())
    wrong = ["bad password"] * 6
    assert {code for code, _, _ in await _attempts(client, account.email, wrong)} == {401}
    # When the right password is given at once, it must wait a second (not 15 minutes)
    res = await client.post(TOKEN, data={"username": account.email, "password": PASSWORD})
    assert res.status_code == 429
    assert res.json()["code"] == "login_throttled"
    assert res.headers["Retry-After"] == "1"
    # And a further failure once the wait is over doubles it
    clock.advance(timedelta(seconds=1))
    assert (await _attempts(client, account.email, ["bad password"]))[0][0] == 401
    res = await client.post(TOKEN, data={"username": account.email, "password": PASSWORD})
    assert res.headers["Retry-After"] == "2"
    # Then after the wait the right password works, and the count starts again
    clock.advance(timedelta(seconds=2))
    await login(client, account.email)
    assert {code for code, _, _ in await _attempts(client, account.email, wrong[:5])} == {401}
    await login(client, account.email)


async def test_an_unknown_email_is_throttled_exactly_like_an_account(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given an account and an e-mail that has none
    account = await make_account(sessions, now=clock.now())
    tries = ["bad password"] * 6 + [PASSWORD]
    # When both see the same attempts
    known = await _attempts(client, account.email, tries)
    unknown = await _attempts(client, "nobody@example.com", tries)
    # Then the answers are the same, the throttled last one included
    assert known == unknown
    assert known[-1][0] == 429


async def test_every_failure_is_the_same_answer_after_a_password_check(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    from aiqleads.auth import service
    from aiqleads.db.engine import transaction
    from aiqleads.observability.metrics import LOGINS, PASSWORD_CHECKS

    # Given an account, a deactivated one, and an e-mail with no account
    account = await make_account(sessions, now=clock.now())
    gone = await make_account(sessions, now=clock.now())
    async with transaction(sessions) as session:
        row = await session.get(type(gone), gone.id)
        assert row is not None
        await service.set_active(session, row, active=False, now=clock.now())
    cases = [
        ("nobody@example.com", PASSWORD),  # unknown
        (account.email, "wrong password!"),  # wrong password
        (gone.email, PASSWORD),  # deactivated, right password
    ]
    answers = []
    for user, pw in cases:
        checks = PASSWORD_CHECKS._value.get()
        failed = LOGINS.labels("failed")._value.get()
        # When each tries to log in
        res = await client.post(TOKEN, data={"username": user, "password": pw})
        answers.append((res.status_code, res.json(), res.headers.get("WWW-Authenticate")))
        # Then one argon2 verification ran, and the public counter says only "failed"
        assert PASSWORD_CHECKS._value.get() == checks + 1, user
        assert LOGINS.labels("failed")._value.get() == failed + 1
    # And all three answers are the same
    assert answers[0][0] == 401
    assert answers[0][1]["error"] == "wrong e-mail or password"
    assert answers.count(answers[0]) == 3, answers


async def test_many_failures_from_one_address_slow_that_address(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given one address that failed to log in 21 times, each time naming another e-mail
    account = await make_account(sessions, now=clock.now())
    for n in range(21):
        res = await client.post(TOKEN, data={"username": f"x{n}@example.com", "password": "p"})
        assert res.status_code == 401
    # When it then tries a real account, it waits
    res = await client.post(TOKEN, data={"username": account.email, "password": PASSWORD})
    assert res.status_code == 429
    # Then after the delay it gets in
    clock.advance(timedelta(seconds=1))
    await login(client, account.email)


def test_the_delay_doubles_up_to_its_ceiling() -> None:
    from aiqleads.auth.service import login_delay_seconds

    delays = [login_delay_seconds(n, free=5, base=1.0, ceiling=60.0) for n in range(1, 14)]
    assert delays == [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60]
    assert login_delay_seconds(10**6, free=5, base=1.0, ceiling=60.0) == 60


async def test_a_success_forgets_the_failures(
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


async def test_deactivation_revokes_refresh_tokens_for_good(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given an agent signed in, with a refresh token
    admin = await make_account(sessions, now=clock.now(), role=Role.ADMIN, tier=Tier.ENTERPRISE)
    agent = await make_account(sessions, now=clock.now())
    pair = (await client.post(TOKEN, data={"username": agent.email, "password": PASSWORD})).json()
    admin_headers = await login(client, admin.email)
    url = f"/api/v1/admin/accounts/{agent.public_id}"
    # When an admin deactivates the account, then reactivates it
    assert (await client.patch(url, json={"is_active": False}, headers=admin_headers)).is_success
    assert (await client.patch(url, json={"is_active": True}, headers=admin_headers)).is_success
    # Then the refresh token and the access token issued before stay dead
    res = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert res.status_code == 401
    old = {"Authorization": f"Bearer {pair['access_token']}"}
    assert (await client.get("/api/v1/auth/me", headers=old)).status_code == 401
    # And a new login works
    assert (
        await client.get("/api/v1/auth/me", headers=await login(client, agent.email))
    ).is_success


async def test_a_refresh_replay_ends_the_family_s_access_tokens(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given a token pair rotated once
    account = await make_account(sessions, now=clock.now())
    first = (
        await client.post(TOKEN, data={"username": account.email, "password": PASSWORD})
    ).json()
    second = (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    ).json()
    newest = {"Authorization": f"Bearer {second['access_token']}"}
    assert (await client.get("/api/v1/auth/me", headers=newest)).status_code == 200
    # When the used refresh token is replayed
    res = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert res.status_code == 401
    # Then the newest access token no longer works either, before it expires
    res = await client.get("/api/v1/auth/me", headers=newest)
    assert res.status_code == 401
    assert "revoked" in res.json()["error"]


async def test_guessable_passwords_are_refused_with_a_reason(client: httpx.AsyncClient) -> None:
    # Given passwords long enough but common, or made of the e-mail
    for email, password in (
        ("weak@example.com", "password1234"),
        ("weak@example.com", "qwertyuiop"),
        ("jane.smithers@example.com", "janesmithers"),
    ):
        # When registering with them
        res = await client.post(
            "/api/v1/auth/register", json={"email": email, "password": password}
        )
        # Then the answer is a 422 on the password, saying why
        assert res.status_code == 422, (password, res.text)
        detail = res.json()["detail"][0]
        assert detail["field"] == "password"
        assert "guess" in detail["reason"], detail


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
