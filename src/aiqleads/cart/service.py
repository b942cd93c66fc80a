"""Holds: take them in bulk, extend, release, list the cart (DESIGN.md section 2).

Every change of an account's cart first locks the account's lock row, and writes it before
reading the cart (`lock_cart`, or `lock_and_view` in one statement), so two requests of one
agent run one after the other and cannot pass the cart limit together; the hold itself is
one conditional UPDATE of the lead (`leads.writes.take_hold`), so two agents racing for a
lead cannot both win. The price is fixed when the hold is taken. Other agents'
open pages hear of each hold and release once it commits (`notices.after_commit`).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Insert, Update, bindparam
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.cart import repository
from aiqleads.cart.repository import LeadState
from aiqleads.cart.schemas import Cart, CartHold, HoldAnswer, HoldResult, Refusal
from aiqleads.config import TierPolicy
from aiqleads.db.row_reads import RowReader, SessionRows
from aiqleads.errors import AppError, Conflict, ErrorCode, NotFound
from aiqleads.events import repository as events
from aiqleads.kit.money import Money
from aiqleads.leads import present, writes
from aiqleads.leads.schemas import MoneyOut
from aiqleads.leads.visibility import Viewer
from aiqleads.models.enums import EventKind, HoldEnd, LeadStatus
from aiqleads.notices import MARKET, Notices
from aiqleads.notices.after_commit import publish_after_commit
from aiqleads.notices.channels import message


def cart_limit(policy: TierPolicy, custom_limit: int | None) -> int:
    """The most leads an account may hold at once: its own limit (enterprise), else its tier's."""
    return custom_limit if custom_limit is not None else policy.cart_limit


class _NotAll(Exception):
    """An all-or-nothing request met a refusal: undo what it held."""


def _refusal_of(state: LeadState | None, viewer: Viewer) -> Refusal | None:
    """Why this lead cannot be held by the viewer now, judged before trying; None: try."""
    if state is None:
        return Refusal.NOT_FOUND
    status = state.status
    lapsed = status == LeadStatus.HELD.value and (
        state.held_until is None or state.held_until <= viewer.now
    )
    live = status == LeadStatus.HELD.value and not lapsed
    if live and state.held_by == viewer.account_id:
        return None  # the viewer's own hold: it knows the lead already
    # A lead inside the viewer's priority window is refused as such whatever its state: sold,
    # held by another or off the market would tell the state of a lead it may not see yet.
    if viewer.visible_before is not None and state.published_at > viewer.visible_before:
        return Refusal.NOT_VISIBLE_YET
    if status == LeadStatus.SOLD.value:
        return Refusal.SOLD
    if live:
        return Refusal.HELD_BY_OTHER
    if status != LeadStatus.AVAILABLE.value and not lapsed:
        return Refusal.NOT_FOUND  # off the market: agents do not learn why
    return None


async def hold(
    session: AsyncSession,
    viewer: Viewer,
    *,
    policy: TierPolicy,
    custom_limit: int | None,
    lead_ids: list[uuid.UUID],
    all_or_nothing: bool,
    notices: Notices,
) -> HoldAnswer:
    """Hold each lead (duplicates once) and say per lead, in the order given, what happened.
    Ids beyond the tier's bulk limit are refused `bulk_limit_exceeded`. When the cart has fewer
    places left than the request has leads it could hold, the places go to those listed first
    and the rest are refused `cart_limit_reached`: which lead a refusal hits depends on the
    request (and on what the caller may read of each lead), never on the leads' hidden row
    order. The leads admitted are then taken in the order of their rows (see below); should
    one be lost to another agent meanwhile, its place goes to the next refused in the
    request's order, in one more such round. With `all_or_nothing`, one refusal undoes every
    hold of it."""
    now = viewer.now
    ids = list(dict.fromkeys(lead_ids))
    within, beyond = ids[: policy.bulk_limit], ids[policy.bulk_limit :]
    # The cart locked first thing, then read (on PostgreSQL one statement in the usual case).
    states, live = await repository.lock_and_view(session, viewer.account_id, within, now=now)
    limit = cart_limit(policy, custom_limit)
    until = now + timedelta(minutes=policy.hold_minutes)
    found: dict[uuid.UUID, HoldResult] = {}
    # Only an all-or-nothing request may have to undo its holds: the others need no savepoint
    # (two round trips fewer for the commonest request).
    savepoint = await session.begin_nested() if all_or_nothing else None
    try:
        # Which leads may be taken is decided in the request's order, before any is taken
        waiting: list[uuid.UUID] = []  # could be held, but the cart is full (so far)
        for lead_id in within:
            state = states.get(lead_id)
            refusal = _refusal_of(state, viewer)
            if refusal is not None or state is None:
                found[lead_id] = HoldResult(lead_id=lead_id, held=False, refused=refusal)
            elif (mine := await _mine(session, viewer, state, lead_id)) is not None:
                found[lead_id] = mine  # already in the cart: counts once, as it does
            else:
                waiting.append(lead_id)
        while waiting and live < limit:
            admitted, waiting = waiting[: limit - live], waiting[limit - live :]
            # Taken in the order of their rows, whatever order the request gives: two bulk
            # requests then never wait on each other's rows in a cycle (no deadlock). A second
            # round cannot deadlock either: on PostgreSQL a busy lead is skipped, not waited
            # for (`writes.take_hold`), and SQLite has one writer at a time.
            for lead_id in sorted(admitted, key=lambda i: states[i].id):
                result = await _take(
                    session,
                    viewer,
                    states[lead_id],
                    lead_id,
                    until=until,
                    last_write=len(within) == 1,
                )
                live += result.held
                found[lead_id] = result
        for lead_id in waiting:
            found[lead_id] = HoldResult(
                lead_id=lead_id, held=False, refused=Refusal.CART_LIMIT_REACHED
            )
        results = [found[i] for i in within]
        results += [
            HoldResult(lead_id=i, held=False, refused=Refusal.BULK_LIMIT_EXCEEDED) for i in beyond
        ]
        if all_or_nothing and any(not r.held for r in results):
            raise _NotAll
        if savepoint is not None:
            await savepoint.commit()
    except _NotAll:
        assert savepoint is not None
        await savepoint.rollback()
        results = [
            r
            if not r.held
            else HoldResult(lead_id=r.lead_id, held=False, refused=Refusal.NOT_ALL_HELD)
            for r in results
        ]
    taken = [str(r.lead_id) for r in results if r.held]
    if taken:  # others' open pages learn the leads are gone, once this commits
        held_notice = message("leads_held", at=now, lead_ids=taken)
        publish_after_commit(session, notices, MARKET, held_notice)
    held = sum(r.held for r in results)
    return HoldAnswer(items=results, held=held, refused=len(results) - held)


