"""The lead catalog: which leads a caller finds, in what order, and how much of each it sees."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.db.row_reads import RowReader, SessionRows
from aiqleads.errors import Conflict, InvalidInput, NotFound
from aiqleads.events.recorder import ViewRecorder
from aiqleads.kit.clock import as_utc
from aiqleads.kit.crypto import FieldCipher
from aiqleads.kit.cursor import InvalidCursor, decode_cursor, encode_cursor
from aiqleads.leads import present, repository, writes
from aiqleads.leads.filters import LeadFilter
from aiqleads.leads.page_cache import PageCache
from aiqleads.leads.query import CatalogQuery, Order, order_for
from aiqleads.leads.schemas import LeadFull, LeadPage, LeadPreview, MoneyOut
from aiqleads.leads.status import AGENT_STATUSES, ON_MARKET
from aiqleads.leads.visibility import Viewer
from aiqleads.models.enums import LeadStatus

_PAGE_JSON = TypeAdapter(LeadPage)


def statuses_for(viewer: Viewer, asked: Sequence[LeadStatus]) -> tuple[LeadStatus, ...]:
    """The statuses a search covers: those asked, else the leads on the market (the map layers'
    default too, so both count the same leads). Raises InvalidInput("status") when an agent
    asks for one it may not see."""
    statuses = tuple(asked) or ON_MARKET
    if not viewer.is_admin:
        refused = sorted(s.value for s in statuses if s not in AGENT_STATUSES)
        if refused:
            raise InvalidInput("status", f"agents may list available, held or sold; not {refused}")
    return statuses


def _basis(viewer: Viewer) -> str:
    return "exact" if viewer.exact else "preview"


def _position(
    q: CatalogQuery, viewer: Viewer, order: Order, secret: str, raw: str
) -> tuple[Any, uuid.UUID]:
    try:
        values = decode_cursor(secret, raw)
    except InvalidCursor as exc:
        raise InvalidInput("cursor", str(exc)) from exc
    if len(values) != 4 or values[0] != q.sort.value or values[1] != _basis(viewer):
        raise InvalidInput("cursor", "cursor belongs to a different sort order; start again")
    value = values[2]
    try:
        if value is not None and order.column == "published_at":
            value = as_utc(datetime.fromisoformat(str(value)))
        return value, uuid.UUID(str(values[3]))
    except ValueError as exc:  # a cursor of an older format
        raise InvalidInput("cursor", "cursor is not of this server's format") from exc


def _next_cursor(q: CatalogQuery, viewer: Viewer, order: Order, secret: str, last: Any) -> str:
    value = getattr(last, order.column)
    if isinstance(value, datetime):
        value = as_utc(value).isoformat()
    return encode_cursor(secret, [q.sort.value, _basis(viewer), value, str(last.public_id)])


async def search_catalog(
    session: AsyncSession,
    viewer: Viewer,
    *,
    query: CatalogQuery,
    cursor: str | None,
    secret: str,
    cipher: FieldCipher,
) -> LeadPage:
    """One page of the leads the viewer may see under the query, and the cursor to the next.
    Raises InvalidInput for a status the viewer may not ask for or a cursor not issued here."""
    page, _ = await _search(
        session, viewer, query=query, cursor=cursor, secret=secret, cipher=cipher
    )
    return page


async def catalog_page_json(
    session: AsyncSession,
    viewer: Viewer,
    *,
    query: CatalogQuery,
    cursor: str | None,
    secret: str,
    cipher: FieldCipher,
    cache: PageCache | None = None,
) -> bytes:
    """`search_catalog`'s page encoded as JSON once (the bytes the route answers with), from
    `cache` when an agent of the same class asked the same page since the data last changed.

    Only pages that read the same for every agent of a class are shared: an agent's (never an
    admin's) search of the leads on the market (available and held, the default), none of
    whose leads any account ever bought, so no page can carry one buyer's fields to another.
    The key (`page_cache`) holds what else could change such a page without a write: the tier's
    discount, the newest lead its priority window lets through, and the latest hold to lapse.
    Raises InvalidInput as `search_catalog`."""
    shareable = (
        cache is not None
        and not viewer.is_admin
        and set(statuses_for(viewer, query.filter.statuses)) == set(ON_MARKET)
    )
    if not shareable or cache is None:
        page, _ = await _search(
            session, viewer, query=query, cursor=cursor, secret=secret, cipher=cipher
        )
        return _encode(page)
    key = await cache.key(session, viewer, query, cursor)

    async def build() -> tuple[bytes, bool]:
        page, shared = await _search(
            session, viewer, query=query, cursor=cursor, secret=secret, cipher=cipher
        )
        return _encode(page), shared

    return await cache.get_or_build(key, build)


def _encode(page: LeadPage) -> bytes:
    # pydantic-core's serializer, as FastAPI would run it for the declared response model,
    # but on the model built here: no second validation of the page.
    return _PAGE_JSON.dump_json(page)


async def _search(
    session: AsyncSession,
    viewer: Viewer,
    *,
    query: CatalogQuery,
    cursor: str | None,
    secret: str,
    cipher: FieldCipher,
) -> tuple[LeadPage, bool]:
    """The page, and whether it may be shared with every agent of the viewer's class (none of
    its leads was bought by anyone)."""
    statuses = statuses_for(viewer, query.filter.statuses)
    order = order_for(query.sort, exact=viewer.exact)
    after = _position(query, viewer, order, secret, cursor) if cursor else None
    # An agent's page is read as previews (`present.PREVIEW_COLUMNS`); `_present` reads the
    # whole rows of the few leads it bought.
    columns = None if viewer.is_admin else present.PREVIEW_COLUMNS
    rows = await repository.search(
        session, viewer, query, order=order, statuses=statuses, after=after, columns=columns
    )
    page, more = rows[: query.limit], len(rows) > query.limit
    items, bought = await _present(session, viewer, page, cipher=cipher, whole=columns is None)
    next_cursor = _next_cursor(query, viewer, order, secret, page[-1]) if more and page else None
    return LeadPage(items=items, next_cursor=next_cursor), not bought and not viewer.is_admin


async def get_lead(
    session: AsyncSession,
    viewer: Viewer,
    *,
    public_id: uuid.UUID,
    cipher: FieldCipher,
    views: ViewRecorder | None = None,
    rows: RowReader | None = None,
) -> LeadPreview | LeadFull:
    """The full record for its buyer and admins, else the preview of a lead on the market and
    past the viewer's priority window. Raises NotFound otherwise (not 403: an agent must not
    learn that a lead exists before its window opens). `rows` reads an agent's preview (the
    app's `AppState.rows_by_key`: on the driver); None reads it in `session`."""
    if viewer.is_admin:
        row = await repository.by_public_id(session, public_id)
        if row is None:
            raise NotFound("no such lead")
        return present.full(row, cipher=cipher, price=present.price_for(row, 0), now=viewer.now)
    # An agent's lead is read as its preview with what the agent paid for it, in one
    # statement; the whole row only when the agent bought it.
    row = await repository.preview_by_public_id(
        rows or SessionRows(session), public_id, viewer.account_id, present.PREVIEW_COLUMNS
    )
    if row is None:
        raise NotFound("no such lead")
    item: LeadPreview | LeadFull
    whole = None
    if row.paid_cents is not None and row.status != LeadStatus.RETURNED.value:
        # A lead returned and refunded is no longer its buyer's: its contact goes with it.
        whole = await repository.by_public_id(session, public_id)
    if whole is not None:
        paid = MoneyOut(cents=row.paid_cents, currency=row.paid_currency)
        item = present.full(whole, cipher=cipher, price=paid, now=viewer.now)
    else:
        item = present.preview(row, discount_percent=viewer.discount_percent, now=viewer.now)
    if isinstance(item, LeadPreview):
        in_window = viewer.visible_before is not None and row.published_at > viewer.visible_before
        if present.shown_status(row, viewer.now) not in ON_MARKET or in_window:
            raise NotFound("no such lead")
        if views is not None:
            views.view(account_id=viewer.account_id, lead_id=row.id, at=viewer.now)
    return item


