"""Cache keys for geo answers, and the get-or-compute step with its hit/miss counters.

A key is `{namespace}:geo:{FORMAT}:{endpoint}:{scope@version,…}:{visibility}:{edge}:{digest}`:

* the data version of every scope the area touches (leads.versions, bumped by each lead write),
  so a new or changed lead invalidates its own metro's answers at once and no other metro's;
* the visibility class (admin, tier, or account when "my" purchases shape the answer);
* for agents in a priority window, the newest visible publication instant, so an answer goes
  stale exactly when a lead leaves the window (no write happens then);
* the latest hold to have lapsed, so an answer goes stale exactly when a hold expires (no write
  happens then either);
* a digest of the normalised query (filters and endpoint parameters, sorted JSON).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiqleads.db.row_reads import RowReader
from aiqleads.geo.key_memo import KeyMemo
from aiqleads.geo.repository.cache_inputs import key_inputs
from aiqleads.kit.cache import ByteCache
from aiqleads.kit.single_flight import SingleFlight
from aiqleads.leads.filters import LeadFilter
from aiqleads.observability.metrics import (
    CACHE_HITS,
    CACHE_MISSES,
    GEO_CACHE_HITS,
    GEO_CACHE_MISSES,
    GEO_COMPUTE_SECONDS,
)

FORMAT = "v2"  # bump when the shape of an answer changes, so old entries are never served


def query_digest(filt: LeadFilter, params: dict[str, Any]) -> str:
    text = json.dumps({"f": filt.key(), "p": params}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


async def build_key(
    rows: RowReader,
    *,
    namespace: str,
    endpoint: str,
    filt: LeadFilter,
    cache_class: str,
    visible_before: datetime | None,
    now: datetime,
    params: dict[str, Any],
    memo: KeyMemo | None = None,
) -> str:
    """The key of one answer; `cache_class` names everyone who gets the same answer ("admin",
    "tier:basic", "account:42"), `visible_before` the viewer's priority-window cutoff, `now`
    the instant holds are judged at (a lapsed hold changes answers without a write); `rows`
    reads the database's part (`key_inputs`), unless `memo` holds it."""
    found = await key_inputs(rows, filt.area.scopes(), cutoff=visible_before, now=now, memo=memo)
    scopes = ",".join(f"{scope}@{version}" for scope, version in sorted(found.versions.items()))
    edge = "-"
    if visible_before is not None:
        edge = found.edge.isoformat() if found.edge else "none"
    holds = found.lapsed.isoformat() if found.lapsed else "-"
    digest = query_digest(filt, params)
    return f"{namespace}:geo:{FORMAT}:{endpoint}:{scopes}:{cache_class}:{edge}:{holds}:{digest}"


# Answers being computed in this process (kit.single_flight: when a metro's data version moves,
# every open map asks for the same cold answer at once, and at 1M leads each computation is a
# scan of the metro).
_FLIGHTS = SingleFlight()


async def get_or_compute(
    cache: ByteCache,
    key: str,
    *,
    endpoint: str,
    ttl_seconds: float,
    compute: Callable[[], Awaitable[bytes]],
) -> bytes:
    """The stored bytes, or compute, store and return them; counts hits and misses. A request
    that finds the same key being computed in this process waits for that answer (counted as
    a hit: it computes nothing); if that computation fails, it computes for itself."""
    found = await cache.get(key)
    if found is None:
        found = await _FLIGHTS.wait(key)
    if found is not None:
        GEO_CACHE_HITS.labels(endpoint).inc()
        CACHE_HITS.labels("geo").inc()
        return found
    GEO_CACHE_MISSES.labels(endpoint).inc()
    CACHE_MISSES.labels("geo").inc()

    async def computed() -> tuple[bytes, bool]:
        started = time.perf_counter()
        body = await compute()
        GEO_COMPUTE_SECONDS.labels(endpoint).observe(time.perf_counter() - started)
        await cache.set(key, body, ttl_seconds=ttl_seconds)
        return body, True

    return await _FLIGHTS.run(key, computed)
