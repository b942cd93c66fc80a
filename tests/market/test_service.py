"""Loading series into the database (streamed, batched, idempotent), computing the leads' own
series, and `market_context` on stored leads and events."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.events import repository as events
from aiqleads.kit.crypto import FieldCipher
from aiqleads.market import repository, sample, service
from aiqleads.market.indicators import CONTEXT_KEYS, DEFAULTS
from aiqleads.models import Lead, MarketSeries
from aiqleads.models.enums import EventKind
from tests.conftest import T0
from tests.factories import insert_leads, lead_row, make_account
from tests.market.test_loaders import METRO_CUT, ZIP_CUT
from tests.shared_data import fixture_path

KC = "king_county_sales"


async def _load(
    sessions: async_sessionmaker[AsyncSession], path: Path, fmt: str = "zillow", batch: int = 100
) -> service.Loaded:
    async with transaction(sessions) as session:
        return await service.load(session, path, fmt, batch=batch)


async def _count(sessions: async_sessionmaker[AsyncSession], source: str | None = None) -> int:
    async with transaction(sessions) as session:
        return await repository.count(session, source)


async def test_loading_twice_updates_and_never_duplicates(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    # Given the ZIP rent cut loaded in batches of 100 values
    first = await _load(sessions, fixture_path("market", ZIP_CUT))
    assert first.written == first.report.values == await _count(sessions)
    # When it is loaded again, then nothing is added
    again = await _load(sessions, fixture_path("market", ZIP_CUT))
    assert again.written == first.written
    assert await _count(sessions) == first.written
    # When a corrected file changes one value, then that value is updated in place
    text = fixture_path("market", ZIP_CUT).read_text().replace("2396.981657", "2400.5")
    changed = tmp_path / ZIP_CUT
    changed.write_text(text)
    await _load(sessions, changed)
    assert await _count(sessions) == first.written
    async with transaction(sessions) as session:
        value = await session.scalar(
            select(MarketSeries.value).where(
                MarketSeries.region == "98052", MarketSeries.month == date(2023, 10, 1)
            )
        )
    assert value == 2400.5


async def test_the_bundled_seattle_series_load(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with transaction(sessions) as session:
        loaded = await sample.load_bundled(session)
    assert all(not x.report.rejected for x in loaded.values())
    async with transaction(sessions) as session:
        found = await repository.points(session, [("metro", "seattle")], sources=["zillow"])
    assert {p.measure for p in found} == {"zhvi", "zori"}
    async with transaction(sessions) as session:
        zips = await repository.points(session, [("zip", "98105")])
    assert zips and {p.measure for p in zips} == {"zori"}


async def _sales(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    sales: list[tuple[str, datetime, int]],
) -> list[int]:
    """Recorded King County sales (ZIP, sale date, price in dollars), on the market; their ids."""
    rows = [
        lead_row(
            settings,
            cipher,
            now=T0,
            source=KC,
            zip_code=zip_code,
            listed_at=when,
            asking_price_cents=dollars * 100,
        )
        for zip_code, when, dollars in sales
    ]
    await insert_leads(sessions, rows, now=T0)
    async with transaction(sessions) as session:
        ids = await session.scalars(select(Lead.id).where(Lead.source == KC).order_by(Lead.id))
        return list(ids)


def _day(month: int, day: int = 10) -> datetime:
    return datetime(2026, month, day, tzinfo=UTC)


async def test_computed_series_and_context_from_the_leads(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, cipher: FieldCipher
) -> None:
    # Given King County sales in ZIP 98101: two in March (400k, 600k), one in April (550k),
    # one in May (605k); and one sale in ZIP 98102
    ids = await _sales(
        sessions,
        settings,
        cipher,
        [
            ("98101", _day(3), 400_000),
            ("98101", _day(3, 20), 600_000),
            ("98101", _day(4), 550_000),
            ("98101", _day(5), 605_000),
            ("98102", _day(5), 700_000),
        ],
    )
    # And 6 views and 2 holds by two agents in May on the 98101 leads
    buyer1 = await make_account(sessions, now=T0)
    buyer2 = await make_account(sessions, now=T0)
    async with transaction(sessions) as session:
        rows = [
            events.event(EventKind.VIEW, account_id=buyer1.id, lead_id=ids[0], at=_day(5, 20))
            for _ in range(6)
        ]
        rows += [
            events.event(EventKind.HOLD, account_id=b.id, lead_id=ids[1], at=_day(5, 21))
            for b in (buyer1, buyer2)
        ]
        await events.append(session, rows)
    # When the leads' series are computed
    async with transaction(sessions) as session:
        counts = await service.compute(session, now=T0)
    # Then each ZIP and the metro has its monthly medians
    assert counts["regions"] == 3  # 98101, 98102, seattle
    async with transaction(sessions) as session:
        found = await repository.points(session, [("zip", "98101")], sources=["leads"])
    sale = {p.month: p.value for p in found if p.measure == "median_sale_price"}
    assert sale == {
        date(2026, 3, 1): 500_000.0,
        date(2026, 4, 1): 550_000.0,
        date(2026, 5, 1): 605_000.0,
    }
    # And computing again replaces them
    async with transaction(sessions) as session:
        again = await service.compute(session, now=T0)
    assert again == counts and await _count(sessions, "leads") == counts["points"]
    # When the context of 98101 in May is asked, as of June 1st
    async with transaction(sessions) as session:
        ctx = await service.market_context(
            session, zip_code="98101", metro=None, month=date(2026, 5, 1)
        )
    # Then the trend is the OLS slope of ln 500k, ln 550k, ln 605k: ln(605/500) / 2 = ln 1.1
    assert ctx["price_trend_3m"] == ctx["price_trend_12m"]
    assert math.isclose(ctx["price_trend_3m"], math.log(1.1))
    assert ctx["price_level"] == 605_000.0
    assert ctx["inventory"] == 4.0 and ctx["leads"] == 4.0
    assert ctx["views_per_lead"] == 1.5 and ctx["holds_per_lead"] == 0.5
    assert ctx["buying_agents"] == 2.0 and ctx["listings_per_buying_agent"] == 2.0
    # 4 sales in March to May: 4/3 a month, so 4 listings are 3 months of supply
    assert math.isclose(ctx["months_of_supply"], 3.0)
    # When the ZIP with one sale is asked: defined values, no NaN
    async with transaction(sessions) as session:
        one = await service.market_context(
            session, zip_code="98102", metro=None, month=date(2026, 5, 1)
        )
    assert tuple(one) == CONTEXT_KEYS
    assert all(math.isfinite(v) for v in one.values())
    assert one["price_level"] == 700_000.0 and one["price_trend_12m"] == 0.0
    assert one["price_volatility_12m"] == 0.0
    # And a ZIP with no lead at all gives the defaults
    async with transaction(sessions) as session:
        none = await service.market_context(
            session, zip_code="99999", metro=None, month=date(2026, 5, 1)
        )
    assert none == DEFAULTS


async def test_a_zip_falls_back_to_its_metros_published_series(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, cipher: FieldCipher
) -> None:
    # Given Seattle's ZHVI and a ZIP in Seattle with one sale
    await _load(sessions, fixture_path("market", METRO_CUT))
    await _sales(sessions, settings, cipher, [("98101", _day(3), 400_000)])
    # When the context of that ZIP for November 2021 is asked
    async with transaction(sessions) as session:
        ctx = await service.market_context(
            session, zip_code="98101", metro=None, month=date(2021, 11, 1), now=T0
        )
    # Then the ZHVI trend is Seattle's (its metro, found from the ZIP's leads)
    async with transaction(sessions) as session:
        seattle = await service.market_context(
            session, zip_code=None, metro="seattle", month=date(2021, 11, 1), now=T0
        )
    assert ctx["zhvi_trend_12m"] == seattle["zhvi_trend_12m"] > 0.01
    # And the sale in 2026 is after the month asked: no lead price in November 2021, so the
    # price series is the ZHVI
    assert ctx["price_level"] == 706964.0
    assert ctx["inventory"] == 1.0


async def test_a_stored_context_is_the_context_at_its_instant_until_series_are_loaded(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, cipher: FieldCipher
) -> None:
    # Given two sales in ZIP 98101 and a view of one of them on May 20
    ids = await _sales(
        sessions, settings, cipher, [("98101", _day(3), 400_000), ("98101", _day(4), 440_000)]
    )
    buyer = await make_account(sessions, now=T0)
    async with transaction(sessions) as session:
        await events.append(
            session,
            [events.event(EventKind.VIEW, account_id=buyer.id, lead_id=ids[0], at=_day(5, 20))],
        )
    # When the contexts are snapshot on May 25
    taken = _day(5, 25)
    async with transaction(sessions) as session:
        regions = await service.store_contexts(session, now=taken)
        then = await service.market_context(
            session, zip_code="98101", metro=None, month=date(2026, 5, 1), now=taken
        )
    assert regions == 2  # 98101 and seattle
    # And another view of May 21 is logged after the snapshot
    async with transaction(sessions) as session:
        await events.append(
            session,
            [events.event(EventKind.VIEW, account_id=buyer.id, lead_id=ids[1], at=_day(5, 21))],
        )
    # Then the snapshot, read at or after its instant in May, is the context as it was taken
    async with transaction(sessions) as session:
        fresh = await service.market_context(
            session, zip_code="98101", metro=None, month=date(2026, 5, 1), now=taken
        )
        snap = await service.context_snapshot(
            session, region_kind="zip", region="98101", now=_day(5, 30)
        )
        at_instant = await service.context_snapshot(
            session, region_kind="zip", region="98101", now=taken
        )
        before = await service.context_snapshot(
            session, region_kind="zip", region="98101", now=_day(5, 24)
        )
        june = await service.context_snapshot(
            session, region_kind="zip", region="98101", now=_day(6, 2)
        )
        other = await service.context_snapshot(
            session, region_kind="zip", region="98102", now=_day(5, 30)
        )
    assert snap is not None and at_instant == snap
    assert tuple(snap) == CONTEXT_KEYS
    assert snap == {k: float(v) for k, v in then.items()}
    # (one view over two leads; recomputed now, the late view counts too)
    assert snap["views_per_lead"] == 0.5 and fresh["views_per_lead"] == 1.0
    # And none is read before its instant, in another month or for a region never snapshot
    assert before is None and june is None and other is None
    # When a series is loaded, then every snapshot is gone (each read the series before it)
    await _load(sessions, fixture_path("market", ZIP_CUT))
    assert await _count(sessions, service.CONTEXT) == 0
    async with transaction(sessions) as session:
        assert (
            await service.context_snapshot(
                session, region_kind="zip", region="98101", now=_day(5, 30)
            )
            is None
        )
