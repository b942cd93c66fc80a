"""recommend.repository's candidate read: the radius as preview cells, the recent-window
first try answering exactly what the whole history answers, and the ranking columns ranking
exactly as the whole previews do."""

from __future__ import annotations

import random
from datetime import timedelta

import h3
import numpy as np
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.auth.principal import Principal
from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.leads.visibility import leads, viewer_for
from aiqleads.models.enums import LeadStatus, Tier
from aiqleads.recommend import repository
from aiqleads.recommend.features import LeadTable, feature_matrix, haversine_km
from aiqleads.recommend.profile import Learned, Profile, stated
from tests.factories import insert_leads, lead_row, make_account

SEATTLE = (47.6062, -122.3321)


def _within(cells: list[str], radius_m: float) -> set[int]:
    centres = np.asarray([h3.cell_to_latlng(c) for c in cells], dtype=np.float64)
    d = haversine_km(centres[:, 0], centres[:, 1], np.asarray([SEATTLE])) * 1000.0
    return {int(h3.str_to_int(c)) for c, m in zip(cells, d.tolist(), strict=True) if m <= radius_m}


def test_the_radius_is_the_preview_cells_whose_centre_it_holds() -> None:
    # Given radii from under one cell to several kilometres around a point
    origin = h3.latlng_to_cell(*SEATTLE, 8)
    wide = list(h3.grid_disk(origin, 40))  # every cell within about 30 km
    for radius_m in (150.0, 700.0, 2_500.0, 8_000.0):
        # When the radius is turned into cells
        cells = repository.radius_cells(SEATTLE, radius_m)

        # Then they are exactly the cells whose centre lies within it (the service's test)
        assert cells is not None
        assert set(cells) == _within(wide, radius_m)


def test_a_radius_too_wide_for_cells_is_left_to_its_box() -> None:
    # Given a 60 km radius (far more than MAX_RADIUS_CELLS cells)
    # When it is turned into cells, then there are none and the territory keeps its box
    assert repository.radius_cells(SEATTLE, 60_000.0) is None
    prefs = stated(center=SEATTLE, radius_m=60_000.0)
    where = repository.territory(Profile(prefs, Learned()))
    assert where.box is not None
    assert where.cells == ()


async def test_the_recent_window_answers_what_the_whole_history_answers(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given 60 leads published over 60 days, in and around an agent's ZIP and radius
    now = clock.now()
    rng = random.Random(7)
    rows = [
        lead_row(
            settings,
            cipher,
            now=now,
            zip_code=rng.choice(["98101", "98115", "98118"]),
            latitude=SEATTLE[0] + rng.uniform(-0.05, 0.05),
            longitude=SEATTLE[1] + rng.uniform(-0.05, 0.05),
            published_at=now - timedelta(days=rng.uniform(0.1, 60)),
        )
        for _ in range(60)
    ]
    await insert_leads(sessions, rows, now=now)
    account = await make_account(sessions, now=now, tier=Tier.ENTERPRISE)
    viewer = viewer_for(Principal.of(account), settings.tiers[Tier.ENTERPRISE.value], now)
    prefs = stated(zip_codes=["98101"], center=SEATTLE, radius_m=2_000.0)
    profile = Profile(prefs, Learned())

    async with transaction(sessions) as session:
        for pool in (5, 15, 200):
            # When the candidates are read with a window of a day (and its growth), and without
            windowed = await repository.candidates(
                session, viewer, profile, pool=pool, window=timedelta(days=1)
            )
            whole = await repository.candidates(session, viewer, profile, pool=pool)

            # Then both are the same leads in the same order
            assert [r.id for r in windowed] == [r.id for r in whole]
            assert 0 < len(whole) <= pool


async def test_ranking_reads_the_same_leads_as_the_previews_they_are_ranked_from(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given 40 leads of varied kinds, prices, bedrooms and ages in an agent's ZIP
    now = clock.now()
    rng = random.Random(11)
    rows = [
        lead_row(
            settings,
            cipher,
            now=now,
            kind=rng.choice(["for_sale", "fsbo", "expired"]),
            bedrooms=rng.choice([None, 1, 2, 3, 5]),
            asking_price_cents=rng.randrange(20_000_000, 90_000_000),
            latitude=SEATTLE[0] + rng.uniform(-0.03, 0.03),
            longitude=SEATTLE[1] + rng.uniform(-0.03, 0.03),
            published_at=now - timedelta(days=rng.uniform(0.1, 20)),
        )
        for _ in range(40)
    ]
    await insert_leads(sessions, rows, now=now)
    account = await make_account(sessions, now=now, tier=Tier.ENTERPRISE)
    viewer = viewer_for(Principal.of(account), settings.tiers[Tier.ENTERPRISE.value], now)
    profile = Profile(stated(zip_codes=["98101"], kinds=["fsbo"], bedrooms_min=2), Learned())

    async with transaction(sessions) as session:
        # When the candidates are read for ranking, and the same leads' whole previews
        ranking = await repository.candidates(
            session, viewer, profile, pool=300, window=timedelta(days=2)
        )
        ids = [int(r.id) for r in ranking]
        full = await repository.previews(session, viewer, ids)

    # Then they are the same leads in the same order, and every feature computed from the
    # ranking columns equals the one computed from the whole previews (the same ranking)
    assert len(ids) == 40
    assert [int(r.id) for r in full] == ids
    at = now.timestamp()
    narrow = feature_matrix(profile, LeadTable.from_rows(ranking), at)
    whole = feature_matrix(profile, LeadTable.from_rows(full), at)
    assert np.array_equal(narrow, whole, equal_nan=True)
    assert [str(r.public_id) for r in ranking] == [str(r.public_id) for r in full]


async def test_previews_leave_out_a_lead_sold_since_it_was_ranked(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given three available leads chosen for an agent, in an order of the ranking's
    now = clock.now()
    rows = [lead_row(settings, cipher, now=now) for _ in range(3)]
    await insert_leads(sessions, rows, now=now)
    account = await make_account(sessions, now=now, tier=Tier.ENTERPRISE)
    viewer = viewer_for(Principal.of(account), settings.tiers[Tier.ENTERPRISE.value], now)
    async with transaction(sessions) as session:
        ids = [
            int(r.id)
            for r in await repository.candidates(
                session, viewer, Profile(stated(), Learned()), pool=10
            )
        ]
        chosen = [ids[2], ids[0], ids[1]]
        # When one of them is sold before the previews are read
        await session.execute(
            update(leads).where(leads.c.id == ids[0]).values(status=LeadStatus.SOLD.value)
        )
        found = await repository.previews(session, viewer, chosen)

    # Then the previews are the others, in the order asked, with their preview columns
    assert [int(r.id) for r in found] == [ids[2], ids[1]]
    assert {r.city for r in found} == {"Seattle"}
