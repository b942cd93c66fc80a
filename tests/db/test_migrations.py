from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db import migrate
from aiqleads.db.engine import create_engine
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import Lead
from tests.conftest import Backend
from tests.factories import insert_leads, lead_row, make_account, record_purchase
from tests.geo.repository.test_tallies import _agree

TABLES = {
    "accounts",
    "api_keys",
    "refresh_tokens",
    "login_throttles",
    "leads",
    "purchases",
    "geo_tallies",
    "geo_office_tallies",
    "data_versions",
    "lead_sources",
    "lead_price_history",
    "quarantine",
    "lead_status_history",
    "holds",
    "cart_locks",
    "tier_policies",
    "lead_events",
    "sandbox_payments",
    "sandbox_refunds",
    "orders",
    "order_items",
    "ledger_entries",
    "payment_events",
    "task_outbox",
    "task_schedule",
    "hold_notices",
    "webhook_endpoints",
    "webhook_deliveries",
    "returns",
    "source_profiles",
    "ingestion_runs",
    "market_series",
    "feature_values",
    "scoring_models",
    "experiments",
    "experiment_exposures",
    "agent_preferences",
    "recommender_models",
    "recommendation_impressions",
}


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names()) - {"alembic_version", "spatial_ref_sys"}


async def test_migrations_run_up_down_and_up_again(backend: Backend, tmp_path: object) -> None:
    # Given an empty database of its own (not the shared test one)
    settings = backend.settings()
    if backend.name == "sqlite":
        settings = backend.settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/m.db")
    engine = create_engine(settings)
    try:
        await migrate.downgrade(engine, "base")
        # When migrating to head
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) == TABLES
        assert await migrate.current_revision(engine) == migrate.head_revision()
        # When migrating back down, every table goes
        await migrate.downgrade(engine, "base")
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) == set()
        assert await migrate.current_revision(engine) is None
        # And up again works from there
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == migrate.head_revision()
    finally:
        if backend.name == "postgres":  # leave the shared database as the other tests expect
            await migrate.upgrade(engine)
        await engine.dispose()


async def test_postgres_has_a_generated_point_with_gist_index(
    backend: Backend, engine: object
) -> None:
    if backend.name != "postgres":
        return
    pg = create_engine(backend.settings())
    try:
        async with pg.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO leads (public_id, source, source_ref, kind, status, currency,"
                    " geocode_precision, latitude, longitude, published_at, first_seen_at,"
                    " updated_at, price_cents, price_currency) VALUES (gen_random_uuid(), 's',"
                    " 'r', 'fsbo', 'available', 'USD', 'exact', 47.6, -122.3, now(), now(),"
                    " now(), 1000, 'USD')"
                )
            )
            point = (await conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM leads"))).one()
            indexes = {
                r[0]
                for r in await conn.execute(
                    text("SELECT indexdef FROM pg_indexes WHERE tablename = 'leads'")
                )
            }
            await conn.execute(text("DELETE FROM leads"))
        assert point == (-122.3, 47.6)
        assert any("gist (geom)" in i for i in indexes)
        assert any("gist (preview_geom)" in i for i in indexes)
        # Metre queries find their candidates on the geometry indexes (migration 0041).
        assert not any("geography" in i for i in indexes)
    finally:
        await pg.dispose()


# (index, a lookup that must be able to use it): the partial indexes of 0027, WHERE the column
# IS NOT NULL, each read by a comparison of that column, which implies the predicate.
PARTIAL = (
    ("ix_leads_owner_phone_hmac", "owner_phone_hmac IN (:a, :b)"),
    ("ix_leads_description_hash", "description_hash IN (:a, :b)"),
    ("ix_leads_held_by", "held_by = :n AND status = :s"),
    ("ix_leads_status_held_until", "status = :s AND held_until <= :t"),
)
_PARAMS = {"a": "x", "b": "y", "n": 1, "s": "held", "t": datetime(2026, 12, 1, tzinfo=UTC)}


async def test_indexes_of_mostly_empty_columns_are_partial_and_serve_their_lookups(
    backend: Backend, engine: AsyncEngine
) -> None:
    for name, where in PARTIAL:
        async with engine.connect() as conn:
            if backend.name == "postgres":
                # Given a planner that takes any usable index over a scan of the (small) table
                await conn.execute(text("SET LOCAL enable_seqscan = off"))
                definition = (
                    await conn.execute(
                        text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"), {"n": name}
                    )
                ).scalar_one()
                explain = "EXPLAIN"
            else:
                definition = (
                    await conn.execute(
                        text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": name}
                    )
                ).scalar_one()
                explain = "EXPLAIN QUERY PLAN"
            # When the lookup is planned
            plan = " ".join(
                str(r[-1])
                for r in await conn.execute(
                    text(f"{explain} SELECT id FROM leads WHERE {where}"),  # noqa: S608 (constants)
                    _PARAMS,
                )
            )
        # Then the index holds only rows with the value, and the lookup reads it
        assert "IS NOT NULL" in definition, definition
        assert name in plan, plan


async def test_0040_derives_stored_leads_zctas_and_recounts_the_tallies(
    backend: Backend,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given leads stored and one sold before migration 0040: downtown (ZCTA 98101), in Ballard
    # (98107), on the water (no ZCTA), without a point
    now = clock.now()
    points = [(47.6101, -122.3301), (47.66, -122.38), (47.60, -122.45), (None, None)]
    rows = [lead_row(settings, cipher, now=now, latitude=a, longitude=o) for a, o in points]
    await insert_leads(sessions, rows)
    buyer = await make_account(sessions, now=now)
    await record_purchase(sessions, lead_public_id=rows[0]["public_id"], account=buyer, now=now)
    migrating = create_engine(backend.settings())
    try:
        await migrate.downgrade(migrating, "0039")
        async with migrating.connect() as conn:
            columns = (await conn.execute(text("SELECT * FROM leads LIMIT 0"))).keys()
        assert "zcta" not in columns
        # When migrating to 0040
        await migrate.upgrade(migrating)
    finally:
        await migrate.upgrade(migrating)
        await migrating.dispose()
    # Then each located lead has its point's ZCTA, and the tallies equal a recount
    async with sessions() as s:
        found = {r[0]: r[1] for r in await s.execute(select(Lead.source_ref, Lead.zcta))}
    assert [found[r["source_ref"]] for r in rows] == ["98101", "98107", None, None]
    await _agree(sessions)
    # And the recreated triggers keep them so through a sale and a move
    await record_purchase(sessions, lead_public_id=rows[1]["public_id"], account=buyer, now=now)
    moved = {k: v for k, v in rows[2].items() if k != "public_id"}
    await insert_leads(sessions, [{**moved, "latitude": 47.6115, "longitude": -122.337}])
    await _agree(sessions)
