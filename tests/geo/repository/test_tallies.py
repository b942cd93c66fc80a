"""The precomputed tallies (migrations 0035, 0040) always equal a recount of the leads, and the
groups penetration reads from them are the ones the scans of the leads return."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.geo.boundaries import load_zip_regions, zip_codes_for_points
from aiqleads.geo.penetration import penetration_from_counts
from aiqleads.geo.repository.competitors import (
    CompetitorPoints,
    competitor_points,
)
from aiqleads.geo.repository.competitors import (
    office_tallies as scanned_offices,
)
from aiqleads.geo.repository.penetration import (
    StatusGroups,
    status_groups_by_cell,
    status_groups_by_zcta,
    status_groups_by_zip_or_place,
)
from aiqleads.geo.repository.tallies import (
    compact,
    compact_offices,
    office_tallies,
    tallied_competitor_points,
    tallied_groups_by_cell,
    tallied_groups_by_zcta,
    tallied_groups_by_zip_or_place,
    tallied_offices,
    tallies,
)
from aiqleads.geo.service.penetration_answer import _placed_keys, _zcta_keys
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.leads import writes
from aiqleads.leads.filters import Area, BBox, LeadFilter
from aiqleads.leads.status import OFFERED
from aiqleads.leads.visibility import Viewer
from aiqleads.metros import get_metro
from aiqleads.models import Lead
from aiqleads.models.enums import LeadStatus, Tier
from tests.factories import insert_leads, lead_row, make_account, record_purchase
from tests.geo.leads_data import king_county_rows, load
from tests.geo.zip_oracle import (
    per_lead_penetration,
    status_groups_by_zip,
    status_points_without_zip,
)

_RECOUNT = """
SELECT COALESCE(l.metro, ''), COALESCE(l.zip_code, ''), COALESCE(l.h3_r8, -1),
       COALESCE(l.preview_latitude, 1000.0), COALESCE(l.preview_longitude, 1000.0),
       CASE WHEN l.status = 'held' THEN 'available' ELSE l.status END, COALESCE(l.zcta, ''),
       p.lead_id IS NOT NULL, (l.listing_agent IS NOT NULL OR l.listing_office IS NOT NULL),
       count(*)
FROM leads l LEFT JOIN purchases p ON p.lead_id = l.id
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
"""


async def _tallied(sessions: async_sessionmaker[AsyncSession]) -> Counter[tuple[Any, ...]]:
    t = tallies.c
    key = [t.metro, t.zip_code, t.h3_r8, t.preview_latitude, t.preview_longitude, t.status]
    key += [t.zcta, t.bought, t.listed]
    async with sessions() as s:
        rows = (await s.execute(select(*key, func.sum(t.leads)).group_by(*key))).all()
    return Counter({_norm(r[:-1]): int(r[-1]) for r in rows if int(r[-1]) != 0})


async def _recounted(sessions: async_sessionmaker[AsyncSession]) -> Counter[tuple[Any, ...]]:
    async with sessions() as s:
        rows = (await s.execute(text(_RECOUNT))).all()
    return Counter({_norm(r[:-1]): int(r[-1]) for r in rows})


def _norm(key: tuple[Any, ...]) -> tuple[Any, ...]:
    metro, zip_code, cell, lat, lon, status, zcta, bought, listed = key
    return (
        metro, zip_code, int(cell), float(lat), float(lon), status, zcta, bool(bought),
        bool(listed),
    )  # fmt: skip


_OFFICE_RECOUNT = """
SELECT l.h3_r7, COALESCE(l.listing_office, l.listing_agent),
       CASE WHEN l.status = 'held' THEN 'available' ELSE l.status END, count(*)
FROM leads l
WHERE l.h3_r7 IS NOT NULL AND (l.listing_office IS NOT NULL OR l.listing_agent IS NOT NULL)
GROUP BY 1, 2, 3
"""


async def _offices_agree(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The office tallies (migration 0039) equal a recount of the leads."""
    t = office_tallies.c
    key = [t.h3_r7, t.office, t.status]
    async with sessions() as s:
        summed = (await s.execute(select(*key, func.sum(t.leads)).group_by(*key))).all()
        recount = (await s.execute(text(_OFFICE_RECOUNT))).all()
    tallied = Counter({(int(r[0]), r[1], r[2]): int(r[3]) for r in summed if int(r[3]) != 0})
    assert tallied == Counter({(int(r[0]), r[1], r[2]): int(r[3]) for r in recount})


async def _agree(sessions: async_sessionmaker[AsyncSession]) -> None:
    tallied, recounted = await _tallied(sessions), await _recounted(sessions)
    assert tallied == recounted
    assert sum(tallied.values()) > 0
    await _offices_agree(sessions)


