"""Experiments: create, start, stop, conclude; assignment and exposures for the surfaces that
serve variants; the report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.auth.principal_cache import TimedCache
from aiqleads.config import ExperimentSettings
from aiqleads.errors import Conflict, InvalidInput, NotFound
from aiqleads.events import repository as events
from aiqleads.experiments import report as reporting
from aiqleads.experiments import repository
from aiqleads.experiments.assignment import Variant, assign, shares
from aiqleads.experiments.outcomes import EVENT_KINDS, Event, Exposure, join
from aiqleads.experiments.recorder import ExposureRecorder
from aiqleads.experiments.schemas import (
    ExperimentIn,
    ExperimentOut,
    ExperimentReport,
    Surface,
    VariantOut,
)
from aiqleads.models import Experiment
from aiqleads.models.enums import ExperimentStatus
from aiqleads.observability import metrics
from aiqleads.recommend import repository as recommenders
from aiqleads.recommend.ranker import COLD_START_VERSION

Status = ExperimentStatus
# Agents per event-log read: well under either database's limit on bound parameters.
_AGENTS_PER_READ = 1000


@dataclass(frozen=True, slots=True)
class Assignment:
    """An agent's place in the experiment running on a surface: the experiment (its id and
    name), the variant's name and its config (what the surface does for it)."""

    experiment_id: int
    experiment: str
    variant: str
    config: dict[str, Any] = field(default_factory=dict)


def variants_of(row: Experiment | Sequence[dict[str, Any]]) -> list[Variant]:
    """The stored variants, in order (the first is the control)."""
    stored = row.variants if isinstance(row, Experiment) else row
    return [
        Variant(str(v["name"]), float(v["weight"]), dict(v.get("config") or {})) for v in stored
    ]


def describe(row: Experiment) -> ExperimentOut:
    variants = variants_of(row)
    return ExperimentOut(
        name=row.name,
        surface=row.surface,
        status=row.status,
        salt=row.salt,
        variants=[
            VariantOut(name=v.name, weight=v.weight, share=s, config=dict(v.config))
            for v, s in zip(variants, shares(variants), strict=True)
        ],
        window_hours=row.window_hours,
        created_at=row.created_at,
        started_at=row.started_at,
        stopped_at=row.stopped_at,
        concluded_at=row.concluded_at,
        winner=row.winner,
    )


async def create(
    session: AsyncSession, given: ExperimentIn, *, now: datetime, settings: ExperimentSettings
) -> Experiment:
    """A draft experiment. Raises Conflict (reason `name_taken`) when the name is taken, and
    InvalidInput when a recommendations variant names a recommender version that is not
    registered (it would silently serve the default, and the experiment compare nothing)."""
    if await repository.by_name(session, given.name) is not None:
        raise Conflict(
            f"an experiment named {given.name!r} exists", detail={"reason": "name_taken"}
        )
    if given.surface is Surface.RECOMMENDATIONS:
        for i, variant in enumerate(given.variants):
            wanted = variant.config.get("recommender")
            if wanted is None:
                continue
            if not isinstance(wanted, str) or not (
                wanted == COLD_START_VERSION or await recommenders.registered(session, wanted)
            ):
                raise InvalidInput(
                    f"variants.{i}.config.recommender",
                    f"{wanted!r} is not a registered recommender version"
                    f" (aiqleads models list recommender) nor {COLD_START_VERSION!r}",
                )
    return await repository.add(
        session,
        {
            "name": given.name,
            "surface": given.surface.value,
            "status": Status.DRAFT.value,
            "salt": given.salt or given.name,
            "variants": [v.model_dump() for v in given.variants],
            "window_hours": given.window_hours or settings.window_hours,
            "created_at": now,
        },
    )


async def get(session: AsyncSession, name: str) -> Experiment:
    """The experiment named `name`; NotFound when there is none."""
    row = await repository.by_name(session, name)
    if row is None:
        raise NotFound(f"no experiment named {name!r}")
    return row


async def all_experiments(session: AsyncSession) -> list[Experiment]:
    return await repository.all_newest_first(session)


def _refuse(row: Experiment, action: str, reason: str, why: str) -> Conflict:
    return Conflict(
        f"cannot {action} experiment {row.name!r}: {why}",
        detail={"reason": reason, "status": row.status},
    )


_ALREADY = {
    Status.RUNNING: ("already_running", "it is running"),
    Status.STOPPED: (
        "already_stopped",
        "it was stopped, and is not restarted (its periods would mix): create a new one",
    ),
    Status.CONCLUDED: ("already_concluded", "it is concluded"),
}