async def _mine(
    session: AsyncSession, viewer: Viewer, state: LeadState, public_id: uuid.UUID
) -> HoldResult | None:
    """The viewer's live hold of the lead, as a result (the same hold, at the price it fixed);
    None when the viewer does not hold it."""
    if state.status != LeadStatus.HELD.value or state.held_by != viewer.account_id:
        return None
    if await repository.live_hold(session, viewer.account_id, state.id, now=viewer.now) is None:
        return None
    return await _already(session, viewer, state, public_id)


async def _take(
    session: AsyncSession,
    viewer: Viewer,
    state: LeadState,
    public_id: uuid.UUID,
    *,
    until: datetime,
    last_write: bool,
) -> HoldResult:
    """Take a hold of a lead the cart has a place for; refused as it stands now when another
    agent was quicker. `last_write`: the request holds no other lead (see `writes.take_hold`)."""
    price = Money(state.price_cents, state.price_currency).percent_off(viewer.discount_percent)
    records = writes.Along(
        _hold_records,
        {
            _PRICE: price.cents,
            _CURRENCY: price.currency,
            _EVENT_DATA: {"until": until.isoformat(), "price_cents": price.cents},
        },
    )
    taken = await writes.take_hold(
        session,
        state.id,
        account_id=viewer.account_id,
        until=until,
        now=viewer.now,
        visible_before=viewer.visible_before,
        seen_status=state.status,
        along=records,
        last_write=last_write,
    )
    if not taken:  # someone was quicker: say who has it now
        fresh = (await repository.lead_states(session, [public_id])).get(public_id)
        refused = _refusal_of(fresh, viewer) or Refusal.HELD_BY_OTHER
        return HoldResult(lead_id=public_id, held=False, refused=refused)
    return HoldResult(
        lead_id=public_id,
        held=True,
        held_until=until,
        price=MoneyOut(cents=price.cents, currency=price.currency),
    )


async def _already(
    session: AsyncSession, viewer: Viewer, state: LeadState, public_id: uuid.UUID
) -> HoldResult:
    live = await repository.live_holds(SessionRows(session), viewer.account_id, now=viewer.now)
    for row in live:
        if row.id == state.id:
            return HoldResult(
                lead_id=public_id,
                held=True,
                held_until=row.held_until,
                price=MoneyOut(cents=row.hold_price_cents, currency=row.hold_currency),
            )
    raise AssertionError("a live hold vanished inside its own transaction")


async def release(
    session: AsyncSession, viewer: Viewer, *, lead_id: uuid.UUID, notices: Notices
) -> None:
    """Give a held lead back to the market. Raises NotFound when the viewer does not hold it."""
    lead = await repository.lock_cart_for(session, viewer.account_id, lead_id, now=viewer.now)
    if lead is None:
        raise NotFound("you hold no such lead")
    records = writes.Along(_release_records, {})
    released = await writes.release_hold(
        session,
        lead,
        account_id=viewer.account_id,
        now=viewer.now,
        cause="release",
        along=records,
        last_write=True,
    )
    if not released:
        raise NotFound("you hold no such lead")
    available = message("leads_available", at=viewer.now, lead_ids=[str(lead_id)])
    publish_after_commit(session, notices, MARKET, available)


