"""The stored ZCTA (migration 0040) is of the exact point, so no agent answer may depend on it:
moving a lead's exact point across a ZCTA border inside its preview cell changes no agent's
map answer, and changes the admin's ZIP penetration. (The disclosure world's target cell lies
inside one ZCTA, so `test_invariance` cannot see this move.)"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.kit.h3cells import cells_for
from aiqleads.models import Lead
from aiqleads.models.enums import Tier
from tests.factories import admin, agent, insert_leads, lead_row, record_purchase
from tests.geo.api_helpers import GEO

# Two points of one preview cell (8828d542cdfffff), in ZCTAs 98101 and 98104.
NORTH = (47.61074, -122.32616)
SOUTH = (47.60768, -122.32790)
OTHERS = [(47.6096, -122.3238), (47.6090, -122.3250), (47.6100, -122.3245), (47.6085, -122.3262)]
QUESTIONS: list[tuple[str, dict[str, Any]]] = [
    ("penetration", {"metro": "seattle", "level": "zip", "metric": "market"}),
    ("penetration", {"metro": "seattle", "level": "zip", "metric": "agent", "kind": "for_sale"}),
    ("penetration", {"bbox": "-122.34,47.60,-122.31,47.62", "level": "zip"}),
    ("penetration", {"metro": "seattle", "level": "h3", "resolution": 8}),
    ("heatmap", {"metro": "seattle"}),
    ("competitors", {"metro": "seattle", "lat": NORTH[0], "lon": NORTH[1], "radius_m": 2000}),
]


async def _answers(client: httpx.AsyncClient, headers: dict[str, str]) -> list[bytes]:
    out = []
    for endpoint, params in QUESTIONS:
        res = await client.get(f"{GEO}/{endpoint}", params=params, headers=headers)
        assert res.status_code == 200, (endpoint, params, res.text)
        out.append(res.content)
    return out


async def _admin_zip(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, int]:
    params = {"metro": "seattle", "level": "zip", "metric": "market"}
    res = await client.get(f"{GEO}/penetration", params=params, headers=headers)
    assert res.status_code == 200, res.text
    return {f["properties"]["region"]: f["properties"]["offered"] for f in res.json()["features"]}


async def test_moving_a_point_across_a_zcta_border_inside_its_cell_changes_no_agent_answer(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given leads without a ZIP in one preview cell (placed in a ZIP region by point), one of
    # them, the target, on the 98101 side of the cell's border with 98104, and a sale
    assert cells_for(*NORTH)[1] == cells_for(*SOUTH)[1]
    now = clock.now()

    def at(p: tuple[float, float], **kw: Any) -> dict[str, Any]:
        return lead_row(settings, cipher, now=now, latitude=p[0], longitude=p[1], **kw)

    target = at(NORTH, zip_code=None, listing_office="Solo Realty")
    rows = [target, *(at(p, zip_code=None) for p in OTHERS * 2), at(SOUTH, zip_code=None)]
    await insert_leads(sessions, rows)
    me, headers = await agent(client, sessions, clock, tier=Tier.ENTERPRISE)
    await record_purchase(sessions, lead_public_id=rows[3]["public_id"], account=me, now=now)
    _, basic = await agent(client, sessions, clock, tier=Tier.BASIC)
    admins = await admin(client, sessions, clock)
    before = {"enterprise": await _answers(client, headers), "basic": await _answers(client, basic)}
    admin_before = await _admin_zip(client, admins)

    # When its source moves the target across the border, inside its preview cell
    moved = {k: v for k, v in target.items() if k != "public_id"}
    moved.update(latitude=SOUTH[0], longitude=SOUTH[1])
    await insert_leads(sessions, [moved], now=now)
    async with sessions() as s:
        zcta = await s.scalar(select(Lead.zcta).where(Lead.public_id == target["public_id"]))
    assert zcta == "98104"

    # Then every agent's answer is byte-identical
    assert await _answers(client, headers) == before["enterprise"]
    assert await _answers(client, basic) == before["basic"]
    # And the admin's ZIP penetration moved one lead from 98101 to 98104
    admin_after = await _admin_zip(client, admins)
    assert admin_after.get("98101", 0) == admin_before["98101"] - 1
    assert admin_after["98104"] == admin_before.get("98104", 0) + 1
