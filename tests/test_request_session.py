"""A request's session (`deps.get_session`, ended by `deps.end_session` through the routes'
class, `routing.SessionRoute`): committed when the handler returns, before the answer leaves;
rolled back on error; skipped altogether when the request never used it (a page the caches
answered).

The skip must not lose a write: an object added without a flush is pending, and is committed."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request

from aiqleads.deps import DbSession, end_session, get_session, untouched
from aiqleads.models.data_version import DataVersion
from aiqleads.openapi import api_routes
from aiqleads.routing import SessionRoute

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def _request(app: FastAPI) -> Request:
    return Request({"type": "http", "app": app, "method": "GET", "path": "/", "headers": []})


async def _count(sessions: async_sessionmaker[AsyncSession], scope: str) -> int:
    async with sessions() as session:
        stmt = select(func.count()).select_from(DataVersion).where(DataVersion.scope == scope)
        return int((await session.execute(stmt)).scalar_one())


async def test_a_fresh_session_is_untouched_and_one_that_read_or_added_is_not(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as fresh, sessions() as reader, sessions() as writer:
        await reader.execute(select(1))
        writer.add(DataVersion(scope="s", shard=0, version=1, updated_at=NOW))
        assert [untouched(fresh), untouched(reader), untouched(writer)] == [True, False, False]


async def test_an_object_added_without_a_flush_is_committed(
    app: FastAPI, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # Given a request whose handler adds a row and returns without flushing
    request = _request(app)
    session = await get_session(request)
    session.add(DataVersion(scope="added", shard=0, version=1, updated_at=NOW))
    # When the request ends
    await end_session(request.scope, failed=False)
    # Then the row is in the database
    assert await _count(sessions, "added") == 1


async def test_a_handler_that_fails_after_a_write_leaves_nothing(
    app: FastAPI, sessions: async_sessionmaker[AsyncSession]
) -> None:
    request = _request(app)
    session = await get_session(request)
    session.add(DataVersion(scope="failed", shard=0, version=1, updated_at=NOW))
    await session.flush()
    await end_session(request.scope, failed=True)
    assert await _count(sessions, "failed") == 0


async def test_a_request_that_never_used_its_session_ends_without_a_transaction(
    app: FastAPI,
) -> None:
    request = _request(app)
    session = await get_session(request)
    await end_session(request.scope, failed=False)
    # Nothing began, so there was nothing to commit, roll back or close
    assert untouched(session)
    # And a second end (or one for a request that opened no session) does nothing
    await end_session(request.scope, failed=False)


def _opens_a_session(dependant: Dependant) -> bool:
    return any(d.call is get_session or _opens_a_session(d) for d in dependant.dependencies)


def test_every_route_that_opens_a_session_ends_it(app: FastAPI) -> None:
    # A route of another class would leave its session's connection checked out
    routes = list(api_routes(app.routes))
    opening = [path for path, route in routes if _opens_a_session(route.dependant)]
    assert len(opening) > 50
    assert [
        path for path, route in routes if path in opening and not isinstance(route, SessionRoute)
    ] == []
    # FastAPI's own pages (the docs) are the only routes of another class
    others = {path for path, route in routes if not isinstance(route, SessionRoute)}
    assert others <= {"/docs", "/docs/oauth2-redirect", "/redoc"}


def _writer(app: FastAPI) -> FastAPI:
    """An application with the real one's state and three handlers that write a data version:
    one returns, one raises after flushing, and one returns with a row whose commit fails."""
    router = APIRouter(route_class=SessionRoute)

    @router.post("/ok")
    async def ok(session: DbSession) -> dict[str, str]:
        session.add(DataVersion(scope="ok", shard=0, version=1, updated_at=NOW))
        return {"status": "written"}

    @router.post("/raises")
    async def raises(session: DbSession) -> dict[str, str]:
        session.add(DataVersion(scope="raised", shard=0, version=1, updated_at=NOW))
        await session.flush()
        raise RuntimeError("handler failed")

    @router.post("/commit-fails")
    async def commit_fails(session: DbSession) -> dict[str, str]:
        # The same primary key twice: the INSERT fails at the commit's flush, after the
        # handler has returned
        session.add(DataVersion(scope="twice", shard=0, version=1, updated_at=NOW))
        session.add(DataVersion(scope="twice", shard=0, version=2, updated_at=NOW))
        return {"status": "written"}

    writer = FastAPI()
    writer.state.aiq = app.state.aiq
    writer.include_router(router)
    return writer


async def test_a_route_commits_before_it_answers_and_a_failed_commit_is_the_answer(
    app: FastAPI, sessions: async_sessionmaker[AsyncSession]
) -> None:
    transport = httpx.ASGITransport(app=_writer(app), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.post("/ok")).status_code == 200
        # The row is committed by the time the answer arrives
        assert await _count(sessions, "ok") == 1
        assert (await client.post("/raises")).status_code == 500
        assert await _count(sessions, "raised") == 0
        # Never a 200 for a write that did not happen
        assert (await client.post("/commit-fails")).status_code == 500
        assert await _count(sessions, "twice") == 0
    # And no connection was left checked out
    pool = app.state.aiq.engine.pool
    assert pool.checkedout() == 0
