"""What every geo query shares: the tables, the visibility and filter conditions, and the
conversion of result rows into numpy columns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Table, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from aiqleads.geo.filters import ON_MARKET, LeadFilter, Visibility
from aiqleads.models import Lead, Purchase
from aiqleads.models.enums import LeadStatus

leads: Table = Lead.__table__  # type: ignore[assignment]
purchases: Table = Purchase.__table__  # type: ignore[assignment]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
H3_COLUMNS = {7: "h3_r7", 8: "h3_r8", 9: "h3_r9"}


def is_postgis(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# --- conditions ---------------------------------------------------------------------------------


def mine_cond(t: Any, account_id: int) -> ColumnElement[bool]:
    cond: ColumnElement[bool] = t.c.id.in_(
        select(purchases.c.lead_id).where(purchases.c.account_id == account_id)
    )
    return cond


def visible_cond(t: Any, statuses: Sequence[LeadStatus], vis: Visibility) -> ColumnElement[bool]:
    """The catalog's rule: on-market leads past the tier window, sold ones only when mine."""
    if vis.account_id is None:
        everything: ColumnElement[bool] = t.c.status.in_([s.value for s in statuses])
        return everything
    parts: list[ColumnElement[bool]] = []
    market = [s.value for s in statuses if s in ON_MARKET]
    if market:
        cond: ColumnElement[bool] = t.c.status.in_(market)
        if vis.visible_before is not None:
            cond = and_(cond, t.c.published_at <= vis.visible_before)
        parts.append(cond)
    if LeadStatus.SOLD in statuses:
        parts.append(and_(t.c.status == LeadStatus.SOLD.value, mine_cond(t, vis.account_id)))
    return or_(*parts) if parts else false()


def market_cond(t: Any, statuses: Sequence[LeadStatus], vis: Visibility) -> ColumnElement[bool]:
    """Aggregates over the whole market (penetration, competition): every buyer's sales count,
    but an agent still sees nothing published inside its tier window."""
    cond: ColumnElement[bool] = t.c.status.in_([s.value for s in statuses])
    if vis.visible_before is not None:
        cond = and_(cond, t.c.published_at <= vis.visible_before)
    return cond


def bbox_conds(t: Any, bounds: tuple[float, float, float, float]) -> list[ColumnElement[bool]]:
    min_lon, min_lat, max_lon, max_lat = bounds
    return [t.c.latitude.between(min_lat, max_lat), t.c.longitude.between(min_lon, max_lon)]


def filter_conds(t: Any, f: LeadFilter, *, area: bool = True) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [t.c.latitude.is_not(None), t.c.longitude.is_not(None)]
    if area:
        if f.area.metro is not None:
            conds.append(t.c.metro == f.area.metro.slug)
        if f.area.bbox is not None:
            conds += bbox_conds(t, f.area.bounds)
    if f.kinds:
        conds.append(t.c.kind.in_([k.value for k in f.kinds]))
    if f.price_min_cents is not None:
        conds.append(t.c.asking_price_cents >= f.price_min_cents)
    if f.price_max_cents is not None:
        conds.append(t.c.asking_price_cents <= f.price_max_cents)
    if f.listed_since is not None:
        conds.append(t.c.listed_at >= f.listed_since)
    return conds


# --- rows to columns ----------------------------------------------------------------------------


def floats(rows: Sequence[Any], i: int) -> FloatArray:
    # None (SQL NULL) becomes NaN: the algorithms treat NaN weights as unknown.
    return np.fromiter(
        (np.nan if r[i] is None else r[i] for r in rows), dtype=np.float64, count=len(rows)
    )


def ints(rows: Sequence[Any], i: int) -> IntArray:
    return np.fromiter((r[i] for r in rows), dtype=np.int64, count=len(rows))
