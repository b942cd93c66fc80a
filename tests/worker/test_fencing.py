"""A runner whose lease lapsed while another runner claimed its row: the first runner's outcome
does not land on the second's claim (the outbox's fencing token), on each database."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.db.engine import transaction
from aiqleads.kit.clock import FrozenClock
from aiqleads.models import TaskOutbox
from aiqleads.worker import execute, outbox
from aiqleads.worker.context import TaskContext
from tests.worker.tasks import CALLS, fail, record

LEASE = timedelta(seconds=60)


async def _claim(sessions: async_sessionmaker[AsyncSession], clock: FrozenClock) -> outbox.Claimed:
    async with transaction(sessions) as session:
        [claimed] = await outbox.claim_due(
            session, now=clock.now(), until=clock.now() + LEASE, limit=1
        )
    return claimed


async def _rows(sessions: async_sessionmaker[AsyncSession]) -> list[TaskOutbox]:
    async with transaction(sessions) as session:
        return list((await session.scalars(select(TaskOutbox))).all())


async def _stale_and_current(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> tuple[outbox.Claimed, outbox.Claimed]:
    """The row claimed by a first runner, whose lease then lapsed (it stalled, or the database
    was away for its renewals), and claimed again by a second."""
    first = await _claim(sessions, clock)
    clock.advance(LEASE + timedelta(seconds=1))
    second = await _claim(sessions, clock)
    assert (first.id, second.id) == (second.id, first.id)
    assert second.fencing_token == first.fencing_token + 1
    return first, second


async def test_a_failure_after_the_claim_was_lost_is_not_recorded(
    task_ctx: TaskContext, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given a task that fails, claimed by a first runner, then, its lease lapsed, by a second
    async with transaction(sessions) as session:
        await fail.enqueue(session, why="boom")
    first, second = await _stale_and_current(sessions, clock)
    # When the first runner's run fails
    outcome = await execute.run_row(task_ctx, first, queued=False)
    # Then nothing is recorded: the row is still the second runner's, not put back to pending
    # for a third to start beside it, and no attempt is counted for the live run
    assert outcome.kind == "skipped"
    [row] = await _rows(sessions)
    assert (row.status, row.attempts, row.not_before) == ("pending", 0, None)
    assert row.claimed_until == clock.now() + LEASE
    # And the first runner cannot renew the lease or hand the row to the broker; the second can
    async with transaction(sessions) as session:
        later = clock.now() + 2 * LEASE
        assert not await outbox.extend_claim(
            session, first.id, fencing_token=first.fencing_token, until=later
        )
        assert not await outbox.mark_queued(
            session, first.id, fencing_token=first.fencing_token, until=later
        )
        assert await outbox.extend_claim(
            session, second.id, fencing_token=second.fencing_token, until=later
        )
    # And the second runner's failure is counted as any other
    assert (await execute.run_row(task_ctx, second, queued=False)).kind == "retry"
    [row] = await _rows(sessions)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "RuntimeError: boom")


async def test_a_success_after_the_claim_was_lost_still_ends_the_row(
    task_ctx: TaskContext, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given a task claimed by a first runner, then, its lease lapsed, by a second
    CALLS.clear()
    async with transaction(sessions) as session:
        await record.enqueue(session, value="done")
    first, second = await _stale_and_current(sessions, clock)
    # When the first runner's run succeeds: the work is done, whoever holds the claim
    assert (await execute.run_row(task_ctx, first, queued=False)).kind == "ok"
    assert CALLS == ["done"] and await _rows(sessions) == []
    # Then the second runner, at its end, finds the row gone and records nothing
    async with transaction(sessions) as session:
        assert await outbox.load(session, second.id) is None
        assert not await outbox.record_failure(
            session,
            second.id,
            fencing_token=second.fencing_token,
            error="late",
            now=clock.now(),
            retry_at=None,
        )
    assert await _rows(sessions) == []


async def test_a_row_from_the_broker_claimed_again_since_it_was_sent_is_not_run(
    task_ctx: TaskContext, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given a row the relay claimed and sent, which waited in the queue past its claim, and
    # which the relay then claimed again (to send again, or its new send failed)
    CALLS.clear()
    async with transaction(sessions) as session:
        await record.enqueue(session, value="sent")
    sent, again = await _stale_and_current(sessions, clock)
    async with transaction(sessions) as session:
        assert await outbox.mark_queued(
            session, again.id, fencing_token=again.fencing_token, until=clock.now() + LEASE
        )
    # When the broker delivers the first message, with the claim it was sent under
    outcome = await execute.run_row(task_ctx, sent, queued=True)
    # Then it is not run beside the current claim's run, and the row is left to that claim
    assert outcome.kind == "skipped" and CALLS == []
    [row] = await _rows(sessions)
    assert (row.status, row.fencing_token, row.claimed_until) == (
        "queued",
        again.fencing_token,
        clock.now() + LEASE,
    )
    # And the current claim's delivery runs it
    assert (await execute.run_row(task_ctx, again, queued=True)).kind == "ok"
    assert CALLS == ["sent"] and await _rows(sessions) == []


async def test_a_dead_row_is_not_handed_to_the_broker_again(
    task_ctx: TaskContext, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given a row the relay claimed and sent, which the broker's runner dead-lettered before
    # the relay's own commit marking it queued
    async with transaction(sessions) as session:
        await fail.enqueue(session, why="boom")
    claimed = await _claim(sessions, clock)
    async with transaction(sessions) as session:
        assert await outbox.record_failure(
            session,
            claimed.id,
            fencing_token=claimed.fencing_token,
            error="boom",
            now=clock.now(),
            retry_at=None,
        )
    # When the relay marks it queued, under the same claim
    async with transaction(sessions) as session:
        assert not await outbox.mark_queued(
            session, claimed.id, fencing_token=claimed.fencing_token, until=clock.now() + LEASE
        )
    # Then it stays dead, for an operator, not sent again
    [row] = await _rows(sessions)
    assert (row.status, row.claimed_until) == ("dead", None)
