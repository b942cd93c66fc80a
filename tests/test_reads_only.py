"""The hot read routes run their statements without a transaction (`deps.reads_only`), and
those that find rows by key, and every cache key's read, with plans PostgreSQL keeps
(`deps.generic_plans`, `AppState.generic_read_sessions`, `AppState.rows_by_key`).

On PostgreSQL a transaction adds BEGIN and COMMIT to a request: two round trips more for a
cached map layer or a cart view, whose answer is one statement (docs/operations/scaling.md,
"Where a request's CPU goes"). These routes write nothing, so nothing needs one; a change that
drops the marker costs every such request those round trips, and fails here. A statement
planned at each execution costs PostgreSQL 0.3-1.2 ms more for a cache key or a lead by its id.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aiqleads.app import create_app
from aiqleads.config import Settings
from aiqleads.db.row_reads import DriverRows
from aiqleads.deps import is_reads_only, uses_generic_plans
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from tests.app_routes import app_routes
from tests.factories import agent, insert_leads, lead_row

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
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an agent, the one-row reads made, and the statements the main pool runs
    state = app.state.aiq
    _, headers = await agent(client, sessions, clock)
    reads: list[tuple[AsyncEngine, str]] = []
    through_main: list[str] = []
    one = DriverRows.one

    async def recorded(self: DriverRows, stmt: Any, params: Any) -> Any:
        reads.append((self.engine, str(stmt)))
        return await one(self, stmt, params)

    def on_main(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        through_main.append(statement)

    monkeypatch.setattr(DriverRows, "one", recorded)
    main = state.engine.sync_engine
    event.listen(main, "before_cursor_execute", on_main)
    try:
        # When the agent searches the catalog and opens the heatmap, each twice
        for _ in range(2):
            for path in ("/api/v1/leads?metro=austin", "/api/v1/geo/heatmap?metro=austin"):
                assert (await client.get(path, headers=headers)).status_code == 200
    finally:
        event.remove(main, "before_cursor_execute", on_main)
    # Then every read of a cache key (the data versions) was a one-row read on the pool that
    # keeps plans (on PostgreSQL a pool of its own, the driver running the statement): one
    # read for the four, the process's memo (geo.key_memo) keeping it for the other three
    keys = [engine for engine, statement in reads if "data_versions" in statement]
    assert len(keys) == 1
    assert all(engine is state.generic_engine for engine in keys)
    if state.generic_engine is not state.engine:
        assert not [s for s in through_main if "data_versions" in s]


async def test_a_lead_preview_is_read_by_key_on_the_pool_that_keeps_plans(
    app: FastAPI,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an agent and a lead on the market
    state = app.state.aiq
    _, headers = await agent(client, sessions, clock)
    rows = [lead_row(settings, FieldCipher(settings.encryption_keys), now=clock.now())]
    await insert_leads(sessions, rows, now=clock.now())
    read_by: list[AsyncEngine] = []
    first = DriverRows.first

    async def recorded(self: DriverRows, stmt: Any, params: Any) -> Any:
        read_by.append(self.engine)
        return await first(self, stmt, params)

    monkeypatch.setattr(DriverRows, "first", recorded)
    # When the agent opens its preview
    res = await client.get(f"/api/v1/leads/{rows[0]['public_id']}", headers=headers)
    # Then it is answered from reads by key (the lead's, and its account's when the process
    # has not kept it), on the pool that keeps plans
    assert res.status_code == 200, res.text
    assert res.json()["id"] == str(rows[0]["public_id"])
    assert read_by and set(read_by) == {state.generic_engine}
