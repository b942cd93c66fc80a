"""After purchase: your purchases, their CRM export, returns; admins decide returns."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from aiqleads.auth.principal import Principal
from aiqleads.checkout.routes import checkout_of
from aiqleads.deps import CurrentAdmin, CurrentPrincipal, DbSession, PrincipalApart, State
from aiqleads.errors import Forbidden
from aiqleads.kit.clock import as_utc
from aiqleads.kit.iso import IsoDateTime
from aiqleads.models.enums import ReturnStatus
from aiqleads.purchases import export, refunds, service
from aiqleads.purchases.schemas import (
    PurchasePage,
    RejectRequest,
    ReturnOut,
    ReturnPage,
    ReturnRequest,
)
from aiqleads.routing import SessionRoute

router = APIRouter(route_class=SessionRoute, prefix="/api/v1")

Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Cursor = Annotated[str | None, Query(max_length=2000, description="from next_cursor")]
AccountParam = Annotated[
    uuid.UUID | None, Query(description="an account's public id (admins; agents: their own)")
]


def _window(state: State) -> timedelta:
    return timedelta(days=state.settings.return_window_days)


async def _admin_apart(principal: PrincipalApart) -> Principal:
    """An admin, found in a transaction that ends before the handler runs (the approval manages
    its own transactions around the gateway call)."""
    if not principal.is_admin:
        raise Forbidden("admin role required")
    return principal


AdminApart = Annotated[Principal, Depends(_admin_apart)]


@router.get("/purchases", tags=["purchases"])
async def purchases(
    principal: CurrentPrincipal,
    session: DbSession,
    state: State,
    account: AccountParam = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PurchasePage:
    """Your purchases, newest first: each lead's full record, the price paid, when, the order,
    until when it may be returned and its latest return. Admins may name an `account`."""
    account_id = await service.account_scope(session, principal, account)
    return await service.list_purchases(
        session,
        account_id=account_id,
        cursor=cursor,
        limit=limit,
        now=state.clock.now(),
        window=_window(state),
        secret=state.settings.secret_key,
        cipher=state.cipher,
    )


@router.get(
    "/purchases/export.csv",
    tags=["purchases"],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "RFC 4180 CSV, UTF-8 + BOM"}},
)
async def export_purchases(
    principal: CurrentPrincipal,
    session: DbSession,
    state: State,
    since: Annotated[
        IsoDateTime | None,
        Query(description="only purchases at or after (ISO 8601; UTC if no zone)"),
    ] = None,
    account: AccountParam = None,
) -> StreamingResponse:
    """Your purchases as a CSV file for a CRM, one row per purchase (newest first; returned
    leads left out): First Name, Last Name, Phone, Email, Street, City, State, ZIP, Source,
    Source Link, Purchase Date, Price Paid."""
    account_id = await service.account_scope(session, principal, account)
    since_utc = None if since is None else as_utc(since)
    chunks: AsyncIterator[str] = service.export_csv(
        state.sessions, account_id=account_id, since=since_utc, cipher=state.cipher
    )
    day = state.clock.now().date().isoformat()
    return StreamingResponse(
        (chunk.encode("utf-8") async for chunk in chunks),
        media_type=export.MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="aiqleads-purchases-{day}.csv"',
            "Cache-Control": "no-store",  # owner contact details
        },
    )


@router.post("/returns", status_code=201, tags=["returns"])
async def request_return(
    body: ReturnRequest, principal: CurrentPrincipal, session: DbSession, state: State
) -> ReturnOut:
    """Ask to return a lead you bought, within the return window of its purchase (7 days by
    default). 404 for a lead you did not buy; 409 when a return of it is open or refunded, or
    the window is over (`detail.reason` says which)."""
    return await service.request_return(
        session, principal, body, now=state.clock.now(), window=_window(state)
    )


@router.get("/returns", tags=["returns"])
async def my_returns(
    principal: CurrentPrincipal,
    session: DbSession,
    state: State,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ReturnPage:
    """Your returns, newest first."""
    return await service.list_returns(
        session,
        account_id=principal.account_id,
        statuses=(),
        cursor=cursor,
        limit=limit,
        descending=True,
        secret=state.settings.secret_key,
    )


@router.get("/admin/returns", tags=["admin"])
async def admin_returns(
    _: CurrentAdmin,
    session: DbSession,
    state: State,
    status: Annotated[
        list[ReturnStatus] | None, Query(description="repeatable; every status when absent")
    ] = None,
    account: Annotated[uuid.UUID | None, Query(description="one buyer's public id")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ReturnPage:
    """Every account's returns, oldest first (a queue), optionally of some statuses or one
    buyer."""
    account_id = None
    if account is not None:
        account_id = await service.account_id_of(session, account)
    return await service.list_returns(
        session,
        account_id=account_id,
        statuses=sorted(set(status or ())),
        cursor=cursor,
        limit=limit,
        descending=False,
        secret=state.settings.secret_key,
    )


@router.post("/admin/returns/{return_id}/approve", tags=["admin"])
async def approve_return(return_id: uuid.UUID, admin: AdminApart, state: State) -> ReturnOut:
    """Approve a return: the price paid is refunded through the gateway (once, however often
    this is sent), the lead becomes `returned`. 503 when the gateway did not answer (the return
    stays `approved`: send it again); 409 for a rejected return or a refund the gateway
    refused."""
    return await refunds.approve(checkout_of(state), admin, return_id=return_id)


@router.post("/admin/returns/{return_id}/reject", tags=["admin"])
async def reject_return(
    return_id: uuid.UUID, body: RejectRequest, admin: CurrentAdmin, session: DbSession, state: State
) -> ReturnOut:
    """Reject a requested return, saying why (the buyer sees the reason). 409 when it was
    approved or refunded already."""
    return await service.reject(
        session, admin, return_id=return_id, reason=body.reason, now=state.clock.now()
    )