async def _lead_id(sessions: async_sessionmaker[AsyncSession], row: dict[str, Any]) -> int:
    async with sessions() as s:
        found = await s.scalar(select(Lead.id).where(Lead.public_id == row["public_id"]))
    assert found is not None
    return found


async def test_tallies_equal_a_recount_through_a_leads_life(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given leads ingested through the write path: some held, some without a ZIP, one unlocated
    now = clock.now()
    rows = [lead_row(settings, cipher, now=now) for _ in range(12)]
    rows[1]["status"] = "held"
    rows[2]["zip_code"] = None
    rows[3]["listing_office"] = "Windermere"
    rows[9]["listing_agent"] = "Ann Agent"
    rows[10]["listing_agent"] = "Ann Agent"
    rows[10]["listing_office"] = "Compass"
    rows.append(
        lead_row(settings, cipher, now=now, latitude=None, longitude=None, listing_office="Redfin")
    )
    await insert_leads(sessions, rows)
    await _agree(sessions)
    me = await make_account(sessions, now=now)
    other = await make_account(sessions, now=now)
    ids = [await _lead_id(sessions, r) for r in rows]

    # When a lead is held, its hold released, another held and left to lapse and swept
    async with transaction(sessions) as s:
        until = now + timedelta(minutes=15)
        assert await writes.take_hold(
            s, ids[4], account_id=me.id, until=until, now=now, visible_before=None
        )
    await _agree(sessions)
    async with transaction(sessions) as s:
        assert await writes.release_hold(s, ids[4], account_id=me.id, now=now, cause="test")
        assert await writes.take_hold(
            s, ids[5], account_id=me.id, until=until, now=now, visible_before=None
        )
    async with transaction(sessions) as s:
        assert ids[5] in await writes.expire_holds(s, now=now + timedelta(hours=1))
    # Then the tallies still equal a recount
    await _agree(sessions)

    # When leads are sold (one while held), one of them returned, and one listing expires
    await record_purchase(sessions, lead_public_id=rows[0]["public_id"], account=me, now=now)
    await record_purchase(sessions, lead_public_id=rows[1]["public_id"], account=other, now=now)
    await record_purchase(sessions, lead_public_id=rows[6]["public_id"], account=me, now=now)
    await record_purchase(sessions, lead_public_id=rows[3]["public_id"], account=other, now=now)
    await _agree(sessions)
    async with transaction(sessions) as s:
        returned = await writes.set_status(
            s, [ids[6]], LeadStatus.RETURNED, now=now, cause="test", only_from=[LeadStatus.SOLD]
        )
        assert returned == [ids[6]]
        expired = await writes.set_status(
            s, [ids[7]], LeadStatus.EXPIRED, now=now, cause="test",
            only_from=[LeadStatus.AVAILABLE],
        )  # fmt: skip
        assert expired == [ids[7]]
    await _agree(sessions)

    # When a source reports a lead again at another place (another ZCTA) and ZIP, and with a
    # listing office
    moved = {**rows[8], "latitude": 47.66, "longitude": -122.38, "zip_code": "98107"}
    moved["listing_office"] = "Redfin"
    moved.pop("public_id")
    async with sessions() as s:
        zcta_before = await s.scalar(select(Lead.zcta).where(Lead.id == ids[8]))
    async with transaction(sessions) as s:
        await writes.upsert(s, [moved], now=now + timedelta(minutes=1), cause="test")
    async with sessions() as s:
        assert (zcta_before, await s.scalar(select(Lead.zcta).where(Lead.id == ids[8]))) == (
            zip_codes_for_points("seattle", [rows[8]["latitude"]], [rows[8]["longitude"]])[0],
            "98107",
        )
    # Then the tallies still equal a recount
    await _agree(sessions)
    # When a lead's ZCTA alone changes (as re-deriving them after a ZIP file changed does)
    async with transaction(sessions) as s:
        await s.execute(update(Lead).where(Lead.id == ids[8]).values(zcta="98117"))
    # Then the tallies follow the ZCTA too
    await _agree(sessions)

    # When a listing's office changes and another listing is deleted
    async with transaction(sessions) as s:
        await s.execute(update(Lead).where(Lead.id == ids[9]).values(listing_office="eXp"))
        await s.execute(text("DELETE FROM leads WHERE id = :id"), {"id": ids[10]})
    # Then the office tallies still equal a recount
    await _agree(sessions)


async def test_compaction_keeps_the_sums_and_a_killed_one_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given leads whose holds and sales left many delta rows
    now = clock.now()
    rows = [lead_row(settings, cipher, now=now, listing_office="Redfin") for _ in range(20)]
    await insert_leads(sessions, rows)
    me = await make_account(sessions, now=now)
    for r in rows[:8]:
        await record_purchase(sessions, lead_public_id=r["public_id"], account=me, now=now)
    async with sessions() as s:
        before_rows = await s.scalar(select(func.count()).select_from(tallies))
        before_offices = await s.scalar(select(func.count()).select_from(office_tallies))

    # When a compaction dies before its transaction commits
    with pytest.raises(RuntimeError):
        async with transaction(sessions) as s:
            await compact(s, "seattle")
            await compact_offices(s)
            raise RuntimeError("worker killed")
    # Then nothing changed
    await _agree(sessions)

    # When one runs to the end
    async with transaction(sessions) as s:
        left = await compact(s, "seattle")
        offices_left = await compact_offices(s)
    # Then there are fewer rows, one per key, with the same sums, and a second run is a no-op
    assert before_rows is not None and left < before_rows
    assert before_offices is not None and offices_left < before_offices
    await _agree(sessions)
    async with transaction(sessions) as s:
        assert await compact(s, "seattle") == left
        assert await compact_offices(s) == offices_left
    await _agree(sessions)


def _merged(g: StatusGroups) -> Counter[tuple[Any, str, bool]]:
    """Groups with held counted as available (as every penetration figure counts them)."""
    out: Counter[tuple[Any, str, bool]] = Counter()
    for key, status, mine, n in zip(
        g.keys, g.statuses, g.mine.tolist(), g.count.tolist(), strict=True
    ):
        out[(key, "available" if status == "held" else status, mine)] += n
    return out


async def test_tallied_groups_give_the_scans_penetration(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given leads across King County: a third with their true ZIP, some with a ZIP outside the
    # metro's, the rest none; some held, some withdrawn, some inside the viewer's window or
    # published later; some sold to the viewer, some to another buyer, one sale then returned,
    # and a listing the source reports closed
    now = clock.now()
    rng = random.Random(11)
    rows = king_county_rows(settings, cipher, now=now, every=60)
    true_zips = zip_codes_for_points(
        "seattle", [r["latitude"] for r in rows], [r["longitude"] for r in rows]
    )
    fresh = now - timedelta(minutes=5)
    for r, z in zip(rows, true_zips, strict=True):
        pick = rng.random()
        r["zip_code"] = z if pick < 0.35 else "99999" if pick < 0.45 else None
        if rng.random() < 0.1:
            r["status"] = "held"
        elif rng.random() < 0.03:
            r["status"] = "withdrawn"
        elif rng.random() < 0.03:
            r["status"] = "sold"  # closed at the source, bought by nobody here
        if rng.random() < 0.05:
            r.update(published_at=fresh, first_seen_at=fresh, updated_at=fresh)
    await load(sessions, rows)
    me = await make_account(sessions, now=now)
    other = await make_account(sessions, now=now)
    available = [r for r in rows if r.get("status", "available") == "available"]
    for r in available[::30]:
        await record_purchase(sessions, lead_public_id=r["public_id"], account=me, now=now)
    for r in available[7::25]:
        await record_purchase(sessions, lead_public_id=r["public_id"], account=other, now=now)
    async with transaction(sessions) as s:
        later = await _lead_id(sessions, available[3])
        soon = now + timedelta(minutes=5)
        await s.execute(update(Lead).where(Lead.id == later).values(published_at=soon))
    regions = load_zip_regions("seattle")
    filt = LeadFilter(area=Area(metro=get_metro("seattle")))
    viewers = [
        Viewer(me.id, False, Tier.BASIC, now - timedelta(minutes=30), 0, now),
        Viewer(me.id, False, Tier.ENTERPRISE, now, 0, now),
        Viewer(other.id, True, Tier.ENTERPRISE, None, 0, now),
    ]
    for viewer in viewers:
        # When the groups are read from the tallies and by scanning the leads
        async with sessions() as s:
            by_cell = await status_groups_by_cell(s, viewer, filt, OFFERED, res=8)
            tallied_cells = await tallied_groups_by_cell(s, viewer, "seattle")
        # Then they agree, held counted with available, and so do the regions' numbers
        assert _merged(tallied_cells) == _merged(by_cell)
        assert penetration_from_counts(
            tallied_cells.keys, tallied_cells.statuses, tallied_cells.mine, tallied_cells.count
        ) == penetration_from_counts(by_cell.keys, by_cell.statuses, by_cell.mine, by_cell.count)
        if viewer.exact:
            # An admin's ZIP regions come from exact points: the stored ZCTAs, tallied and
            # scanned, and the per-lead oracle (ZIP, else point in polygon) agree
            async with sessions() as s:
                tallied_zcta = await tallied_groups_by_zcta(s, viewer, "seattle")
                scanned_zcta = await status_groups_by_zcta(
                    s, viewer, filt, OFFERED, zips=regions.zips
                )
                by_zip = await status_groups_by_zip(s, viewer, filt, OFFERED, zips=regions.zips)
                pts = await status_points_without_zip(s, viewer, filt, OFFERED, zips=regions.zips)
            oracle = per_lead_penetration(regions, by_zip, pts)
            for g in (tallied_zcta, scanned_zcta):
                got = penetration_from_counts(_zcta_keys(regions, g), g.statuses, g.mine, g.count)
                assert got == oracle
            assert len(oracle) > 20 and any(r.sold > 0 for r in oracle)
            with pytest.raises(ValueError, match="exact"):
                async with sessions() as s:
                    await tallied_groups_by_zcta(s, viewers[0], "seattle")
            continue
        async with sessions() as s:
            placed = await status_groups_by_zip_or_place(
                s, viewer, filt, OFFERED, zips=regions.zips
            )
            tallied_placed = await tallied_groups_by_zip_or_place(
                s, viewer, "seattle", zips=regions.zips
            )
        scanned = penetration_from_counts(
            _placed_keys(regions, placed), placed.statuses, placed.mine, placed.count
        )
        tallied = penetration_from_counts(
            _placed_keys(regions, tallied_placed),
            tallied_placed.statuses,
            tallied_placed.mine,
            tallied_placed.count,
        )
        assert tallied == scanned
        assert sum(r.bought_by_agent for r in scanned) > 0
        assert any(r.sold > r.bought_by_agent for r in scanned)


def _places(p: CompetitorPoints) -> list[tuple[float, float, int]]:
    """Every competitor's (lat, lon, cell), each place repeated by its count."""
    places = zip(p.lat.tolist(), p.lon.tolist(), p.cells.tolist(), p.count.tolist(), strict=True)
    return sorted((la, lo, c) for la, lo, c, n in places for _ in range(n))


async def test_tallied_competitors_are_the_scans(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given leads across King County: a fifth naming a listing office, some held or withdrawn,
    # some inside the viewer's window; some bought by the viewer, some by another buyer, one of
    # those then returned (still another buyer's purchase)
    now = clock.now()
    rng = random.Random(13)
    rows = king_county_rows(settings, cipher, now=now, every=60)
    fresh = now - timedelta(minutes=5)
    for r in rows:
        if rng.random() < 0.2:
            r["listing_office"] = rng.choice(["Windermere", "Redfin"])
        if rng.random() < 0.1:
            r["listing_agent"] = rng.choice(["Ann Agent", "Bo Broker"])
        if rng.random() < 0.1:
            r["status"] = "held"
        elif rng.random() < 0.05:
            r["status"] = "withdrawn"
        if rng.random() < 0.05:
            r.update(published_at=fresh, first_seen_at=fresh, updated_at=fresh)
    await load(sessions, rows)
    me = await make_account(sessions, now=now)
    other = await make_account(sessions, now=now)
    available = [r for r in rows if r.get("status", "available") == "available"]
    for r in available[::30]:
        await record_purchase(sessions, lead_public_id=r["public_id"], account=me, now=now)
    for r in available[7::25]:
        await record_purchase(sessions, lead_public_id=r["public_id"], account=other, now=now)
    async with transaction(sessions) as s:
        gone = await _lead_id(sessions, available[7])
        assert await writes.set_status(
            s, [gone], LeadStatus.RETURNED, now=now, cause="test", only_from=[LeadStatus.SOLD]
        ) == [gone]  # fmt: skip
    filters = [
        LeadFilter(area=Area(metro=get_metro("seattle"))),
        LeadFilter(area=Area(bbox=BBox(-122.35, 47.55, -122.25, 47.65))),
    ]
    viewers = [
        Viewer(me.id, False, Tier.BASIC, now - timedelta(minutes=30), 0, now),
        Viewer(me.id, False, Tier.ENTERPRISE, now, 0, now),
        Viewer(other.id, False, Tier.PRO, now - timedelta(minutes=15), 0, now),
    ]
    for viewer in viewers:
        for filt in filters:
            # When the competitor places are read from the tallies and by the scan
            async with sessions() as s:
                scanned = await competitor_points(s, viewer, filt, radius_m=1000.0)
                tallied = await tallied_competitor_points(s, viewer, filt, radius_m=1000.0)
            # Then they are the same places, as many times
            assert _places(tallied) == _places(scanned)
            assert len(scanned.lat) > 0
        # And the office counts of every region, tallied and scanned, are the same
        async with sessions() as s:
            regions = [int(r) for r in (await s.scalars(select(Lead.h3_r7).distinct())).all() if r]
            by_scan = sorted(await scanned_offices(s, viewer, regions))
            by_tally = sorted(await tallied_offices(s, viewer, regions))
        assert by_tally == by_scan
        assert {o for _, o, _ in by_scan} >= {"Windermere", "Redfin", "Ann Agent"}
