"""What every geo answer shares: the call context, which statuses a caller may ask for, the JSON
encoding, and the cached get-or-compute of the encoded answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.config import Settings
from aiqleads.db.row_reads import RowReader, SessionRows
from aiqleads.errors import InvalidInput
from aiqleads.geo.cache import build_key, get_or_compute
from aiqleads.geo.geojson import GeoJSON
from aiqleads.geo.key_memo import KeyMemo
from aiqleads.kit.cache import ByteCache
from aiqleads.leads.filters import LeadFilter
from aiqleads.leads.status import AGENT_STATUSES
from aiqleads.leads.visibility import Viewer
from aiqleads.models.enums import LeadStatus


@dataclass(frozen=True, slots=True)
class GeoContext:
    """What every geo call needs besides the session and the viewer. `keys`: what reads cache
    keys (the app's `rows_by_key`: on the driver, from a pool where PostgreSQL keeps the key
    statement's plan); None reads them in the call's session. `memo`: where key inputs are
    kept between calls (geo.key_memo; None: read every time)."""

    settings: Settings
    cache: ByteCache
    now: datetime
    keys: RowReader | None = None
    memo: KeyMemo | None = None

    @property
    def min_group(self) -> int:
        """The fewest leads an aggregate shown to an agent may cover (`geo.disclosure`)."""
        return self.settings.disclosure_min_leads


def encode(doc: GeoJSON) -> bytes:
    # allow_nan=False: a NaN reaching the encoder is a bug, not something to send to a browser.
    return json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()


def basis(viewer: Viewer) -> dict[str, Any]:
    """How the answer places leads, so a client can label it: exact points, or preview cells
    with the smallest group an aggregate shows."""
    return {"location_basis": "exact" if viewer.exact else "preview_cell"}


def checked_statuses(
    viewer: Viewer, filt: LeadFilter, default: tuple[LeadStatus, ...]
) -> tuple[LeadStatus, ...]:
    """The statuses asked for, else `default`. Raises InvalidInput("status") when an agent asks
    for one it may not see."""
    statuses = filt.statuses or default
    if not viewer.is_admin:
        refused = sorted(s.value for s in statuses if s not in AGENT_STATUSES)
        if refused:
            raise InvalidInput(
                "status", f"agents may ask for available, held or sold; not {refused}"
            )
    return tuple(sorted(set(statuses)))


def cache_class(viewer: Viewer, *, personal: bool) -> str:
    """Everyone who gets the same answer. `personal`: the answer depends on the caller's own
    purchases, so it is cached per account."""
    if viewer.is_admin:
        return "admin"
    return f"account:{viewer.account_id}" if personal else f"tier:{viewer.tier.value}"


async def cached_answer(
    session: AsyncSession,
    ctx: GeoContext,
    *,
    endpoint: str,
    filt: LeadFilter,
    viewer: Viewer,
    personal: bool,
    params: dict[str, Any],
    compute: Callable[[], Any],
) -> bytes:

    key = await build_key(
        ctx.keys.alongside(session) if ctx.keys else SessionRows(session),
        namespace=ctx.settings.cache_namespace,
        endpoint=endpoint,
        filt=filt,
        cache_class=cache_class(viewer, personal=personal),
        visible_before=viewer.visible_before,
        now=viewer.now,
        params={**params, "min_group": None if viewer.exact else ctx.min_group},
        memo=ctx.memo,
    )
    return await get_or_compute(
        ctx.cache,
        key,
        endpoint=endpoint,
        ttl_seconds=ctx.settings.geo_cache_ttl_seconds,
        compute=compute,
    )
