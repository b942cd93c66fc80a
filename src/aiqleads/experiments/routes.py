"""The operators' experiments: create, start, stop, conclude, report. Admins only; no lead
data (counts and rates per variant)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Body, Response
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.deps import AppState, CurrentAdmin, DbSession, State
from aiqleads.experiments import chart, service
from aiqleads.experiments.schemas import ConcludeIn, ExperimentIn, ExperimentOut, ExperimentReport
from aiqleads.routing import SessionRoute

router = APIRouter(route_class=SessionRoute, prefix="/api/v1/admin/experiments", tags=["admin"])


@router.post("", status_code=201)
async def create_experiment(
    given: ExperimentIn, _: CurrentAdmin, session: DbSession, state: State
) -> ExperimentOut:
    """A draft experiment: name, variants (the first is the control) with weights and
    configs, salt, surface, outcome window. 409 (`name_taken`) when the name is taken."""
    row = await service.create(
        session, given, now=state.clock.now(), settings=state.settings.experiments
    )
    return service.describe(row)


@router.get("")
async def list_experiments(_: CurrentAdmin, session: DbSession) -> list[ExperimentOut]:
    """Every experiment, newest first."""
    return [service.describe(r) for r in await service.all_experiments(session)]


@router.get("/{name}")
async def get_experiment(name: str, _: CurrentAdmin, session: DbSession) -> ExperimentOut:
    return service.describe(await service.get(session, name))


@router.post("/{name}/start")
async def start_experiment(
    name: str, _: CurrentAdmin, session: DbSession, state: State
) -> ExperimentOut:
    """draft → running: agents on its surface are assigned and exposures logged. 409 with
    `detail.reason` (`already_running`, `already_stopped`, `already_concluded`,
    `surface_busy`)."""
    row = await service.start(session, name, now=state.clock.now())
    await _committed(session, state)
    return service.describe(row)


@router.post("/{name}/stop")
async def stop_experiment(
    name: str, _: CurrentAdmin, session: DbSession, state: State
) -> ExperimentOut:
    """running → stopped. 409 (`not_running`) otherwise."""
    row = await service.stop(session, name, now=state.clock.now())
    await _committed(session, state)
    return service.describe(row)


@router.post("/{name}/conclude")
async def conclude_experiment(
    name: str,
    _: CurrentAdmin,
    session: DbSession,
    state: State,
    given: Annotated[ConcludeIn | None, Body()] = None,
) -> ExperimentOut:
    """running or stopped → concluded, naming the winning variant (or none). 409
    (`not_started`, `already_concluded`); 422 when the winner is not a variant."""
    winner = given.winner if given else None
    row = await service.conclude(session, name, winner=winner, now=state.clock.now())
    await _committed(session, state)
    return service.describe(row)


async def _committed(session: AsyncSession, state: AppState) -> None:
    """Commit an experiment's new status, then have this process read the running
    experiments again (`RunningExperiments`): committed first, so that a request served in
    between cannot keep the old status for another `assignment_cache_seconds`."""
    await session.commit()
    state.running_experiments.forget()


@router.get("/{name}/report")
async def experiment_report(
    name: str, _: CurrentAdmin, session: DbSession, state: State
) -> ExperimentReport:
    """Per-variant exposures, agents and rates; each variant against the control with the
    difference's confidence interval and p-value; the sample-ratio check; guardrails."""
    return await service.report(
        session, name, now=state.clock.now(), settings=state.settings.experiments
    )


@router.get("/{name}/report.png", response_class=Response)
async def experiment_report_png(
    name: str, _: CurrentAdmin, session: DbSession, state: State
) -> Response:
    """The report as a PNG chart (rates with 95 % intervals, p-values, SRM, guardrails)."""
    found = await service.report(
        session, name, now=state.clock.now(), settings=state.settings.experiments
    )
    png = await asyncio.to_thread(chart.render, found)
    return Response(png, media_type="image/png")
