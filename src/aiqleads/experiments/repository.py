"""All SQL of experiments and exposures. Outcomes are read through the event log's own
repository (`aiqleads.events.repository`), which owns `lead_events`."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.models import Experiment, ExperimentExposure
from aiqleads.models.enums import ExperimentStatus

experiments = cast(Table, Experiment.__table__)
exposures = cast(Table, ExperimentExposure.__table__)


async def add(session: AsyncSession, values: Mapping[str, Any]) -> Experiment:
    """Insert an experiment (a taken name raises IntegrityError at the flush)."""
    row = Experiment(**values)
    session.add(row)
    await session.flush()
    return row


async def by_name(session: AsyncSession, name: str) -> Experiment | None:
    return await session.scalar(select(Experiment).where(Experiment.name == name))


async def all_newest_first(session: AsyncSession) -> list[Experiment]:
    rows = await session.scalars(select(Experiment).order_by(Experiment.id.desc()))
    return list(rows.all())


async def running_on(session: AsyncSession, surface: str) -> Any | None:
    """(id, name, salt, variants) of the experiment running on `surface`, or None: a Core
    select (every served list asks it)."""
    result = await session.execute(
        select(experiments.c.id, experiments.c.name, experiments.c.salt, experiments.c.variants)
        .where(
            experiments.c.surface == surface,
            experiments.c.status == ExperimentStatus.RUNNING.value,
        )
        .limit(1)
    )
    return result.first()


async def running_name_on(session: AsyncSession, surface: str) -> str | None:
    row = await running_on(session, surface)
    return None if row is None else str(row.name)


async def move(
    session: AsyncSession,
    experiment_id: int,
    *,
    only_from: Collection[ExperimentStatus],
    values: Mapping[str, Any],
) -> bool:
    """Set `values` (a new status and its times) when the experiment's status is one of
    `only_from`: one conditional UPDATE, so two admins racing move it once. True when it
    moved (refresh a loaded row to see the change)."""
    result = await session.execute(
        update(experiments)
        .where(
            experiments.c.id == experiment_id,
            experiments.c.status.in_([s.value for s in only_from]),
        )
        .values(**values)
    )
    return cast(int, getattr(result, "rowcount", 0)) == 1


async def add_exposures(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Append exposure rows (`exposure_row`'s shape) in one executemany INSERT."""
    if rows:
        await session.execute(insert(exposures), list(rows))


def exposure_row(
    *,
    experiment_id: int,
    variant: str,
    account_id: int,
    lead_ids: Sequence[int],
    served_at: datetime,
    latency_ms: float | None,
) -> dict[str, Any]:
    return {
        "experiment_id": experiment_id,
        "variant": variant,
        "account_id": account_id,
        "lead_ids": [int(i) for i in lead_ids],
        "served_at": served_at,
        "latency_ms": latency_ms,
    }


async def exposures_of(
    session: AsyncSession, experiment_id: int, *, until: datetime
) -> list[tuple[int, str, list[int], datetime, float | None]]:
    """(account id, variant, lead ids, served at, latency ms) of the experiment's exposures
    served at or before `until`, oldest first."""
    rows = await session.execute(
        select(
            exposures.c.account_id,
            exposures.c.variant,
            exposures.c.lead_ids,
            exposures.c.served_at,
            exposures.c.latency_ms,
        )
        .where(exposures.c.experiment_id == experiment_id, exposures.c.served_at <= until)
        .order_by(exposures.c.served_at, exposures.c.id)
    )
    return [
        (int(r.account_id), str(r.variant), [int(i) for i in r.lead_ids], r.served_at, r.latency_ms)
        for r in rows
    ]


async def count_exposures(session: AsyncSession, experiment_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(exposures)
            .where(exposures.c.experiment_id == experiment_id)
        )
        or 0
    )