async def visible_among(
    session: AsyncSession,
    viewer: Viewer,
    public_ids: Sequence[uuid.UUID],
    *,
    filt: LeadFilter | None = None,
) -> tuple[list[uuid.UUID], list[tuple[datetime, uuid.UUID]]]:
    """Of `public_ids`, the leads on the market (available or held) the viewer may see under
    `filt` (none: any), for live updates that name leads: those visible now, in the order
    given, and (when, id) for those still inside the viewer's priority window, `when` being
    the moment they leave it (published_at + the tier's delay). Nothing else is told: an
    agent learns no id it could not find in the catalog at that moment."""
    f = dataclasses.replace(filt or LeadFilter(), statuses=())
    unwindowed = dataclasses.replace(viewer, visible_before=None)
    found = dict(
        await repository.visible_among(session, unwindowed, public_ids, f, statuses=ON_MARKET)
    )
    delay = None if viewer.visible_before is None else viewer.now - viewer.visible_before
    now_ids: list[uuid.UUID] = []
    later: list[tuple[datetime, uuid.UUID]] = []
    for public_id in dict.fromkeys(public_ids):
        if public_id not in found:
            continue
        published = as_utc(found[public_id])
        if delay is None or published <= viewer.now - delay:
            now_ids.append(public_id)
        else:
            later.append((published + delay, public_id))
    return now_ids, later


