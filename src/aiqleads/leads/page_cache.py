"""Catalog pages shared between agents who would get the same bytes, in the app's byte cache.

A catalog search at 1M leads reads indexes, the page's rows and its purchases, and builds 50
previews: ~10-20 ms of CPU. Most searches repeat (the same filters from many agents), and an
agent's page of previews depends on nothing personal once no lead on it was ever bought: the
service (`leads.service.catalog_page_json`) shares only such pages.

The key is the geo cache's (`geo.cache.build_key`, read from the database in one statement by
`keys`: on PostgreSQL on the driver itself, `db.row_reads`, from a pool that keeps the
statement's generic plan, where the catalog's own pool plans every execution, 0.3-1.2 ms of
PostgreSQL's CPU for this statement), so a page goes stale exactly when the answer could change,
never after a time:

* the data version of every scope the filter's area touches (bumped by every lead write: a
  new lead, a hold taken or released, a sale);
* the viewer's class: its tier and that tier's discount (prices on the page depend on it);
* the newest publication the tier's priority window lets through (a lead leaving the window
  changes the page without any write);
* the latest hold to have lapsed (a lapsed hold reads as available at once, without a write);
* a digest of the normalised filter, sort, page size and cursor.

The time to live (`catalog_cache_ttl_seconds`) therefore only bounds memory, as the geo
cache's does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.db.row_reads import RowReader
from aiqleads.geo.cache import build_key
from aiqleads.geo.key_memo import KeyMemo
from aiqleads.kit.cache import ByteCache
from aiqleads.kit.single_flight import SingleFlight
from aiqleads.leads.query import CatalogQuery
from aiqleads.leads.visibility import Viewer
from aiqleads.observability.metrics import CACHE_HITS, CACHE_MISSES

ENDPOINT = "catalog-v1"  # change when a page's shape changes, so old entries are never served


@dataclass(frozen=True, slots=True)
class PageCache:
    """Where shared catalog pages live (`cache`), under which `namespace`, for how long, where
    their keys are read (`keys`) and kept (`memo`, see geo.key_memo), and the pages this
    process is building (`flights`)."""

    cache: ByteCache
    keys: RowReader
    namespace: str
    ttl_seconds: float
    memo: KeyMemo | None = None
    flights: SingleFlight = field(default_factory=SingleFlight, compare=False)

    async def key(
        self, session: AsyncSession, viewer: Viewer, query: CatalogQuery, cursor: str | None
    ) -> str:
        """The key of the page `viewer` would get (an agent: its tier and discount name the
        class), read alongside the request's `session`; at most one database round trip."""
        return await build_key(
            self.keys.alongside(session),
            namespace=self.namespace,
            endpoint=ENDPOINT,
            filt=query.filter,
            cache_class=f"agent:{viewer.tier.value}:{viewer.discount_percent}",
            visible_before=viewer.visible_before,
            now=viewer.now,
            params={"sort": query.sort.value, "limit": query.limit, "cursor": cursor},
            memo=self.memo,
        )

    async def get_or_build(
        self, key: str, build: Callable[[], Awaitable[tuple[bytes, bool]]]
    ) -> bytes:
        """The page stored under `key`, or the one another request of this process is
        building for it (`flights`: five agents sending the same search at once build it
        once), or `build` it: its bytes, and whether they may be shared, then stored. Counts
        a page served without building as a hit. Raises what `build` raises."""
        found = await self.cache.get(key)
        if found is None:
            found = await self.flights.wait(key)
        (CACHE_MISSES if found is None else CACHE_HITS).labels("catalog").inc()
        if found is not None:
            return found

        async def built() -> tuple[bytes, bool]:
            body, shareable = await build()
            if shareable:
                await self.cache.set(key, body, ttl_seconds=self.ttl_seconds)
            return body, shareable

        return await self.flights.run(key, built)
