"""The admin API: create, start, stop, conclude (bad moves are 409 with a reason), the report
as JSON and PNG; agents get 403, anonymous callers 401."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.deps import AppState
from aiqleads.experiments import service
from aiqleads.kit.clock import FrozenClock
from aiqleads.models import ExperimentExposure
from tests.experiments.accounts import agent_ids
from tests.factories import admin, agent

URL = "/api/v1/admin/experiments"
BODY = {
    "name": "rec-v2",
    "variants": [{"name": "control", "weight": 50}, {"name": "model", "weight": 50}],
    "salt": "2026-11",
}


async def _post(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], body: Any = None
) -> httpx.Response:
    return await client.post(f"{URL}{path}", headers=headers, json=body)


def _refused(res: httpx.Response, reason: str) -> None:
    assert res.status_code == 409, res.text
    assert res.json()["detail"]["reason"] == reason, res.text


async def test_an_experiment_goes_from_draft_to_concluded_and_refuses_bad_moves(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    headers = await admin(client, sessions, clock)
    # When an admin creates an experiment
    res = await _post(client, "", headers, BODY)
    # Then it is a draft with its variants' shares and the default outcome window
    assert res.status_code == 201, res.text
    body = res.json()
    assert (body["status"], body["salt"], body["window_hours"]) == ("draft", "2026-11", 168)
    assert [(v["name"], v["share"]) for v in body["variants"]] == [("control", 0.5), ("model", 0.5)]
    # And the name cannot be taken twice
    _refused(await _post(client, "", headers, BODY), "name_taken")
    # And a draft can neither stop nor conclude
    _refused(await _post(client, "/rec-v2/stop", headers), "not_running")
    _refused(await _post(client, "/rec-v2/conclude", headers), "not_started")
    # When it starts
    res = await _post(client, "/rec-v2/start", headers)
    assert res.status_code == 200, res.text
    assert res.json()["status"] == "running"
    assert res.json()["started_at"] is not None
    # Then it cannot start again, nor can another one start on its surface
    _refused(await _post(client, "/rec-v2/start", headers), "already_running")
    other = {**BODY, "name": "rec-v3", "salt": None}
    assert (await _post(client, "", headers, other)).status_code == 201
    _refused(await _post(client, "/rec-v3/start", headers), "surface_busy")
    # And a winner that is not a variant is refused with the variants named
    res = await _post(client, "/rec-v2/conclude", headers, {"winner": "nope"})
    assert res.status_code == 422
    assert "control, model" in res.json()["error"]
    # When it stops
    res = await _post(client, "/rec-v2/stop", headers)
    assert res.json()["status"] == "stopped"
    # Then it is not restarted, nor stopped twice
    _refused(await _post(client, "/rec-v2/start", headers), "already_stopped")
    _refused(await _post(client, "/rec-v2/stop", headers), "not_running")
    # When it is concluded with a winner
    res = await _post(client, "/rec-v2/conclude", headers, {"winner": "model"})
    assert (res.json()["status"], res.json()["winner"]) == ("concluded", "model")
    # Then it is concluded once, and the surface is free for the next one
    _refused(await _post(client, "/rec-v2/conclude", headers), "already_concluded")
    assert (await _post(client, "/rec-v3/start", headers)).json()["status"] == "running"
    # And the list shows both, newest first; the other's salt defaulted to its name
    listed = (await client.get(URL, headers=headers)).json()
    assert [(e["name"], e["status"], e["salt"]) for e in listed] == [
        ("rec-v3", "running", "rec-v3"),
        ("rec-v2", "concluded", "2026-11"),
    ]
    # And a running experiment concludes without a stop first (stopped at the same time)
    res = await _post(client, "/rec-v3/conclude", headers)
    assert res.json()["stopped_at"] == res.json()["concluded_at"]
    assert res.json()["winner"] is None


BAD: list[tuple[dict[str, Any], str]] = [
    ({"variants": [{"name": "only", "weight": 1}]}, "variants"),
    ({"variants": [{"name": "a", "weight": 1}, {"name": "a", "weight": 1}]}, "variants"),
    ({"variants": [{"name": "a", "weight": 0}, {"name": "b", "weight": 1}]}, "variants.0.weight"),
    ({"name": "Has Spaces"}, "name"),
    ({"surface": "homepage"}, "surface"),
    ({"window_hours": 0}, "window_hours"),
    ({"colour": "blue"}, "colour"),
]


async def test_bad_experiments_are_refused_with_the_field_named(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    headers = await admin(client, sessions, clock)
    for change, field in BAD:
        # When an admin sends an experiment with one thing wrong
        res = await _post(client, "", headers, {**BODY, **change})
        # Then it is a 422 naming the field
        assert res.status_code == 422, res.text
        assert field in [d["field"] for d in res.json()["detail"]], res.text
    # And nothing was created
    assert (await client.get(URL, headers=headers)).json() == []


async def test_agents_may_not_touch_experiments(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Given an experiment an admin created, and an agent
    assert (await _post(client, "", await admin(client, sessions, clock), BODY)).status_code == 201
    _, headers = await agent(client, sessions, clock)
    # Then every route answers the agent 403, and a caller without credentials 401
    for method, path in [
        ("POST", ""),
        ("GET", ""),
        ("GET", "/rec-v2"),
        ("POST", "/rec-v2/start"),
        ("POST", "/rec-v2/stop"),
        ("POST", "/rec-v2/conclude"),
        ("GET", "/rec-v2/report"),
        ("GET", "/rec-v2/report.png"),
    ]:
        body = BODY if method == "POST" and not path else None
        res = await client.request(method, f"{URL}{path}", headers=headers, json=body)
        assert res.status_code == 403, (method, path, res.text)
        res = await client.request(method, f"{URL}{path}", json=body)
        assert res.status_code == 401, (method, path)


async def test_the_report_comes_as_json_and_png(
    app: FastAPI,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    # Given a running experiment and one list served to each of 4 agents through the app's
    # exposure recorder
    headers = await admin(client, sessions, clock)
    await _post(client, "", headers, BODY)
    await _post(client, "/rec-v2/start", headers)
    state: AppState = app.state.aiq
    for agent_id in await agent_ids(sessions, 4, now=clock.now()):
        async with sessions() as session:
            found = await service.assignment_for(
                session, surface="recommendations", agent_id=agent_id, now=clock.now()
            )
            assert found is not None
            await service.record_exposure(
                session, found, agent_id, [1, 2], clock.now(), recorder=state.exposures
            )
    await state.exposures.flush()
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ExperimentExposure)) == 4
    # When an admin asks for the report
    res = await client.get(f"{URL}/rec-v2/report", headers=headers)
    # Then it counts the 4 agents over the variants, with the SRM check and guardrails
    assert res.status_code == 200, res.text
    report = res.json()
    assert report["control"] == "control"
    assert sum(v["agents"] for v in report["variants"]) == 4
    assert set(report["variants"][0]["outcomes"]) == {"click", "hold", "purchase"}
    assert report["sample_ratio"]["alpha"] == 0.001
    assert {g["name"] for g in report["guardrails"]} == {"latency_p95", "return_rate"}
    assert any("still open" in w for w in report["warnings"])
    # And /metrics counts the exposures per experiment and variant
    metrics = (await client.get("/metrics")).text
    logged = re.findall(
        r'aiq_experiment_exposures_total\{experiment="rec-v2",variant="\w+"\} (\S+)', metrics
    )
    assert sum(float(n) for n in logged) >= 4
    # And the chart is a PNG
    png = await client.get(f"{URL}/rec-v2/report.png", headers=headers)
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    # And an unknown experiment is 404
    assert (await client.get(f"{URL}/nope/report", headers=headers)).status_code == 404


async def test_a_start_or_stop_through_the_api_is_seen_at_once_by_its_process(
    app: FastAPI,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    # Given a draft experiment, and the process's view of the running ones saying "none"
    headers = await admin(client, sessions, clock)
    await _post(client, "", headers, BODY)
    running = app.state.aiq.running_experiments

    async def held() -> str | None:
        async with sessions() as session:
            found = await running.on(session, "recommendations", clock.now())
        return None if found is None else found.name

    assert await held() is None
    # When an admin starts it, then stops it, through this process, with no time passing
    # Then the process sees each change at once, not after its cache's few seconds
    assert (await _post(client, "/rec-v2/start", headers)).status_code == 200
    assert await held() == "rec-v2"
    assert (await _post(client, "/rec-v2/stop", headers)).status_code == 200
    assert await held() is None
