"""ZIP penetration in one grouped scan (agents: by preview place; admins: by stored ZCTA)
agrees with the per-lead queries."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.geo.boundaries import load_zip_regions, zip_codes_for_points
from aiqleads.geo.penetration import penetration_from_counts
from aiqleads.geo.repository.penetration import (
    status_groups_by_zcta,
    status_groups_by_zip_or_place,
)
from aiqleads.geo.service.penetration_answer import _placed_keys, _zcta_keys
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.leads.filters import Area, LeadFilter
from aiqleads.leads.status import OFFERED
from aiqleads.leads.visibility import Viewer
from aiqleads.metros import get_metro
from aiqleads.models.enums import Tier
from tests.factories import make_account, record_purchase
from tests.geo.leads_data import king_county_rows, load
from tests.geo.zip_oracle import (
    per_lead_penetration,
    status_groups_by_zip,
    status_points_without_zip,
)


async def test_grouped_by_place_matches_the_per_lead_queries(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given leads across King County: a third carry their true ZIP, some a ZIP outside the
    # metro's, the rest none; some held, some published inside the viewer's window, some sold
    # to the viewer and some to another buyer
    now = clock.now()
    rng = random.Random(5)
    rows = king_county_rows(settings, cipher, now=now, every=40)
    true_zips = zip_codes_for_points(
        "seattle", [r["latitude"] for r in rows], [r["longitude"] for r in rows]
    )
    fresh = now - timedelta(minutes=5)
    for r, z in zip(rows, true_zips, strict=True):
        pick = rng.random()
        r["zip_code"] = z if pick < 0.35 else "99999" if pick < 0.45 else None
        if rng.random() < 0.1:
            r["status"] = "held"
        if rng.random() < 0.05:
            r.update(published_at=fresh, first_seen_at=fresh, updated_at=fresh)
    await load(sessions, rows)
    me = await make_account(sessions, now=now)
    other = await make_account(sessions, now=now)
    for r in rows[::30]:
        await record_purchase(sessions, lead_public_id=r["public_id"], account=me, now=now)
    for r in rows[7::25]:
        await record_purchase(sessions, lead_public_id=r["public_id"], account=other, now=now)
    viewer = Viewer(me.id, False, Tier.BASIC, now - timedelta(hours=1), 0, now)
    filt = LeadFilter(area=Area(metro=get_metro("seattle")))
    regions = load_zip_regions("seattle")

    # When the agent's ZIP groups are read both ways
    async with sessions() as s:
        placed = await status_groups_by_zip_or_place(s, viewer, filt, OFFERED, zips=regions.zips)
        by_zip = await status_groups_by_zip(s, viewer, filt, OFFERED, zips=regions.zips)
        pts = await status_points_without_zip(s, viewer, filt, OFFERED, zips=regions.zips)

    # Then the grouped scan has far fewer rows than leads, and the regions' numbers agree
    assert 0 < len(placed.zips) < len(rows)
    grouped = penetration_from_counts(
        _placed_keys(regions, placed), placed.statuses, placed.mine, placed.count
    )
    per_lead = per_lead_penetration(regions, by_zip, pts)
    assert grouped == per_lead
    assert sum(r.bought_by_agent for r in grouped) > 0
    assert sum(r.sold for r in grouped) > sum(r.bought_by_agent for r in grouped)


async def test_admins_zcta_groups_match_the_per_lead_queries(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given leads across King County: a third carry their true ZIP, some a ZIP outside the
    # metro's, some a metro ZIP that is not their point's, the rest none; some held, some
    # withdrawn; some sold to the admin's account and some to another buyer
    now = clock.now()
    rng = random.Random(9)
    rows = king_county_rows(settings, cipher, now=now, every=40)
    true_zips = zip_codes_for_points(
        "seattle", [r["latitude"] for r in rows], [r["longitude"] for r in rows]
    )
    for r, z in zip(rows, true_zips, strict=True):
        pick = rng.random()
        r["zip_code"] = (
            z if pick < 0.35 else "99999" if pick < 0.45 else "98101" if pick < 0.5 else None
        )
        if rng.random() < 0.1:
            r["status"] = "held"
        elif rng.random() < 0.05:
            r["status"] = "withdrawn"
    await load(sessions, rows)
    admin = await make_account(sessions, now=now)
    other = await make_account(sessions, now=now)
    for r in rows[::30]:
        await record_purchase(sessions, lead_public_id=r["public_id"], account=admin, now=now)
    for r in rows[7::25]:
        await record_purchase(sessions, lead_public_id=r["public_id"], account=other, now=now)
    viewer = Viewer(admin.id, True, Tier.ENTERPRISE, None, 0, now)
    regions = load_zip_regions("seattle")
    filters = [
        LeadFilter(area=Area(metro=get_metro("seattle"))),
        LeadFilter(area=Area(metro=get_metro("seattle")), price_max_cents=60_000_000),
    ]
    for filt in filters:
        # When an admin's ZIP groups are read from the stored ZCTAs and per lead
        async with sessions() as s:
            g = await status_groups_by_zcta(s, viewer, filt, OFFERED, zips=regions.zips)
            by_zip = await status_groups_by_zip(s, viewer, filt, OFFERED, zips=regions.zips)
            pts = await status_points_without_zip(s, viewer, filt, OFFERED, zips=regions.zips)
        # Then the regions' numbers are the same
        grouped = penetration_from_counts(_zcta_keys(regions, g), g.statuses, g.mine, g.count)
        assert grouped == per_lead_penetration(regions, by_zip, pts)
        assert len(grouped) > 20
        assert sum(r.bought_by_agent for r in grouped) > 0


async def test_the_zcta_scan_refuses_agents(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given an agent, who sees preview cells, not exact points
    now = clock.now()
    agent = Viewer(1, False, Tier.ENTERPRISE, now, 0, now)
    filt = LeadFilter(area=Area(metro=get_metro("seattle")))
    # When the ZCTA scan is asked for the agent, then it refuses
    async with sessions() as s:
        with pytest.raises(ValueError, match="exact"):
            await status_groups_by_zcta(s, agent, filt, OFFERED, zips=["98101"])
