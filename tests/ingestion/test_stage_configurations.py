"""Every allowed stage configuration: parse, normalize and store always, any of validate,
dedupe, geocode, screen and enrich in their fixed order. Each one stores leads, is idempotent,
and never lets a record without coordinates move a stored lead off its exact point (whichever stages
would have looked the lead up: the pipeline looks it up for any stage that needs it, and the
write path keeps exact points itself)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.ingestion.conftest import kc_document

from aiqleads.config import INGEST_STAGES, IngestSettings
from aiqleads.db.engine import transaction
from aiqleads.ingestion.pipeline import Pipeline
from aiqleads.kit.clock import FrozenClock
from aiqleads.models import Lead

OPTIONAL = ("validate", "dedupe", "geocode", "screen", "enrich")
CONFIGURATIONS = [
    ["parse", "normalize", *chosen, "store"]
    for n in range(len(OPTIONAL) + 1)
    for chosen in itertools.combinations(OPTIONAL, n)
]
N = 25


def _without_points(lines: list[str]) -> None:
    """Blank the lat and long columns of every data line (the ZIP stays)."""
    header = lines[0].rstrip("\n").split(",")
    lat, lon = header.index("lat"), header.index("long")
    for i in range(1, len(lines)):
        cells = lines[i].rstrip("\n").split(",")
        cells[lat] = cells[lon] = ""
        lines[i] = ",".join(cells) + "\n"


async def _points(sessions: async_sessionmaker[AsyncSession]) -> dict[str, tuple[object, ...]]:
    async with transaction(sessions) as session:
        rows = await session.execute(
            select(
                Lead.source_ref, Lead.latitude, Lead.longitude, Lead.geocode_precision, Lead.h3_r8
            )
        )
        return {r[0]: tuple(r[1:]) for r in rows}


def test_the_configurations_are_exactly_the_allowed_ones() -> None:
    assert len(CONFIGURATIONS) == 32
    for stages in CONFIGURATIONS:
        assert IngestSettings(stages=stages).stages == stages
    assert IngestSettings().stages == list(INGEST_STAGES)


@pytest.mark.parametrize(
    "stages",
    [
        ["parse", "normalize", "enrich", "geocode", "store"],
        ["parse", "normalize", "dedupe", "validate", "store"],
        ["parse", "normalize", "validate", "dedupe"],
        ["parse", "validate", "store"],
    ],
)
def test_a_reordered_or_incomplete_configuration_is_refused(stages: list[str]) -> None:
    with pytest.raises(ValidationError):
        IngestSettings(stages=stages)


@pytest.mark.parametrize(
    "stages", CONFIGURATIONS, ids=["+".join(c[2:-1]) or "-" for c in CONFIGURATIONS]
)
async def test_each_configuration_stores_reruns_idempotently_and_keeps_exact_points(
    stages: list[str],
    sessions: async_sessionmaker[AsyncSession],
    make_pipeline: Callable[..., Pipeline],
    clock: FrozenClock,
) -> None:
    pipeline = make_pipeline(stages=stages)
    # Given the first real King County sales, ingested
    first = await pipeline.run(sessions, [kc_document(N)], metro="seattle", now=clock.now())
    assert first.outcomes["created"] + first.outcomes["merged"] == N
    stored = await _points(sessions)
    assert all(p[2] == "exact" for p in stored.values())
    # When the same file comes again: nothing changes
    again = await pipeline.run(sessions, [kc_document(N)], metro="seattle", now=clock.now())
    assert again.outcomes["unchanged"] == N
    # When the same records come without coordinates: every lead keeps its exact point
    bare = kc_document(N, edit=_without_points)
    await pipeline.run(sessions, [bare], metro="seattle", now=clock.now())
    assert await _points(sessions) == stored
    async with transaction(sessions) as session:
        scores = set((await session.scalars(select(Lead.score))).all())
    assert (scores == {None}) == ("enrich" not in stages)
