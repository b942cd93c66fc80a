"""Publish a live notice once the transaction that caused it commits, never on rollback.

For hints to open pages (a lead was held or released) that the request's own process can send:
a notice lost with a process that dies between its commit and the publish costs a page one stale
row until its next refresh, so the durable task outbox, three more transactions per hold (claim,
run, finish), buys nothing here. Notices that must survive a crash, or that another process
computes (new leads matched to saved searches, a hold expiring), go through the outbox.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.notices.publisher import Notices

log = logging.getLogger(__name__)

_PENDING = "aiq_notices_after_commit"
_LISTENING = "aiq_notices_listening"
_sending: set[asyncio.Task[None]] = set()  # strong references until each publish ends


def publish_after_commit(
    session: AsyncSession, notices: Notices, channel: str, body: dict[str, Any]
) -> None:
    """Queue `body` for `channel` on the session's transaction: published through `notices`,
    in the order queued, after the outermost transaction commits; dropped if it rolls back.
    A savepoint that rolls back drops every notice queued so far (a missed hint, never a false
    one). Must be called from the event loop's thread (as every AsyncSession is used)."""
    sync = session.sync_session
    pending: list[tuple[Notices, str, dict[str, Any]]] | None = sync.info.get(_PENDING)
    if pending is None:
        pending = sync.info[_PENDING] = []
    if not sync.info.get(_LISTENING):
        # Listeners stay for the session's life (a listener cannot be removed while its event
        # is being dispatched); with nothing pending they do nothing.
        sync.info[_LISTENING] = True
        event.listen(sync, "after_commit", _after_commit)
        event.listen(sync, "after_rollback", _after_rollback)
    pending.append((notices, channel, body))


def _end(sync_session: Any) -> list[tuple[Notices, str, dict[str, Any]]]:
    pending: list[tuple[Notices, str, dict[str, Any]]] = sync_session.info.pop(_PENDING, [])
    return pending


def _after_commit(sync_session: Any) -> None:
    if sync_session.in_nested_transaction():
        return  # a savepoint released: the transaction may still roll back
    pending = _end(sync_session)
    if not pending:
        return
    # SQLAlchemy's asyncio extension runs this hook in a greenlet on the loop's own thread.
    sending = asyncio.get_running_loop().create_task(_publish(pending))
    _sending.add(sending)
    sending.add_done_callback(_sending.discard)


def _after_rollback(sync_session: Any) -> None:
    _end(sync_session)


async def _publish(pending: list[tuple[Notices, str, dict[str, Any]]]) -> None:
    for notices, channel, body in pending:
        try:
            await notices.publish(channel, body)
        except Exception:  # a notice is a hint: the committed change stands without it
            log.exception("publishing a live notice failed", extra={"channel": channel})


async def published() -> None:
    """Wait until every notice handed to publishing so far is sent (or its failure logged):
    publishing runs after the commit, beside the request's answer, so whoever must see a
    notice before acting on what follows (a test, a graceful stop) waits here first."""
    while _sending:
        await asyncio.gather(*list(_sending), return_exceptions=True)
