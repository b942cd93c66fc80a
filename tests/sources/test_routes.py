"""The operators' source monitoring endpoints: each source's profile against its baseline, as
`aiqleads sources report --json` gives it, for admins only."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.ingestion.pipeline import Pipeline
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.sources import service
from tests.factories import admin, agent
from tests.sources.kc import NO_COORDINATES, kc_document

URL = "/api/v1/admin/sources"
SOURCE = "king_county_sales"


async def test_admins_see_each_sources_drift_as_the_report_gives_it(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    pipeline = Pipeline.from_settings(settings, cipher, clock=clock)
    headers = await admin(client, sessions, clock)
    # Given 60 King County sales, and no profile yet
    await pipeline.run(sessions, [kc_document(0, 60)], metro="seattle", now=clock.now())
    assert (await client.get(URL, headers=headers)).json() == []
    # When an admin has the sources profiled, the first profile is the source's baseline
    made = await client.post(f"{URL}/profile", headers=headers)
    assert made.status_code == 200, made.text
    [first] = made.json()
    assert (first["source"], first["drifted"], first["sufficient"]) == (SOURCE, False, True)
    assert first["baseline"] == first["latest"]
    assert first["latest"]["leads"] >= settings.sources.min_records
    # When, eight days later, the source sends its sales without coordinates, and the periodic
    # task profiles it
    clock.advance(timedelta(days=8))
    blank = kc_document(60, 120, blank=NO_COORDINATES)
    await pipeline.run(sessions, [blank], metro="seattle", now=clock.now())
    async with transaction(sessions) as session:
        reports = await service.refresh(session, now=clock.now(), settings=settings.sources)
    # Then an admin's list is that report, field by field: the ZIP-only share drifted
    headers = await admin(client, sessions, clock)  # the first one's sign-in has lapsed
    listed = await client.get(URL, headers=headers)
    assert listed.status_code == 200
    [report] = listed.json()
    [expected] = [r.as_dict() for r in reports]
    assert report["drifts"] == expected["drifts"]
    assert report["latest"]["fields"] == expected["latest"]["fields"]
    assert report["baseline"]["fields"] == expected["baseline"]["fields"]
    assert report["latest"]["coverage"] == expected["latest"]["coverage"]
    assert (report["source"], report["drifted"], report["sufficient"]) == (SOURCE, True, True)
    drifted = {d["field"]: d for d in report["drifts"] if d["exceeded"]}
    assert set(drifted) == {"zip_only"}
    assert drifted["zip_only"]["baseline"] == 0.0 and drifted["zip_only"]["latest"] > 0.9


async def test_agents_may_not_see_or_profile_the_sources(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    _, headers = await agent(client, sessions, clock)
    assert (await client.get(URL, headers=headers)).status_code == 403
    assert (await client.post(f"{URL}/profile", headers=headers)).status_code == 403
    assert (await client.get(URL)).status_code == 401