async def _moved(
    session: AsyncSession,
    row: Experiment,
    action: str,
    only_from: set[Status],
    values: dict[str, Any],
) -> Experiment:
    moved = await repository.move(session, row.id, only_from=only_from, values=values)
    await session.refresh(row)
    if not moved:
        # Another admin moved it between our read and our update: say where it is now.
        raise _refuse(row, action, "status_changed", f"it is {row.status} now")
    return row


async def start(session: AsyncSession, name: str, *, now: datetime) -> Experiment:
    """draft → running. Raises Conflict with `detail.reason`: `already_running`,
    `already_stopped`, `already_concluded`, or `surface_busy` (another experiment runs on the
    surface; the database's partial unique index refuses it too, whatever races)."""
    row = await get(session, name)
    status = Status(row.status)
    if status is not Status.DRAFT:
        reason, why = _ALREADY[status]
        raise _refuse(row, "start", reason, why)
    busy = await repository.running_name_on(session, row.surface)
    if busy is not None:
        raise _refuse(
            row, "start", "surface_busy", f"experiment {busy!r} is running on {row.surface}"
        )
    return await _moved(
        session, row, "start", {Status.DRAFT}, {"status": Status.RUNNING.value, "started_at": now}
    )


async def stop(session: AsyncSession, name: str, *, now: datetime) -> Experiment:
    """running → stopped: no more assignments or exposures. Raises Conflict with
    `detail.reason` `not_running`."""
    row = await get(session, name)
    if row.status != Status.RUNNING:
        raise _refuse(row, "stop", "not_running", f"it is {row.status}")
    return await _moved(
        session, row, "stop", {Status.RUNNING}, {"status": Status.STOPPED.value, "stopped_at": now}
    )


async def conclude(
    session: AsyncSession, name: str, *, winner: str | None, now: datetime
) -> Experiment:
    """running or stopped → concluded, with the winning variant (or none); a running one is
    stopped at `now`. Raises Conflict (`not_started` for a draft, `already_concluded`) or
    InvalidInput when `winner` names no variant."""
    row = await get(session, name)
    if row.status == Status.DRAFT:
        raise _refuse(row, "conclude", "not_started", "it never ran")
    if row.status == Status.CONCLUDED:
        raise _refuse(row, "conclude", "already_concluded", "it is concluded")
    names = [v.name for v in variants_of(row)]
    if winner is not None and winner not in names:
        raise InvalidInput("winner", f"not a variant of {row.name!r} (one of {', '.join(names)})")
    values: dict[str, Any] = {
        "status": Status.CONCLUDED.value,
        "concluded_at": now,
        "winner": winner,
        "stopped_at": row.stopped_at or now,
    }
    return await _moved(session, row, "conclude", {Status.RUNNING, Status.STOPPED}, values)


# --- serving ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Running:
    """The experiment running on a surface, as assigning an agent needs it."""

    experiment_id: int
    name: str
    salt: str
    variants: tuple[Variant, ...]


async def running_on(session: AsyncSession, surface: str) -> Running | None:
    """The experiment running on `surface`, or None: one indexed Core select."""
    row = await repository.running_on(session, surface)
    if row is None:
        return None
    return Running(int(row.id), str(row.name), str(row.salt), tuple(variants_of(row.variants)))


class RunningExperiments:
    """Which experiment runs on each surface, kept per process for `ttl_seconds` of request
    time (`ExperimentSettings.assignment_cache_seconds`; 0: read every time).

    Every served list asked the database which experiment runs on its surface, though that
    changes a few times a month. The bound this gives: an experiment started, stopped or
    concluded is seen at once by the process that did it through the API (its route calls
    `forget`), and by every other process within `ttl_seconds`; until then such a process
    serves, and logs as exposures, what it read. A `now` before the time a surface was read
    (a clock set back) reads it again."""

    def __init__(self, ttl_seconds: float) -> None:
        if ttl_seconds < 0:
            raise ValueError("ttl_seconds must be at least 0")
        # (Running | None,): a kept "none runs" is a value too, where the cache's None is a miss.
        self._held: TimedCache[str, tuple[Running | None]] = TimedCache(
            "running_experiments", ttl_seconds, max_entries=64
        )

    async def on(self, session: AsyncSession, surface: str, now: datetime) -> Running | None:
        """The experiment running on `surface` (None: none), read at most `ttl_seconds`
        before `now` (an aware datetime)."""
        held = self._held.get(surface, now=now)
        if held is not None:
            return held[0]
        found = await running_on(session, surface)
        self._held.put(surface, (found,), now=now)
        return found

    def forget(self) -> None:
        """Read every surface again at its next request (this process changed an
        experiment's status)."""
        self._held.forget_all()


