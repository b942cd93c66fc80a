"""`aiqleads evaluate recommender`'s evaluation: simulated agents over real-shaped leads, a
time split, the learned model against popularity, random and nearest-in-territory."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.recommend import offline, repository
from aiqleads.recommend.profile import PreferenceError
from tests.factories import insert_leads, lead_row

CENTRES = {
    "98115": (47.68, -122.30),
    "98101": (47.61, -122.33),
    "98118": (47.54, -122.27),
    "98103": (47.66, -122.35),
}
KINDS = ("fsbo", "for_sale", "for_rent")


async def test_the_learned_model_beats_every_baseline(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given 400 leads in four ZIPs, of three kinds and a spread of prices
    now = clock.now()
    rng = np.random.default_rng(3)
    rows = []
    for i in range(400):
        z = list(CENTRES)[i % 4]
        lat, lon = CENTRES[z]
        kind = KINDS[i % 3]
        price = 3_000 if kind == "for_rent" else int(rng.integers(300_000, 1_200_000))
        rows.append(
            lead_row(
                settings,
                cipher,
                now=now,
                zip_code=z,
                kind=kind,
                latitude=lat + rng.normal(0, 0.01),
                longitude=lon + rng.normal(0, 0.01),
                asking_price_cents=price * 100,
                score=float(rng.random()),
                published_at=now - timedelta(days=40),
            )
        )
    await insert_leads(sessions, rows, now=now)

    # When 60 simulated agents act for 20 days and the last 5 are the test
    async with sessions() as session:
        prefs = await offline.simulate(session, agents=60, days=20, seed=5, now=now)
        stored = await repository.get_preferences(session, next(iter(prefs)))
        report = await offline.evaluate_recommender(
            session, prefs=prefs, days=20, test_days=5, now=now, settings=settings.recommend
        )
        await session.rollback()

    # Then the stated preferences were stored, and the learned model beats each baseline
    assert stored is not None
    scores = report["scores"]
    assert set(scores) == {"learned", "popularity", "random", "nearest"}
    assert report["users"] > 10
    for baseline in ("popularity", "random", "nearest"):
        assert scores["learned"]["ndcg"] > scores[baseline]["ndcg"], (baseline, scores)
    assert report["beats_every_baseline"] is True
    assert (
        report["learned_vs"]["random"]["ndcg"] is None or report["learned_vs"]["random"]["ndcg"] > 1
    )


def test_a_simulated_stated_preference_becomes_a_preference() -> None:
    p = offline.preferences_from_simulation(
        {
            "zip_codes": None,
            "latitude": 47.6,
            "longitude": -122.3,
            "radius_m": 2500.0,
            "price_min_cents": 100,
            "price_max_cents": 200,
            "kinds": ["fsbo"],
            "bedrooms_min": 2,
        }
    )
    assert p.center == (47.6, -122.3) and p.radius_m == 2500.0 and p.kinds == {"fsbo"}
    assert offline.preferences_from_simulation({}).has_territory is False
    with pytest.raises(PreferenceError) as refused:
        offline.preferences_from_simulation({"price_min_cents": 5, "price_max_cents": 1})
    assert refused.value.field == "price_min"
