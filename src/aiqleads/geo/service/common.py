"""What every geo answer shares: the call context, who sees what, which statuses a caller may
ask for, the JSON encoding, and the cached get-or-compute of the encoded answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.auth.principal import Principal
from aiqleads.config import Settings
from aiqleads.errors import InvalidInput
from aiqleads.geo.cache import build_key, get_or_compute
from aiqleads.geo.filters import AGENT_STATUSES, LeadFilter, Visibility
from aiqleads.geo.geojson import GeoJSON
from aiqleads.kit.cache import ByteCache
from aiqleads.leads.service import visible_before
from aiqleads.models.enums import LeadStatus


@dataclass(frozen=True, slots=True)
class GeoContext:
    """What every geo call needs besides the session and the caller."""

    settings: Settings
    cache: ByteCache
    now: datetime


def encode(doc: GeoJSON) -> bytes:
    # allow_nan=False: a NaN reaching the encoder is a bug, not something to send to a browser.
    return json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()


def visibility(
    principal: Principal, settings: Settings, now: datetime, *, personal: bool
) -> Visibility:
    """`personal`: the answer depends on the caller's own purchases, so it is cached per account."""
    if principal.is_admin:
        return Visibility(None, None, "admin")
    cutoff = visible_before(principal, settings, now)
    cls = f"account:{principal.account_id}" if personal else f"tier:{principal.tier.value}"
    return Visibility(principal.account_id, cutoff, cls)


def checked_statuses(
    principal: Principal, filt: LeadFilter, default: tuple[LeadStatus, ...]
) -> LeadFilter:
    statuses = filt.statuses or default
    if not principal.is_admin:
        refused = sorted(s.value for s in statuses if s not in AGENT_STATUSES)
        if refused:
            raise InvalidInput(
                "status", f"agents may ask for available, held or sold; not {refused}"
            )
    return replace(filt, statuses=statuses)


async def cached_answer(
    session: AsyncSession,
    ctx: GeoContext,
    *,
    endpoint: str,
    filt: LeadFilter,
    vis: Visibility,
    params: dict[str, Any],
    compute: Callable[[], Any],
) -> bytes:
    key = await build_key(
        session,
        namespace=ctx.settings.cache_namespace,
        endpoint=endpoint,
        filt=filt,
        vis=vis,
        params=params,
    )
    return await get_or_compute(
        ctx.cache,
        key,
        endpoint=endpoint,
        ttl_seconds=ctx.settings.geo_cache_ttl_seconds,
        compute=compute,
    )