async def assignment_for(
    session: AsyncSession,
    *,
    surface: str,
    agent_id: int,
    now: datetime,
    running: RunningExperiments | None = None,
) -> Assignment | None:
    """The agent's variant in the experiment running on `surface` ("recommendations"), or
    None when none runs: read from the process's `running` when given (see its bound), else
    from the database. The variant is the hash of the experiment's salt and the agent's id
    (`experiments.assignment`), so every process and every restart gives the agent the same
    one. `now` is the serving time (the experiment's status alone says whether it assigns;
    `running` keeps what it read by it)."""
    found = (
        await running.on(session, surface, now)
        if running is not None
        else await running_on(session, surface)
    )
    if found is None:
        return None
    variant = assign(found.salt, found.variants, agent_id)
    return Assignment(found.experiment_id, found.name, variant.name, dict(variant.config))


async def record_exposure(
    session: AsyncSession,
    assignment: Assignment,
    agent_id: int,
    lead_ids: Sequence[int],
    now: datetime,
    *,
    latency_seconds: float | None = None,
    recorder: ExposureRecorder | None = None,
) -> None:
    """Log that `lead_ids` (internal ids, in the order served) were served to the agent under
    its assignment at `now`, with the time serving took (the latency guardrail). With the
    process's `recorder` (`AppState.exposures`) the row is written by its next batched flush,
    outside the request; without one, in the session's transaction."""
    latency_ms = None if latency_seconds is None else latency_seconds * 1000.0
    row = repository.exposure_row(
        experiment_id=assignment.experiment_id,
        variant=assignment.variant,
        account_id=agent_id,
        lead_ids=lead_ids,
        served_at=now,
        latency_ms=latency_ms,
    )
    metrics.EXPERIMENT_EXPOSURES.labels(assignment.experiment, assignment.variant).inc()
    if latency_seconds is not None:
        metrics.EXPERIMENT_SERVED_SECONDS.labels(assignment.experiment, assignment.variant).observe(
            latency_seconds
        )
    if recorder is not None:
        recorder.add(row)
    else:
        await repository.add_exposures(session, [row])


# --- the report ---------------------------------------------------------------------------------


async def _before(
    session: AsyncSession, agents: Sequence[int], *, start: datetime, end: datetime
) -> dict[int, dict[str, int]]:
    """Per agent, its events per outcome (click, hold, purchase, return) with start <= at <
    end: CUPED's covariate."""
    counts: dict[int, dict[str, int]] = {}
    for i in range(0, len(agents), _AGENTS_PER_READ):
        rows = await events.since(
            session,
            start=start - timedelta(microseconds=1),
            end=end - timedelta(microseconds=1),
            account_ids=agents[i : i + _AGENTS_PER_READ],
            by="account",
        )
        for agent, kind, _, _, _ in rows:
            metric = EVENT_KINDS.get(kind)
            if metric is not None:
                mine = counts.setdefault(agent, {})
                mine[metric] = mine.get(metric, 0) + 1
    return counts


async def report(
    session: AsyncSession, name: str, *, now: datetime, settings: ExperimentSettings
) -> ExperimentReport:
    """The experiment's report as of `now` (see `ExperimentReport`): exposures served up to
    `now`, and the exposed agents' events up to the end of the last exposure's window (or
    `now`), joined by `outcomes.join`. NotFound when there is no such experiment."""
    row = await get(session, name)
    variants = variants_of(row)
    window = timedelta(hours=row.window_hours)
    served = [
        Exposure(agent_id=a, variant=v, lead_ids=leads, served_at=at, latency_ms=ms)
        for a, v, leads, at, ms in await repository.exposures_of(session, row.id, until=now)
    ]
    found: list[Event] = []
    last_served = max((e.served_at for e in served), default=None)
    if served and last_served is not None:
        start = min(e.served_at for e in served) - timedelta(microseconds=1)
        end = min(now, last_served + window)
        agents = sorted({e.agent_id for e in served})
        for i in range(0, len(agents), _AGENTS_PER_READ):
            rows = await events.since(
                session,
                start=start,
                end=end,
                account_ids=agents[i : i + _AGENTS_PER_READ],
                by="account",
            )
            found += [Event(agent, lead, kind, at) for agent, kind, at, _, lead in rows]
    outcomes = join(served, found, window=window, variants=[v.name for v in variants])
    before = None
    if settings.cuped_days and row.started_at is not None:
        before = await _before(
            session,
            sorted({e.agent_id for e in served}),
            start=row.started_at - timedelta(days=settings.cuped_days),
            end=row.started_at,
        )
    result = reporting.build(
        describe(row),
        variants,
        outcomes,
        settings=settings,
        as_of=now,
        last_served=last_served,
        before=before,
    )
    metrics.EXPERIMENT_SRM_FLAGGED.labels(row.name).set(1 if result.sample_ratio.flagged else 0)
    return result
