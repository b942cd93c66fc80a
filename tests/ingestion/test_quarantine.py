from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.ingestion.conftest import kc_document

from aiqleads.db.engine import transaction
from aiqleads.ingestion import quarantine
from aiqleads.ingestion.normalize.lead import normalize
from aiqleads.ingestion.payloads import record_from_payload, record_payload
from aiqleads.ingestion.pipeline import Pipeline
from aiqleads.ingestion.records import RawRecord
from aiqleads.kit.clock import FrozenClock
from aiqleads.models import Lead, Quarantine

Sessions = async_sessionmaker[AsyncSession]


def test_a_raw_record_survives_the_round_trip_through_its_payload() -> None:
    record = RawRecord(
        "zillow",
        "z1",
        {"zpid": 1},
        price="$300,000",
        latitude=47.6,
        longitude=-122.3,
        listed_at=datetime(2024, 5, 1, tzinfo=UTC),
        phones=["206-555-0100"],
        zip_code=98101,
    )
    back = record_from_payload(record_payload(record))
    assert back is not None
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert normalize(back, now=now) == normalize(record, now=now)
    assert record_from_payload({"document": {"name": "x"}}) is None


async def test_retry_after_a_fix_resolves_rows_and_counts_failures(
    sessions: Sessions, make_pipeline: Callable[..., Pipeline], clock: FrozenClock
) -> None:
    # Given a validation rule too strict for King County prices: every sale is quarantined
    strict = make_pipeline(max_sale_price_cents=100_000_00, min_rent_cents=1, batch_size=4)
    summary = await strict.run(sessions, [kc_document(10)], metro="seattle", now=clock.now())
    # (normalize itself drops one record's price as a placeholder; that one passes)
    held = summary.quarantined_by_reason["price_implausible"]
    assert held == summary.quarantined >= 8
    listed = await quarantine.list_rows(sessions, reason="price_implausible")
    assert len(listed) == held and all(
        r.metro == "seattle" and r.stage == "validate" for r in listed
    )
    # When retried under the same rule: still failing, attempts counted, nothing stored
    result = await quarantine.retry(sessions, strict, now=clock.now(), row_id=listed[0].id)
    assert (result.retried, result.still_failing) == (1, 1)
    # When the rule is fixed and all are retried
    fixed = make_pipeline()
    result = await quarantine.retry(sessions, fixed, now=clock.now(), source="king_county_sales")
    # Then every row resolves and the leads exist
    assert (result.retried, result.resolved, result.still_failing) == (held, held, 0)
    async with transaction(sessions) as session:
        rows = (await session.scalars(select(Quarantine).order_by(Quarantine.id))).all()
        leads = (await session.scalars(select(Lead.id))).all()
    assert all(r.resolved_at == clock.now() for r in rows)
    assert rows[0].attempts == 2 and rows[1].attempts == 1
    assert len(leads) + result.outcomes.get("merged", 0) + summary.outcomes["merged"] == 10
    assert await quarantine.list_rows(sessions) == []
    # And re-ingesting the same bad input does not add rows a second time
    await strict.run(sessions, [kc_document(10)], metro="seattle", now=clock.now())
    assert len(await quarantine.list_rows(sessions, include_resolved=True)) == held
