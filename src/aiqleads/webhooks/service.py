"""Webhooks: register, list and delete endpoints (enterprise accounts), list deliveries, and
`emit`, which records an event's deliveries in the caller's transaction."""

from __future__ import annotations

import ipaddress
import json
import secrets
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.auth.principal import Principal
from aiqleads.config import Environment, Settings
from aiqleads.errors import Conflict, Forbidden, InvalidInput, NotFound
from aiqleads.kit.crypto import FieldCipher
from aiqleads.kit.cursor import InvalidCursor, decode_cursor, encode_cursor
from aiqleads.models.enums import Tier
from aiqleads.webhooks import repository
from aiqleads.webhooks.schemas import WebhookEvent
from aiqleads.webhooks.tasks import deliver

MAX_ENDPOINTS = 10  # per account


async def emit(
    session: AsyncSession,
    account_id: int,
    event_type: WebhookEvent | str,
    payload: Mapping[str, Any],
    *,
    now: datetime,
) -> int:
    """Record a delivery of the event to each of the account's endpoints subscribed to
    `event_type`, in `session`'s transaction, and enqueue their sending: they go out once it
    commits, and never if it rolls back. Returns how many deliveries were recorded (0: the
    account has no such webhook, or may have none).

    The body sent is `{"id": "evt_…", "type": event_type, "created": <unix seconds>,
    "data": payload}`; `payload` must be JSON values (ids as strings, money in cents).
    Raises ValueError for an unknown event type and TypeError for a payload that is not JSON.
    """
    kind = WebhookEvent(event_type)
    targets = await repository.subscribed_endpoints(session, account_id, kind.value)
    if not targets:
        return 0
    event_id = f"evt_{uuid.uuid4().hex}"
    envelope = {"id": event_id, "type": kind.value, "created": int(now.timestamp())}
    body = json.dumps({**envelope, "data": dict(payload)}, separators=(",", ":"))
    for endpoint in targets:
        delivery_id = await repository.add_delivery(
            session,
            endpoint_id=endpoint,
            event_id=event_id,
            event_type=kind.value,
            body=body,
            now=now,
        )
        await deliver.enqueue(session, delivery_id=delivery_id)
    return len(targets)


def _may_have_webhooks(principal: Principal) -> None:
    if principal.tier is not Tier.ENTERPRISE and not principal.is_admin:
        raise Forbidden("webhooks are for enterprise accounts")


_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def check_url(url: str, settings: Settings) -> str:
    """The URL, when deliveries may go there: https with a host and no credentials; http only to
    a loopback address outside production (tests, development); in production no address that
    is private, loopback, link-local or reserved. Raises InvalidInput naming `url`."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        _ = parts.port  # raises ValueError for a port out of range
    except ValueError as exc:
        raise InvalidInput("url", f"not a valid URL: {exc}") from None
    if parts.scheme not in ("https", "http") or not host:
        raise InvalidInput("url", "must be an absolute https:// URL")
    if parts.username or parts.password:
        raise InvalidInput("url", "must not carry credentials (user:password@)")
    if parts.fragment:
        raise InvalidInput("url", "must not have a #fragment")
    address = _ip(host)
    loopback = host.lower() in _LOOPBACK_NAMES or (address is not None and address.is_loopback)
    production = settings.env is Environment.PRODUCTION
    if parts.scheme == "http" and not (
        loopback and not production and settings.webhooks.allow_http_loopback
    ):
        raise InvalidInput("url", "must use https (http only to a loopback address, in tests)")
    if production and (loopback or (address is not None and not address.is_global)):
        raise InvalidInput("url", "must be a public address")
    return url.strip()


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def create(
    session: AsyncSession,
    principal: Principal,
    *,
    settings: Settings,
    cipher: FieldCipher,
    url: str,
    event_types: Sequence[WebhookEvent],
    now: datetime,
) -> tuple[Row[Any], str]:
    """A new endpoint and its signing secret (`whsec_…`, returned only here)."""
    _may_have_webhooks(principal)
    checked = check_url(url, settings)
    if await repository.count_endpoints(session, principal.account_id) >= MAX_ENDPOINTS:
        raise Conflict(f"an account may have at most {MAX_ENDPOINTS} webhooks")
    secret = f"whsec_{secrets.token_urlsafe(32)}"
    encrypted = cipher.encrypt(secret)
    assert encrypted is not None
    row = await repository.add_endpoint(
        session,
        account_id=principal.account_id,
        url=checked,
        event_types=sorted({e.value for e in event_types}),
        secret_enc=encrypted,
        now=now,
    )
    return row, secret


async def list_endpoints(session: AsyncSession, principal: Principal) -> Sequence[Row[Any]]:
    _may_have_webhooks(principal)
    return await repository.endpoints_of(session, principal.account_id)


async def _own(session: AsyncSession, principal: Principal, webhook_id: uuid.UUID) -> int:
    _may_have_webhooks(principal)
    row_id = await repository.endpoint_id(session, principal.account_id, webhook_id)
    if row_id is None:
        raise NotFound("no such webhook")
    return row_id


async def delete(session: AsyncSession, principal: Principal, webhook_id: uuid.UUID) -> None:
    """Delete the endpoint and its deliveries (pending ones are not sent)."""
    await repository.delete_endpoint(session, await _own(session, principal, webhook_id))


async def deliveries(
    session: AsyncSession,
    principal: Principal,
    webhook_id: uuid.UUID,
    *,
    secret_key: str,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[Row[Any]], str | None]:
    """A page of the endpoint's deliveries, newest first, and the cursor of the next page."""
    row_id = await _own(session, principal, webhook_id)
    before: int | None = None
    if cursor:
        try:
            values = decode_cursor(secret_key, cursor)
        except InvalidCursor as exc:
            raise InvalidInput("cursor", str(exc)) from None
        if len(values) != 2 or values[0] != "wd" or not isinstance(values[1], int):
            raise InvalidInput("cursor", "not a cursor of this list")
        before = values[1]
    rows = await repository.deliveries_of(session, row_id, before_id=before, limit=limit + 1)
    page, more = rows[:limit], len(rows) > limit
    next_cursor = encode_cursor(secret_key, ["wd", page[-1].id]) if more and page else None
    return page, next_cursor
