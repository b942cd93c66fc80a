"""GET /api/v1/geo/penetration against a hand count on a small fixture."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.geo.boundaries import zip_codes_for_points
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.kit.h3cells import cell_hex, cells_for
from aiqleads.models.enums import Tier
from tests.factories import insert_leads, lead_row, make_account, record_purchase
from tests.geo.api_helpers import agent, client_with, geo

A = (47.6101, -122.3331)  # downtown Seattle
B = (47.6690, -122.3840)  # Ballard


async def _fixture(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> dict[str, str]:
    """At A: available, sold to me, sold to another, and one published 5 minutes ago (inside
    the basic tier's window). At B: available, held, new (not offered), sold to another."""
    now = clock.now()

    # A's leads carry their ZIP (grouped by it); B's carry none (placed by point in polygon).
    zips = {A: zip_codes_for_points("seattle", [A[0]], [A[1]])[0], B: None}

    def at(p: tuple[float, float], status: str, **kw: Any) -> dict[str, Any]:
        return lead_row(
            settings,
            cipher,
            now=now,
            latitude=p[0],
            longitude=p[1],
            status=status,
            zip_code=zips[p],
            **kw,
        )

    fresh = now - timedelta(minutes=5)
    rows = [
        at(A, "available"),
        at(A, "available"),
        at(A, "available"),
        at(A, "available", published_at=fresh, first_seen_at=fresh, updated_at=fresh),
        at(B, "available"),
        at(B, "held"),
        at(B, "new"),
        at(B, "available"),
    ]
    await insert_leads(sessions, rows)
    me, headers = await agent(client, sessions, clock, tier=Tier.BASIC)
    other = await make_account(sessions, now=now)
    await record_purchase(sessions, lead_public_id=rows[1]["public_id"], account=me, now=now)
    for r in (rows[2], rows[7]):
        await record_purchase(sessions, lead_public_id=r["public_id"], account=other, now=now)
    return headers


EXPECTED = {
    "A": {"offered": 3, "available_now": 1, "sold": 2, "bought_by_agent": 1},
    "B": {"offered": 3, "available_now": 2, "sold": 1, "bought_by_agent": 0},
}


@pytest.mark.parametrize("level", ["zip", "h3"])
async def test_penetration_matches_a_hand_count(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
    level: str,
) -> None:
    headers = await _fixture(client, sessions, clock, settings, cipher)
    params = {"metro": "seattle", "level": level, "metric": "agent"}

    # With the default group size (5), regions of 3 offered leads are withheld from an agent
    withheld = await geo(client, "penetration", headers, **params)
    assert withheld["features"] == []
    assert (withheld["withheld_regions"], withheld["withheld_leads"]) == (2, 6)
    # With groups of 3 allowed, the agent sees the hand count
    async with client_with(settings, clock, disclosure_min_leads=3) as small_groups:
        body = await geo(small_groups, "penetration", headers, **params)

    if level == "zip":
        keys = dict(
            zip("AB", zip_codes_for_points("seattle", [A[0], B[0]], [A[1], B[1]]), strict=True)
        )
    else:
        keys = {"A": cell_hex(cells_for(*A)[1]), "B": cell_hex(cells_for(*B)[1])}
    assert keys["A"] != keys["B"] and None not in keys.values()
    regions = {f["properties"]["region"]: f["properties"] for f in body["features"]}
    assert set(regions) == set(keys.values())
    for name, want in EXPECTED.items():
        got = regions[keys[name]]
        assert {k: got[k] for k in want} == want
        assert got["agent_penetration"] == pytest.approx(want["bought_by_agent"] / want["offered"])
        assert got["market_penetration"] == pytest.approx(want["sold"] / want["offered"])
    assert regions[keys["A"]]["class"] > regions[keys["B"]]["class"]
    assert body["legend"]["count"] == 2 and body["metric"] == "agent"


async def test_an_agents_whole_metro_h3_map_counts_what_a_filtered_map_counts(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given the fixture (every lead for sale), with groups of 3 allowed
    headers = await _fixture(client, sessions, clock, settings, cipher)
    params = {"metro": "seattle", "level": "h3", "metric": "agent"}
    async with client_with(settings, clock, disclosure_min_leads=3) as small_groups:
        # When the agent asks for the whole metro (one query: the cells' leads are the metro's)
        # and for a filter every lead matches (cells chosen first, then counted whole)
        whole = await geo(small_groups, "penetration", headers, **params)
        filtered = await geo(small_groups, "penetration", headers, **params, kind="for_sale")

    # Then both count the same regions the same way
    assert len(whole["features"]) == 2
    assert whole == filtered


async def test_dallas_has_no_zip_polygons(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    _, headers = await agent(client, sessions, clock)
    res = await client.get(
        "/api/v1/geo/penetration", params={"metro": "dallas", "level": "zip"}, headers=headers
    )
    assert res.status_code == 422
    assert res.json()["detail"] == [
        {
            "field": "level",
            "reason": "no ZIP (ZCTA) polygons are available for dallas; use level=h3",
        }
    ]
    ok = await client.get(
        "/api/v1/geo/penetration", params={"metro": "dallas", "level": "h3"}, headers=headers
    )
    assert ok.status_code == 200
