"""The hot read routes run their statements without a transaction (`deps.reads_only`), and
those that find rows by key, and every cache key's read, with plans PostgreSQL keeps
(`deps.generic_plans`, `AppState.generic_read_sessions`).

On PostgreSQL a transaction adds BEGIN and COMMIT to a request: two round trips more for a
cached map layer or a cart view, whose answer is one statement (docs/operations/scaling.md,
"Where a request's CPU goes"). These routes write nothing, so nothing needs one; a change that
drops the marker costs every such request those round trips, and fails here. A statement
planned at each execution costs PostgreSQL 0.3-1.2 ms more for a cache key or a lead by its id.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.app import create_app
from aiqleads.deps import is_reads_only, uses_generic_plans
from aiqleads.kit.clock import FrozenClock
from tests.app_routes import app_routes
from tests.factories import agent

# GET routes an agent's map page calls on every move, or every page calls, and /auth/me.
HOT_READS = {
    "/api/v1/auth/me",
    "/api/v1/leads",
    "/api/v1/leads/{lead_id}",
    "/api/v1/geo/heatmap",
    "/api/v1/geo/clusters",
    "/api/v1/geo/penetration",
    "/api/v1/geo/competitors",
    "/api/v1/cart",
    "/api/v1/recommendations",
}
# Of those, the routes whose statements find rows by key.
BY_KEY = {"/api/v1/auth/me", "/api/v1/leads/{lead_id}", "/api/v1/cart"}


def test_every_hot_read_route_reads_without_a_transaction() -> None:
    # Given the application's routes
    gets = {path: r for method, path, r in app_routes(create_app().routes) if method == "GET"}
    # Then each hot read route exists and is marked as reading only
    assert set(gets) >= HOT_READS, sorted(HOT_READS - set(gets))
    handlers = {p: getattr(gets[p], "endpoint", None) for p in sorted(HOT_READS)}
    assert [p for p, handler in handlers.items() if not is_reads_only(handler)] == []


def test_the_hot_reads_by_key_keep_their_plans() -> None:
    gets = {path: r for method, path, r in app_routes(create_app().routes) if method == "GET"}
    handlers = {p: getattr(gets[p], "endpoint", None) for p in sorted(BY_KEY)}
    assert [p for p, handler in handlers.items() if not uses_generic_plans(handler)] == []


async def test_cache_keys_are_read_on_the_pool_that_keeps_plans(
    app: FastAPI,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    # Given an agent, and the statements each of the app's pools runs
    state = app.state.aiq
    _, headers = await agent(client, sessions, clock)
    seen: dict[str, list[str]] = {"main": [], "generic": []}

    def on(name: str) -> Any:
        def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            seen[name].append(statement)

        return record

    pools = {"main": state.engine, "generic": state.generic_engine}
    if state.generic_engine is state.engine:  # SQLite: one pool serves both
        pools = {"generic": state.engine}
    listeners = {name: on(name) for name in pools}
    for name, engine in pools.items():
        event.listen(engine.sync_engine, "before_cursor_execute", listeners[name])
    try:
        # When the agent searches the catalog and opens the heatmap, each twice
        for _ in range(2):
            for path in ("/api/v1/leads?metro=austin", "/api/v1/geo/heatmap?metro=austin"):
                assert (await client.get(path, headers=headers)).status_code == 200
    finally:
        for name, engine in pools.items():
            event.remove(engine.sync_engine, "before_cursor_execute", listeners[name])
    # Then every read of a cache key (the data versions) ran on the pool that keeps plans
    keys = [s for s in seen["generic"] if "data_versions" in s]
    assert len(keys) == 4
    assert not [s for s in seen["main"] if "data_versions" in s]
