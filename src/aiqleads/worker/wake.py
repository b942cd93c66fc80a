"""Nudge this process's dispatcher after a commit that enqueued tasks.

The outbox row is the durable truth; a wake only saves the dispatcher's wait until its next
look (AIQ_WORKER__POLL_SECONDS). Wakers must be cheap and thread-safe: they run inside
SQLAlchemy's after-commit event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

_ARMED = "aiq_wake_after_commit"
_wakers: set[Callable[[], None]] = set()


def add_waker(waker: Callable[[], None]) -> None:
    _wakers.add(waker)


def remove_waker(waker: Callable[[], None]) -> None:
    _wakers.discard(waker)


def wake_after_commit(session: AsyncSession) -> None:
    """Wake every dispatcher of this process once the session's transaction commits (nothing
    happens on rollback: the rows are gone with it)."""
    sync = session.sync_session
    if sync.info.get(_ARMED):
        return
    sync.info[_ARMED] = True
    event.listen(sync, "after_commit", _after_commit, once=True)


def _after_commit(sync_session: Any) -> None:
    sync_session.info.pop(_ARMED, None)
    for waker in list(_wakers):
        try:
            waker()
        except Exception:  # a wake is a hint; a failing one must not fail the commit
            log.exception("waking a task dispatcher failed")
