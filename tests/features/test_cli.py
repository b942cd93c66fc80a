"""`aiqleads features build` on the test database."""

from __future__ import annotations

import asyncio

from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from aiqleads.cli import main
from aiqleads.db.engine import create_engine, session_factory
from aiqleads.features.lead_market import LEAD_MARKET_FEATURES_VERSION
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import FeatureValue
from tests.conftest import Backend
from tests.factories import insert_leads, lead_row


def test_build_writes_the_lead_set(
    cli: CliRunner, engine: AsyncEngine, backend: Backend, clock: FrozenClock
) -> None:
    # Given two leads (written, and later read, on an engine of each run's own event loop:
    # asyncpg's connections belong to the loop that made them)
    settings = backend.settings()
    rows = [
        lead_row(settings, FieldCipher(settings.encryption_keys), now=clock.now()) for _ in range(2)
    ]

    async def insert() -> None:
        own = create_engine(settings)
        try:
            await insert_leads(session_factory(own), rows)
        finally:
            await own.dispose()

    async def stored() -> list[tuple[str, str]]:
        own = create_engine(settings)
        try:
            async with session_factory(own)() as session:
                result = await session.execute(
                    select(FeatureValue.feature_set, FeatureValue.version, func.count()).group_by(
                        FeatureValue.feature_set, FeatureValue.version
                    )
                )
                return [(s, f"{v}:{n}") for s, v, n in result]
        finally:
            await own.dispose()

    asyncio.run(insert())

    # When `aiqleads features build --set lead` runs, twice
    for _ in range(2):
        res = cli.invoke(main, ["features", "build", "--set", "lead"])
        assert res.exit_code == 0, res.output
    # Then the store holds one row per lead, and it says what it built
    assert "lead v1: 2 entities" in res.output
    assert asyncio.run(stored()) == [("lead", "1:2")]
    # When the lead_market set is built (the lead_geo set it reads, named after it, first)
    res = cli.invoke(main, ["features", "build", "--set", "lead_market", "--set", "lead_geo"])
    # Then both are stored, in the store's order
    assert res.exit_code == 0, res.output
    assert res.output.index("lead_geo v1: 2 entities") < res.output.index("lead_market v")
    assert sorted(asyncio.run(stored())) == [
        ("lead", "1:2"),
        ("lead_geo", "1:2"),
        ("lead_market", f"{LEAD_MARKET_FEATURES_VERSION}:2"),
    ]
    # And an unknown set is refused with the known ones named
    res = cli.invoke(main, ["features", "build", "--set", "zip"])
    assert res.exit_code != 0 and "lead" in res.output