async def _present(
    session: AsyncSession,
    viewer: Viewer,
    rows: Sequence[Row[Any]],
    *,
    cipher: FieldCipher,
    whole: bool = True,
) -> tuple[list[LeadPreview | LeadFull], bool]:
    """What the viewer sees of each row, and whether any account bought any of them (always
    True for an admin). `whole`: the rows have every column; else only
    `present.PREVIEW_COLUMNS`, and the whole rows of the leads shown in full are read here."""
    if viewer.is_admin:
        return [
            present.full(r, cipher=cipher, price=present.price_for(r, 0), now=viewer.now)
            for r in rows
        ], True
    paid, bought = await repository.purchases_among(
        session, [r.id for r in rows], viewer.account_id
    )
    # A lead returned and refunded is no longer its buyer's: its contact goes with it.
    owned = {r.id for r in rows if r.id in paid and r.status != LeadStatus.RETURNED.value}
    whole_rows = {} if whole else await repository.by_ids(session, sorted(owned))
    out: list[LeadPreview | LeadFull] = []
    for r in rows:
        record = r if whole else whole_rows.get(r.id)
        if r.id in owned and record is not None:
            cents, currency = paid[r.id]
            paid_price = MoneyOut(cents=cents, currency=currency)
            out.append(present.full(record, cipher=cipher, price=paid_price, now=viewer.now))
        else:
            out.append(present.preview(r, discount_percent=viewer.discount_percent, now=viewer.now))
    return out, bought


async def release_withheld(
    session: AsyncSession, viewer: Viewer, *, public_id: uuid.UUID, cipher: FieldCipher
) -> LeadFull:
    """An admin's release of a lead screening withheld from sale: back on the market, its
    signals kept on record. Raises NotFound for an unknown lead, Conflict when it is not
    withheld."""
    row = await repository.by_public_id(session, public_id)
    if row is None:
        raise NotFound("no such lead")
    released = await writes.release_withheld(
        session, row.id, account_id=viewer.account_id, now=viewer.now
    )
    if not released:
        raise Conflict("the lead is not withheld from sale", detail={"reason": "not_withheld"})
    fresh = await repository.by_public_id(session, public_id)
    assert fresh is not None
    return present.full(fresh, cipher=cipher, price=present.price_for(fresh, 0), now=viewer.now)
