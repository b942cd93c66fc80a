"""The catalog's page statements are built once per shape and kept (`leads.repository`): the
values bound at each execution (the time, the viewer's priority window and account, the
cursor's position) must give every later viewer its own answer, never the first one's. Each
page is checked against the read rule worked out in Python over the stored rows."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.kit.clock import as_utc
from aiqleads.kit.crypto import FieldCipher
from aiqleads.leads import repository
from aiqleads.leads.filters import LeadFilter
from aiqleads.leads.query import CatalogQuery, SortKey, order_for
from aiqleads.leads.status import ON_MARKET
from aiqleads.leads.visibility import Viewer
from aiqleads.models import Lead, Purchase
from aiqleads.models.enums import LeadStatus, Tier
from tests.conftest import T0
from tests.factories import HOLD_FOR, insert_leads, lead_row, make_account, record_purchase

ALL_AGENT = (LeadStatus.AVAILABLE, LeadStatus.HELD, LeadStatus.SOLD)


async def _stored(
    sessions: async_sessionmaker[AsyncSession],
) -> tuple[list[Any], set[tuple[int, int]]]:
    async with sessions() as session:
        rows = (await session.execute(select(Lead.__table__))).all()
        bought = (await session.execute(select(Purchase.lead_id, Purchase.account_id))).all()
    return list(rows), {(lead_id, account) for lead_id, account in bought}


def _expected(
    rows: list[Any],
    bought: set[Any],
    viewer: Viewer,
    statuses: tuple[LeadStatus, ...],
    sort: SortKey,
) -> list[uuid.UUID]:
    """The read rule (`leads.visibility`) over the stored rows, in the catalog's order."""
    now = viewer.now

    def effective(r: Any) -> str:
        lapsed = r.status == "held" and as_utc(r.held_until) <= now
        return "available" if lapsed else str(r.status)

    def visible(r: Any) -> bool:
        status = effective(r)
        if status not in {s.value for s in statuses}:
            return False
        if viewer.is_admin:
            return True
        if status == "sold":
            return (r.id, viewer.account_id) in bought
        before = viewer.visible_before
        return status in {s.value for s in ON_MARKET} and (
            before is None or as_utc(r.published_at) <= before
        )

    order = order_for(sort, exact=viewer.exact)
    seen = [r for r in rows if visible(r)]
    valued = [r for r in seen if getattr(r, order.column) is not None]
    nulls = [r for r in seen if getattr(r, order.column) is None]
    valued.sort(key=lambda r: (getattr(r, order.column), r.public_id), reverse=order.descending)
    nulls.sort(key=lambda r: r.public_id, reverse=order.descending)
    return [r.public_id for r in valued + nulls]


async def _all_pages(
    sessions: async_sessionmaker[AsyncSession],
    viewer: Viewer,
    statuses: tuple[LeadStatus, ...],
    sort: SortKey,
) -> list[uuid.UUID]:
    query = CatalogQuery(LeadFilter(), sort=sort, limit=4)
    order = order_for(sort, exact=viewer.exact)
    found: list[uuid.UUID] = []
    after: tuple[Any, uuid.UUID] | None = None
    async with sessions() as session:
        while True:
            rows = await repository.search(
                session, viewer, query, order=order, statuses=statuses, after=after
            )
            page = rows[: query.limit]
            found += [r.public_id for r in page]
            if len(rows) <= query.limit:
                return found
            last = page[-1]
            value = getattr(last, order.column)
            after = (as_utc(value) if isinstance(value, datetime) else value, last.public_id)


@pytest.mark.parametrize("sort", [SortKey.NEWEST, SortKey.ASKING_PRICE_ASC])
async def test_each_viewer_gets_its_own_pages_from_the_kept_statements(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    sort: SortKey,
) -> None:
    # Given leads published ten minutes apart, some held (until T0 + HOLD_FOR), some sold by
    # their source, two bought by agent A, and a few without an asking price (the NULL tail)
    a = await make_account(sessions, now=T0, tier=Tier.BASIC)
    b = await make_account(sessions, now=T0, tier=Tier.ENTERPRISE)
    rows = [
        lead_row(
            settings,
            cipher,
            now=T0,
            published_at=T0 - timedelta(minutes=10 * i),
            asking_price_cents=None if i % 6 == 5 else (300_000 + 7_000 * (i % 9)) * 100,
            status="held" if i % 7 == 3 else "sold" if i % 5 == 4 else "available",
        )
        for i in range(30)
    ]
    await insert_leads(sessions, rows, now=T0)
    for row in (rows[0], rows[11]):
        await record_purchase(sessions, lead_public_id=row["public_id"], account=a, now=T0)
    stored, bought = await _stored(sessions)
    later = T0 + HOLD_FOR + timedelta(minutes=1)  # every hold has lapsed
    # When viewers with other accounts, windows and times search the same shapes in turn
    # (each shape's statement built on its first search, then reused with new values)
    viewers = [
        Viewer(a.id, False, Tier.BASIC, T0 - timedelta(minutes=30), 0, T0),
        Viewer(b.id, False, Tier.ENTERPRISE, T0, 0, T0),
        Viewer(a.id, False, Tier.BASIC, later - timedelta(minutes=95), 0, later),
        Viewer(b.id, False, Tier.ENTERPRISE, later, 0, later),
        Viewer(a.id, True, Tier.ENTERPRISE, None, 0, T0),
        Viewer(a.id, True, Tier.ENTERPRISE, None, 0, later),
    ]
    hits = repository._page_statement.cache_info().hits
    for statuses in (ON_MARKET, (LeadStatus.AVAILABLE,), (LeadStatus.HELD,), ALL_AGENT):
        for viewer in viewers:
            got = await _all_pages(sessions, viewer, statuses, sort)
            # Then each gets exactly the leads the read rule gives it, in order, page by page
            assert got == _expected(stored, bought, viewer, statuses, sort), (viewer, statuses)
    assert repository._page_statement.cache_info().hits > hits