# The values of a hold's records bound at execution (see `writes.Along`), beside the lead,
# the account, the hold's end and the moment that `writes.take_hold` binds.
_PRICE, _CURRENCY, _EVENT_DATA = "p_price_cents", "p_currency", "p_event_data"


def _bound(*names: str) -> list[BindParameter[Any]]:
    return [bindparam(name) for name in names]


def _hold_records(guard: ColumnElement[bool] | None) -> list[Insert | Update]:
    # The lead's earlier record closed (a lapsed hold no sweeper ended yet), the new record and
    # the event: on PostgreSQL in the statement that takes the hold (one round trip).
    lead, account, now, until = _bound(writes.LEAD, writes.ACCOUNT, writes.NOW, writes.UNTIL)
    event = events.event(
        EventKind.HOLD, account_id=account, lead_id=lead, at=now, data=bindparam(_EVENT_DATA)
    )
    return [
        repository.ending_holds(lead_id=lead, reason=HoldEnd.EXPIRED, now=now, guard=guard),
        events.appending_if(event, guard),
        repository.add_hold(
            lead_id=lead,
            account_id=account,
            price_cents=bindparam(_PRICE),
            currency=bindparam(_CURRENCY),
            now=now,
            until=until,
            guard=guard,
        ),
    ]


def _release_records(guard: ColumnElement[bool] | None) -> list[Insert | Update]:
    # The hold's record closed and the event, in the statement that frees the lead.
    lead, account, now = _bound(writes.LEAD, writes.ACCOUNT, writes.NOW)
    event = events.event(EventKind.RELEASE, account_id=account, lead_id=lead, at=now)
    ending = repository.ending_holds(
        account_id=account, lead_id=lead, reason=HoldEnd.RELEASED, now=now, guard=guard
    )
    return [ending, events.appending_if(event, guard)]


async def extend(
    session: AsyncSession, viewer: Viewer, *, policy: TierPolicy, lead_id: uuid.UUID
) -> HoldResult:
    """Add the tier's hold duration to a live hold, if the tier allows another extension.
    Raises NotFound when the viewer holds no such lead, Conflict when no extension is left."""
    await repository.lock_cart(session, viewer.account_id, now=viewer.now)
    state = (await repository.lead_states(session, [lead_id])).get(lead_id)
    found = None
    if state is not None:
        found = await repository.live_hold(session, viewer.account_id, state.id, now=viewer.now)
    if state is None or found is None:
        raise NotFound("you hold no such lead")
    if found.extensions_used >= policy.hold_extensions:
        raise AppError(
            f"your tier allows {policy.hold_extensions} extension(s) of a hold",
            status=409,
            code=ErrorCode.CONFLICT,
            detail=[{"field": "lead_id", "reason": "no_extensions_left"}],
        )
    until = found.held_until + timedelta(minutes=policy.hold_minutes)
    if not await writes.extend_hold(
        session, state.id, account_id=viewer.account_id, until=until, now=viewer.now
    ):
        raise Conflict("the hold ended while it was being extended")
    await repository.extend(session, found.id, until=until)
    await events.append(
        session,
        [
            events.event(
                EventKind.EXTEND,
                account_id=viewer.account_id,
                lead_id=state.id,
                at=viewer.now,
                data={"until": until.isoformat()},
            )
        ],
    )
    rows = await repository.live_holds(SessionRows(session), viewer.account_id, now=viewer.now)
    row = next(r for r in rows if r.id == state.id)
    return HoldResult(
        lead_id=lead_id,
        held=True,
        held_until=until,
        price=MoneyOut(cents=row.hold_price_cents, currency=row.hold_currency),
    )


async def cart(
    rows: RowReader, viewer: Viewer, *, policy: TierPolicy, custom_limit: int | None
) -> Cart:
    """The viewer's live holds, soonest to end first, with the prices they fixed, read by
    `rows` (the app's `AppState.rows_by_key`, or `SessionRows`)."""
    holds = await repository.live_holds(rows, viewer.account_id, now=viewer.now)
    items = [
        CartHold(
            lead=present.preview(r, discount_percent=viewer.discount_percent, now=viewer.now),
            price=MoneyOut(cents=r.hold_price_cents, currency=r.hold_currency),
            held_until=r.held_until,
            extensions_left=max(policy.hold_extensions - r.extensions_used, 0),
        )
        for r in holds
    ]
    currencies = {i.price.currency for i in items} or {"USD"}
    if len(currencies) > 1:  # only USD leads are sold (DESIGN.md section 2)
        raise Conflict("the cart holds leads priced in several currencies")
    total = MoneyOut(cents=sum(i.price.cents for i in items), currency=currencies.pop())
    return Cart(items=items, total=total, cart_limit=cart_limit(policy, custom_limit))
