"""A catalog search in a map box on PostgreSQL: each stored status is its own branch, whose plan
may walk the sort order's covering index and stop after a page, where `status IN (...)` left
only the GiST scan of every lead in the box and a sort of them all (the plans, not timings:
EXPLAIN). With the results, in order, those of the box."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.engine import session_factory, transaction
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.leads import repository
from aiqleads.leads.filters import Area, BBox, LeadFilter
from aiqleads.leads.query import CatalogQuery, SortKey, order_for
from aiqleads.leads.status import ON_MARKET
from aiqleads.leads.visibility import Viewer
from aiqleads.models.enums import Tier
from tests.factories import insert_leads, lead_row

# Every lead of the market is inside the box: the case where reading the box's leads and
# sorting them costs the most (the benchmark's 4 km box in Seattle held 75k of 1M leads).
BOX = BBox(min_lon=-122.40, min_lat=47.55, max_lon=-122.25, max_lat=47.70)
N = 3000


async def _search_and_plan(
    engine: AsyncEngine, viewer: Viewer, query: CatalogQuery
) -> tuple[list[Any], str]:
    """The search's rows and its statement's plan as PostgreSQL makes it for these values."""
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with transaction(session_factory(engine)) as session:
            rows = await repository.search(
                session,
                viewer,
                query,
                order=order_for(query.sort, exact=viewer.exact),
                statuses=ON_MARKET,
                after=None,
            )
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    [(statement, params)] = seen
    async with engine.connect() as conn:
        result = await conn.exec_driver_sql(f"EXPLAIN {statement}", params)
        return list(rows), "\n".join(str(r[0]) for r in result)


async def test_a_search_in_a_crowded_box_walks_the_newest_first_index_per_status(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("the PostGIS box and its plans are PostgreSQL's")
    # Given 3,000 leads on the market, every one inside the box, with statistics
    now = clock.now()
    rows = [
        lead_row(
            settings,
            cipher,
            now=now,
            latitude=47.56 + (i % 50) * 0.002,
            longitude=-122.39 + (i // 50) * 0.002,
            published_at=now - timedelta(minutes=i),
        )
        for i in range(N)
    ]
    await insert_leads(sessions, rows, now=now)
    async with engine.begin() as conn:  # committed: statistics from a rolled-back ANALYZE go
        await conn.execute(text("ANALYZE leads"))
    # When an agent asks for the newest 20 in the box
    viewer = Viewer(1, False, Tier.ENTERPRISE, now, 0, now)
    query = CatalogQuery(filter=LeadFilter(area=Area(bbox=BOX)), limit=20, sort=SortKey.NEWEST)
    found, plan = await _search_and_plan(engine, viewer, query)
    # Then the page is the newest leads, in order
    published = [r.published_at for r in found]
    assert published == sorted(published, reverse=True)
    assert published[0] == now
    # And each status walks the covering index backwards, without reading the table for the
    # coordinates (the PostGIS point is NULL unless both are set), and no branch sorts
    assert plan.count("Index Only Scan Backward using ix_leads_market_newest") == 2, plan
    assert "preview_latitude IS NOT NULL" not in plan, plan
    assert "Bitmap Heap Scan" not in plan, plan
