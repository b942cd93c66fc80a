"""A request's session (`deps.get_session`): committed when the handler returns, rolled back on
error, and skipped altogether when the request never used it (a page the caches answered).

The skip must not lose a write: an object added without a flush is pending, and is committed."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import cast

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request

from aiqleads.deps import get_session, untouched
from aiqleads.models.data_version import DataVersion

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def _request(app: FastAPI) -> Request:
    return Request({"type": "http", "app": app, "method": "GET", "path": "/", "headers": []})


def _requests(app: FastAPI) -> AsyncGenerator[AsyncSession, None]:
    """The request's session as FastAPI drives it: the generator's first value, then its end."""
    return cast(AsyncGenerator[AsyncSession, None], get_session(_request(app)))


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
    requests = _requests(app)
    session = await anext(requests)
    session.add(DataVersion(scope="added", shard=0, version=1, updated_at=NOW))
    # When the request ends
    with pytest.raises(StopAsyncIteration):
        await anext(requests)
    # Then the row is in the database
    assert await _count(sessions, "added") == 1


async def test_a_handler_that_fails_after_a_write_leaves_nothing(
    app: FastAPI, sessions: async_sessionmaker[AsyncSession]
) -> None:
    requests = _requests(app)
    session = await anext(requests)
    session.add(DataVersion(scope="failed", shard=0, version=1, updated_at=NOW))
    await session.flush()
    with pytest.raises(RuntimeError, match="handler failed"):
        await requests.athrow(RuntimeError("handler failed"))
    assert await _count(sessions, "failed") == 0


async def test_a_request_that_never_used_its_session_ends_without_a_transaction(
    app: FastAPI,
) -> None:
    requests = _requests(app)
    session = await anext(requests)
    with pytest.raises(StopAsyncIteration):
        await anext(requests)
    # Nothing began, so there was nothing to commit, roll back or close
    assert untouched(session)
