"""`leads.repository.search` on SQLite: each sort order is found by walking that order's own
index, whatever the statistics say (the plans, not timings: EXPLAIN QUERY PLAN)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from aiqleads.config import Settings
from aiqleads.db import migrate
from aiqleads.db.engine import create_engine, session_factory, transaction
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.leads import repository
from aiqleads.leads.filters import LeadFilter
from aiqleads.leads.query import CatalogQuery, SortKey, order_for
from aiqleads.leads.status import ON_MARKET
from aiqleads.leads.visibility import Viewer
from aiqleads.models.enums import LeadStatus, Tier
from tests.conftest import T0, TEST_ENCRYPTION_KEYS, TEST_SECRET
from tests.factories import insert_leads, lead_row

# The index each sort order walks (models/lead.py); an admin sorts by the exact score, which no
# index keys (neither before the disclosure rule), so it is left out here.
_AGENT_INDEX = {
    SortKey.NEWEST: "ix_leads_status_published",
    SortKey.OLDEST: "ix_leads_status_published",
    SortKey.ASKING_PRICE_ASC: "ix_leads_status_asking",
    SortKey.ASKING_PRICE_DESC: "ix_leads_status_asking",
    SortKey.PRICE_ASC: "ix_leads_status_price",
    SortKey.PRICE_DESC: "ix_leads_status_price",
    SortKey.SCORE_DESC: "ix_leads_status_bucket",
    SortKey.SCORE_ASC: "ix_leads_status_bucket",
}


@pytest.fixture(scope="module")
async def analysed(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsyncEngine]:
    """A SQLite catalog of its own, with statistics (ANALYZE), as a bulk-loaded one has: the
    statistics are what made the planner prefer the priority window's `published_at` range."""
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('plans') / 'plans.db'}",
        secret_key=TEST_SECRET,
        encryption_keys=TEST_ENCRYPTION_KEYS,
    )
    cipher = FieldCipher(settings.encryption_keys)
    engine = create_engine(settings)
    await migrate.upgrade(engine)
    now = T0
    rows = [
        lead_row(
            settings,
            cipher,
            now=now,
            published_at=now - timedelta(hours=i),
            asking_price_cents=(300_000 + 1_000 * i) * 100,
            status="sold" if i % 10 == 0 else "available",
        )
        for i in range(120)
    ]
    await insert_leads(session_factory(engine), rows, now=now)
    async with engine.begin() as conn:
        await conn.execute(text("ANALYZE"))
    yield engine
    await engine.dispose()


async def _plans(engine: AsyncEngine, viewer: Viewer, query: CatalogQuery) -> list[str]:
    """The search's statement as SQLite plans it: one line per step."""
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with transaction(session_factory(engine)) as session:
            await repository.search(
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
        result = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
        return [str(r[-1]) for r in result]


@pytest.mark.parametrize("tier", [Tier.BASIC, Tier.ENTERPRISE])
@pytest.mark.parametrize("sort", list(SortKey))
async def test_each_status_walks_the_sort_orders_index(
    analysed: AsyncEngine, clock: FrozenClock, sort: SortKey, tier: Tier
) -> None:
    # Given an agent whose priority window (30 minutes for basic, none for enterprise, whose
    # window still hides leads dated in the future) is a range on `published_at`
    now = clock.now()
    delay = timedelta(minutes=30 if tier is Tier.BASIC else 0)
    viewer = Viewer(1, False, tier, now - delay, 0, now)
    # When the catalog's search by `sort` is planned
    plans = await _plans(analysed, viewer, CatalogQuery(filter=LeadFilter(), sort=sort))
    # Then each stored status (available, held) is read from the sort order's own index by
    # `status = ?`, in order, and the page's rows by their row ids: the only sorts are of the
    # merged page
    index = _AGENT_INDEX[sort]
    searches = [p for p in plans if p.startswith("SEARCH leads USING") and "rowid=?" not in p]
    assert len(searches) == len({LeadStatus.AVAILABLE, LeadStatus.HELD}), plans
    assert "SEARCH leads USING INTEGER PRIMARY KEY (rowid=?)" in plans, plans
    assert all(f"INDEX {index} (status=?" in p for p in searches), plans
    branch_sorts = [i for i, p in enumerate(plans) if p.startswith("USE TEMP B-TREE")]
    assert all(i >= len(plans) - 2 for i in branch_sorts), plans


async def test_an_admins_search_by_price_walks_its_index(
    analysed: AsyncEngine, clock: FrozenClock
) -> None:
    # Given an admin (no priority window) searching every status on the market by lead price
    now = clock.now()
    viewer = Viewer(1, True, Tier.ENTERPRISE, None, 0, now)
    # When the search is planned
    query = CatalogQuery(filter=LeadFilter(), sort=SortKey.PRICE_ASC)
    plans = await _plans(analysed, viewer, query)
    # Then each status is read from the lead price index in order
    searches = [p for p in plans if p.startswith("SEARCH leads USING") and "rowid=?" not in p]
    assert searches and all("INDEX ix_leads_status_price (status=?)" in p for p in searches), plans
