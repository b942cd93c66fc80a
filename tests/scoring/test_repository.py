"""The rules-1 baseline computed from a lead's stored values, whatever score it stores now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import Lead
from aiqleads.scoring import repository
from tests.factories import insert_leads, lead_row

NOW = datetime(2026, 6, 1, tzinfo=UTC)


async def test_a_lead_a_model_rescored_is_judged_by_the_rules_formula_on_its_values(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, cipher: FieldCipher
) -> None:
    # Given a complete lead listed 3 days before, scored since by a model (its rules-1 score
    # gone), and a bare one: no owner name or e-mail, two facts, no asking price, an approximate
    # point, listed 200 days before
    complete = lead_row(settings, cipher, now=NOW, score=0.91, model_version="lgbm-7")
    bare = lead_row(
        settings,
        cipher,
        now=NOW,
        owner_name=None,
        owner_email=None,
        bathrooms=None,
        living_area_sqft=None,
        lot_sqft=None,
        asking_price_cents=None,
        geocode_precision="zip",
        listed_at=NOW - timedelta(days=200),
    )
    await insert_leads(sessions, [complete, bare], now=NOW)
    async with sessions() as session:
        ids = (await session.execute(select(Lead.id).order_by(Lead.id))).scalars().all()
        # When the baseline is computed as of NOW for both and a third id of nothing
        scores = await repository.rules_scores(
            session, [*ids, 10**9], at=dict.fromkeys([*ids, 10**9], NOW)
        )
    # Then the complete lead scores 1.0 whatever the model stored: 0.40 contact + 0.35 property
    # + 0.25 freshness, each whole
    assert scores[ids[0]] == 1.0
    # And the bare one by hand: contact 0.5 (phone), property 0.5 x 2/5 = 0.2, freshness
    # 1 - 0.8 x (200 - 30) / (365 - 30) = 0.594030 -> 0.4 x 0.5 + 0.35 x 0.2 + 0.25 x 0.594030
    assert scores[ids[1]] == round(0.4 * 0.5 + 0.35 * 0.2 + 0.25 * (1 - 0.8 * 170 / 335), 4)
    # And the id of nothing is left out
    assert set(scores) == set(ids)
