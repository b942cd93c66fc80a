"""Webhook endpoints through the API: enterprise accounts only; https (http only to loopback,
outside production); the secret shown once; each account sees only its own."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Environment, Settings
from aiqleads.errors import InvalidInput
from aiqleads.kit.clock import FrozenClock
from aiqleads.models.enums import Tier
from aiqleads.webhooks.service import check_url
from tests.factories import agent

HOOKS = "/api/v1/webhooks"


async def _create(
    client: httpx.AsyncClient, headers: dict[str, str], **body: Any
) -> httpx.Response:
    body.setdefault("event_types", ["purchase.confirmed"])
    return await client.post(HOOKS, json=body, headers=headers)


async def test_an_enterprise_account_registers_lists_and_deletes_webhooks(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given an enterprise agent
    _, headers = await agent(client, sessions, clock, Tier.ENTERPRISE)
    # When it registers an https URL for two event types
    res = await _create(
        client,
        headers,
        url="https://crm.example.com/hooks/aiq",
        event_types=["hold.expiring", "purchase.confirmed", "hold.expiring"],
    )
    # Then it gets the webhook with its secret, once
    assert res.status_code == 201, res.text
    created = res.json()
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert created["event_types"] == ["hold.expiring", "purchase.confirmed"]
    listed = (await client.get(HOOKS, headers=headers)).json()
    assert listed["next_cursor"] is None
    assert [{**w, "secret": None} for w in listed["items"]] == [{**created, "secret": None}]
    assert "secret" not in listed["items"][0]
    # And no deliveries yet
    res = await client.get(f"{HOOKS}/{created['id']}/deliveries", headers=headers)
    assert res.json() == {"items": [], "next_cursor": None}
    # When it deletes it, it is gone
    assert (await client.delete(f"{HOOKS}/{created['id']}", headers=headers)).status_code == 204
    assert (await client.get(HOOKS, headers=headers)).json()["items"] == []
    assert (await client.delete(f"{HOOKS}/{created['id']}", headers=headers)).status_code == 404


@pytest.mark.parametrize("tier", [Tier.BASIC, Tier.PRO])
async def test_other_tiers_may_not_have_webhooks(
    tier: Tier,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    _, headers = await agent(client, sessions, clock, tier)
    res = await _create(client, headers, url="https://crm.example.com/hooks")
    assert res.status_code == 403
    assert res.json()["code"] == "forbidden"
    assert (await client.get(HOOKS, headers=headers)).status_code == 403


async def test_an_account_sees_and_deletes_only_its_own_webhooks(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    _, mine = await agent(client, sessions, clock, Tier.ENTERPRISE)
    _, theirs = await agent(client, sessions, clock, Tier.ENTERPRISE)
    created = (await _create(client, mine, url="https://a.example.com/h")).json()
    assert (await client.get(HOOKS, headers=theirs)).json()["items"] == []
    for res in (
        await client.get(f"{HOOKS}/{created['id']}/deliveries", headers=theirs),
        await client.delete(f"{HOOKS}/{created['id']}", headers=theirs),
    ):
        assert res.status_code == 404


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://crm.example.com/hooks", "must use https"),
        ("ftp://crm.example.com/hooks", "absolute https"),
        ("crm.example.com/hooks", "absolute https"),
        ("https://user:pw@crm.example.com/hooks", "credentials"),
        ("https://crm.example.com:99999/hooks", "not a valid URL"),
        ("http://10.0.0.5/hooks", "must use https"),
    ],
)
async def test_a_url_deliveries_may_not_go_to_is_refused_naming_the_field(
    url: str,
    reason: str,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    _, headers = await agent(client, sessions, clock, Tier.ENTERPRISE)
    res = await _create(client, headers, url=url)
    assert res.status_code == 422, res.text
    body = res.json()
    assert body["detail"][0]["field"] == "url"
    assert reason in body["detail"][0]["reason"]


async def test_event_types_are_checked(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    _, headers = await agent(client, sessions, clock, Tier.ENTERPRISE)
    for event_types in (["lead.stolen"], []):
        res = await _create(client, headers, url="https://a.example.com/h", event_types=event_types)
        assert res.status_code == 422
        assert res.json()["detail"][0]["field"] == "event_types" or res.json()["detail"][0][
            "field"
        ].startswith("event_types.")


async def test_http_to_loopback_is_allowed_in_tests_only(settings: Settings) -> None:
    # Given the test settings, http to a loopback address is allowed
    assert check_url("http://127.0.0.1:8080/h", settings) == "http://127.0.0.1:8080/h"
    assert check_url("http://localhost/h", settings) == "http://localhost/h"
    # But in production it is not, nor is any address that is not public
    production = settings.model_copy(update={"env": Environment.PRODUCTION})
    for url in (
        "http://127.0.0.1:8080/h",
        "https://127.0.0.1/h",
        "https://10.1.2.3/h",
        "https://169.254.169.254/latest",
        "https://[::1]/h",
    ):
        with pytest.raises(InvalidInput) as refused:
            check_url(url, production)
        assert refused.value.detail[0]["field"] == "url"
    assert check_url("https://crm.example.com/h", production) == "https://crm.example.com/h"
