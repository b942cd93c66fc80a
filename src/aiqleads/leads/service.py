"""The lead catalog: who sees which leads, and how much of each."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.auth.principal import Principal
from aiqleads.config import Settings
from aiqleads.errors import InvalidInput, NotFound
from aiqleads.kit.clock import as_utc
from aiqleads.kit.crypto import FieldCipher
from aiqleads.kit.cursor import InvalidCursor, decode_cursor, encode_cursor
from aiqleads.leads import present, repository
from aiqleads.leads.query import CatalogQuery, SortKey
from aiqleads.leads.schemas import LeadFull, LeadPage, LeadPreview, MoneyOut
from aiqleads.models.enums import LeadStatus

ON_MARKET = (LeadStatus.AVAILABLE, LeadStatus.HELD)


def visible_before(principal: Principal, settings: Settings, now: datetime) -> datetime | None:
    """Leads published after this instant are still in another tier's priority window."""
    if principal.is_admin:
        return None
    delay = settings.tiers[principal.tier.value].priority_delay_minutes
    return now - timedelta(minutes=delay)


def discount_percent(principal: Principal, settings: Settings) -> int:
    return 0 if principal.is_admin else settings.tiers[principal.tier.value].discount_percent


def _cursor_position(q: CatalogQuery, secret: str, raw: str) -> tuple[Any, int]:
    try:
        values = decode_cursor(secret, raw)
    except InvalidCursor as exc:
        raise InvalidInput("cursor", str(exc)) from exc
    if len(values) != 3 or values[0] != q.sort.value or not isinstance(values[2], int):
        raise InvalidInput("cursor", "cursor belongs to a different sort order; start again")
    value = values[1]
    if value is not None and q.sort in (SortKey.NEWEST, SortKey.OLDEST):
        value = as_utc(datetime.fromisoformat(str(value)))
    return value, values[2]


def _next_cursor(q: CatalogQuery, secret: str, last: Row[Any]) -> str:
    value = getattr(last, q.sort.column)
    if isinstance(value, datetime):
        value = as_utc(value).isoformat()
    return encode_cursor(secret, [q.sort.value, value, last.id])


async def search_catalog(
    session: AsyncSession,
    principal: Principal,
    *,
    query: CatalogQuery,
    cursor: str | None,
    settings: Settings,
    cipher: FieldCipher,
    now: datetime,
) -> LeadPage:
    statuses = query.statuses or (
        tuple(LeadStatus) if principal.is_admin else (LeadStatus.AVAILABLE,)
    )
    if not principal.is_admin:
        allowed = {*ON_MARKET, LeadStatus.SOLD}
        refused = [s.value for s in statuses if s not in allowed]
        if refused:
            raise InvalidInput("status", f"agents may list available, held or sold; not {refused}")
    position = _cursor_position(query, settings.secret_key, cursor) if cursor else None
    rows = await repository.search(
        session,
        query,
        statuses=statuses,
        visible_before=visible_before(principal, settings, now),
        buyer_id=None if principal.is_admin else principal.account_id,
        cursor=position,
    )
    page, more = rows[: query.limit], len(rows) > query.limit
    items = await _present(session, principal, page, settings=settings, cipher=cipher)
    next_cursor = _next_cursor(query, settings.secret_key, page[-1]) if more and page else None
    return LeadPage(items=items, next_cursor=next_cursor)


async def get_lead(
    session: AsyncSession,
    principal: Principal,
    *,
    public_id: uuid.UUID,
    settings: Settings,
    cipher: FieldCipher,
    now: datetime,
) -> LeadPreview | LeadFull:
    row = await repository.by_public_id(session, public_id)
    if row is None:
        raise NotFound("no such lead")
    [item] = await _present(session, principal, [row], settings=settings, cipher=cipher)
    if isinstance(item, LeadPreview):
        cutoff = visible_before(principal, settings, now)
        in_window = cutoff is not None and row.published_at > cutoff
        if row.status not in ON_MARKET or in_window:
            # Not 403: an agent must not learn that a lead exists before its window opens.
            raise NotFound("no such lead")
    return item


async def _present(
    session: AsyncSession,
    principal: Principal,
    rows: Sequence[Row[Any]],
    *,
    settings: Settings,
    cipher: FieldCipher,
) -> list[LeadPreview | LeadFull]:
    if principal.is_admin:
        return [present.full(r, cipher=cipher, price=present.price_for(r, 0)) for r in rows]
    paid = await repository.prices_paid(session, [r.id for r in rows], principal.account_id)
    discount = discount_percent(principal, settings)
    out: list[LeadPreview | LeadFull] = []
    for r in rows:
        if r.id in paid:
            cents, currency = paid[r.id]
            out.append(
                present.full(r, cipher=cipher, price=MoneyOut(cents=cents, currency=currency))
            )
        else:
            out.append(present.preview(r, discount_percent=discount))
    return out
