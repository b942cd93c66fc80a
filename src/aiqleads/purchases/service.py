"""After purchase: a buyer's purchases (full records), the CRM export, asking for a return, and
an admin's list and rejection of returns. (Approving a return refunds through the gateway, across
transactions of its own: `purchases.refunds`.)

Who sees what: an agent sees only its own purchases and returns; an admin may name any account.
A lead the agent did not buy is "not found", never "forbidden", so a lead id tells nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.auth import repository as accounts
from aiqleads.auth.principal import Principal
from aiqleads.errors import Conflict, Forbidden, InvalidInput, NotFound
from aiqleads.kit.clock import as_utc
from aiqleads.kit.crypto import FieldCipher
from aiqleads.kit.cursor import InvalidCursor, decode_cursor, encode_cursor
from aiqleads.leads import present
from aiqleads.leads.schemas import MoneyOut
from aiqleads.models.enums import ReturnReason, ReturnStatus
from aiqleads.observability.metrics import RETURNS
from aiqleads.purchases import export, repository
from aiqleads.purchases.repository import Position
from aiqleads.purchases.schemas import (
    PurchaseOut,
    PurchasePage,
    ReturnBrief,
    ReturnOut,
    ReturnPage,
    ReturnRequest,
)

EXPORT_CHUNK = 500  # purchases read and written per step of the CSV export


# --- cursors ----------------------------------------------------------------------------------


def _next_cursor(secret: str, kind: str, at: datetime, row_id: int) -> str:
    # Encrypted (kit.cursor): the row id inside is never shown.
    return encode_cursor(secret, [kind, as_utc(at).isoformat(), row_id])


def _position(secret: str, kind: str, raw: str) -> Position:
    """The position a cursor holds. Raises InvalidInput("cursor") for one not issued here or
    issued for another list."""
    try:
        values = decode_cursor(secret, raw)
    except InvalidCursor as exc:
        raise InvalidInput("cursor", str(exc)) from exc
    if len(values) != 3 or values[0] != kind:
        raise InvalidInput("cursor", "cursor belongs to another list; start again")
    try:
        return as_utc(datetime.fromisoformat(str(values[1]))), int(values[2])
    except (TypeError, ValueError) as exc:
        raise InvalidInput("cursor", "cursor is not of this server's format") from exc


async def account_scope(
    session: AsyncSession, principal: Principal, account: uuid.UUID | None
) -> int:
    """The account whose purchases or returns the principal asks for: its own by default; an
    admin may name any account. Raises Forbidden when an agent names another account, NotFound
    when an admin names an unknown one."""
    if account is None or account == principal.public_id:
        return principal.account_id
    if not principal.is_admin:
        raise Forbidden("only admins may see another account's purchases or returns")
    return await account_id_of(session, account)


async def account_id_of(session: AsyncSession, account: uuid.UUID) -> int:
    """The row id of the account with this public id. Raises NotFound."""
    found = await accounts.account_by_public_id(session, account)
    if found is None:
        raise NotFound("no such account")
    return found.id


# --- purchases --------------------------------------------------------------------------------


def _purchase_out(
    r: Row[Any], *, cipher: FieldCipher, now: datetime, window: timedelta
) -> PurchaseOut:
    paid = MoneyOut(cents=r.paid_cents, currency=r.paid_currency)
    brief = (
        None
        if r.return_public_id is None
        else ReturnBrief(id=r.return_public_id, status=ReturnStatus(r.return_status))
    )
    return PurchaseOut(
        lead=present.full(r, cipher=cipher, price=paid, now=now),
        price_paid=paid,
        purchased_at=r.purchased_at,
        order_id=r.order_public_id,
        buyer_id=r.buyer_public_id,
        returnable_until=as_utc(r.purchased_at) + window,
        return_request=brief,
    )


async def list_purchases(
    session: AsyncSession,
    *,
    account_id: int,
    cursor: str | None,
    limit: int,
    now: datetime,
    window: timedelta,
    secret: str,
    cipher: FieldCipher,
) -> PurchasePage:
    """One page of the account's purchases, newest first, each with the lead's full record.
    Raises InvalidInput("cursor") for a cursor not issued by this list."""
    after = _position(secret, "purchases", cursor) if cursor else None
    rows = await repository.purchases_page(session, account_id=account_id, after=after, limit=limit)
    page, more = rows[:limit], len(rows) > limit
    last = page[-1] if more and page else None
    return PurchasePage(
        items=[_purchase_out(r, cipher=cipher, now=now, window=window) for r in page],
        next_cursor=None
        if last is None
        else _next_cursor(secret, "purchases", last.purchased_at, last.purchase_id),
    )


async def export_csv(
    sessions: async_sessionmaker[AsyncSession],
    *,
    account_id: int,
    since: datetime | None,
    cipher: FieldCipher,
) -> AsyncIterator[str]:
    """The account's purchases as CSV text, in pieces (see `purchases.export` for the format):
    the BOM and header, then one row per purchase, newest first, bought at or after `since`.
    Purchases whose return was refunded are left out: the lead is no longer the buyer's. Reads
    `EXPORT_CHUNK` purchases per short read transaction, so memory stays bounded."""
    yield export.preamble()
    after: Position | None = None
    while True:
        async with sessions() as session:
            rows = await repository.purchases_page(
                session,
                account_id=account_id,
                after=after,
                limit=EXPORT_CHUNK,
                since=since,
                without_refunded=True,
            )
        chunk = rows[:EXPORT_CHUNK]
        if chunk:
            yield export.encode(_csv_row(r, cipher) for r in chunk)
        if len(rows) <= EXPORT_CHUNK:
            return
        after = (chunk[-1].purchased_at, chunk[-1].purchase_id)


def _csv_row(r: Row[Any], cipher: FieldCipher) -> list[str]:
    return export.purchase_row(
        owner_name=cipher.decrypt(r.owner_name_enc),
        owner_phone=cipher.decrypt(r.owner_phone_enc),
        owner_email=cipher.decrypt(r.owner_email_enc),
        street=r.street_address,
        unit=r.unit,
        city=r.city,
        state=r.state,
        zip_code=r.zip_code,
        source=r.source,
        source_url=r.source_url,
        purchased_at=r.purchased_at,
        paid_cents=r.paid_cents,
    )


# --- returns ----------------------------------------------------------------------------------


def return_out(r: Row[Any]) -> ReturnOut:
    return ReturnOut(
        id=r.public_id,
        lead_id=r.lead_public_id,
        buyer_id=r.buyer_public_id,
        status=ReturnStatus(r.status),
        reason=ReturnReason(r.reason),
        note=r.note,
        refund=MoneyOut(cents=r.amount_cents, currency=r.currency),
        purchased_at=r.purchased_at,
        requested_at=r.requested_at,
        decided_at=r.decided_at,
        rejection_reason=r.rejection_reason,
        refunded_at=r.refunded_at,
        refund_reference=r.refund_reference,
    )


def _already(found: Row[Any]) -> Conflict:
    status = ReturnStatus(found.status)
    detail = {"return_id": str(found.public_id), "status": status.value}
    if status is ReturnStatus.REFUNDED:
        return Conflict(
            "this lead was returned and refunded already",
            detail={"reason": "already_returned", **detail},
        )
    return Conflict(
        f"a return of this lead is already {status.value}: one open return per purchase",
        detail={"reason": "return_open", **detail},
    )


async def request_return(
    session: AsyncSession,
    principal: Principal,
    body: ReturnRequest,
    *,
    now: datetime,
    window: timedelta,
) -> ReturnOut:
    """The buyer asks to return a lead it bought, within `window` of the purchase (the end
    included). Raises NotFound when the caller did not buy the lead; Conflict when a return of
    it is open or refunded already (detail.reason `return_open`, `already_returned`) or the
    window is over (`return_window_over`, with `returnable_until`)."""
    purchase = await repository.purchase_of_lead(
        session, lead_public_id=body.lead_id, account_id=principal.account_id
    )
    if purchase is None:
        raise NotFound("no purchase of this lead in your account")
    found = await repository.open_return(session, purchase.id)
    if found is not None:
        raise _already(found)
    until = as_utc(purchase.purchased_at) + window
    if now > until:
        days = window.days
        raise Conflict(
            f"the return window of this lead closed at {until.isoformat()}: leads may be"
            f" returned within {days} day{'s' if days != 1 else ''} of purchase",
            detail={
                "reason": "return_window_over",
                "purchased_at": as_utc(purchase.purchased_at).isoformat(),
                "returnable_until": until.isoformat(),
            },
        )
    savepoint = await session.begin_nested()
    try:
        return_id = await repository.insert_return(
            session,
            purchase_id=purchase.id,
            account_id=principal.account_id,
            reason=body.reason.value,
            note=body.note,
            amount_cents=purchase.price_cents,
            currency=purchase.currency,
            now=now,
        )
    except IntegrityError:  # a racing request of the same buyer filed one first
        await savepoint.rollback()
        raced = await repository.open_return(session, purchase.id)
        if raced is None:
            raise
        raise _already(raced) from None
    await savepoint.commit()
    RETURNS.labels(ReturnStatus.REQUESTED.value).inc()
    row = await repository.return_by_id(session, return_id)
    assert row is not None
    return return_out(row)


async def list_returns(
    session: AsyncSession,
    *,
    account_id: int | None,
    statuses: Sequence[ReturnStatus],
    cursor: str | None,
    limit: int,
    descending: bool,
    secret: str,
) -> ReturnPage:
    """One page of returns of an account (None: every account's) in `statuses` (empty: all):
    newest first when `descending`, else oldest first (an admin's queue). Raises
    InvalidInput("cursor") for a cursor not issued by this list."""
    kind = "returns:desc" if descending else "returns:asc"
    after = _position(secret, kind, cursor) if cursor else None
    rows = await repository.returns_page(
        session,
        account_id=account_id,
        statuses=statuses,
        after=after,
        limit=limit,
        descending=descending,
    )
    page, more = rows[:limit], len(rows) > limit
    last = page[-1] if more and page else None
    return ReturnPage(
        items=[return_out(r) for r in page],
        next_cursor=None
        if last is None
        else _next_cursor(secret, kind, last.requested_at, last.id),
    )


async def reject(
    session: AsyncSession, admin: Principal, *, return_id: uuid.UUID, reason: str, now: datetime
) -> ReturnOut:
    """An admin rejects a requested return, saying why. Rejecting a rejected return again
    answers it unchanged. Raises NotFound, or Conflict when the return was approved or
    refunded already."""
    found = await repository.return_by_public_id(session, return_id)
    if found is None:
        raise NotFound("no such return")
    moved = await repository.move_return(
        session,
        found.id,
        to=ReturnStatus.REJECTED,
        only_from=[ReturnStatus.REQUESTED],
        now=now,
        decided_at=now,
        decided_by=admin.account_id,
        rejection_reason=reason,
    )
    row = await repository.return_by_id(session, found.id)
    assert row is not None
    if moved:
        RETURNS.labels(ReturnStatus.REJECTED.value).inc()
    elif row.status != ReturnStatus.REJECTED.value:
        raise Conflict(
            f"the return is {row.status} already: only a requested return can be rejected",
            detail={"return_id": str(row.public_id), "status": row.status},
        )
    return return_out(row)
