from __future__ import annotations

import logging

import httpx
import pytest

from aiqleads.observability.logging import JsonFormatter, RedactingFilter


async def test_health_and_ready(client: httpx.AsyncClient, backend: object) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200
    checks = ready.json()["checks"]
    assert checks["database"] == "ok"
    if getattr(backend, "redis_url", None):
        assert checks["redis"] == "ok"


async def test_metrics_label_routes_by_template_not_raw_path(client: httpx.AsyncClient) -> None:
    # Given requests to a templated route with two different ids and to an unknown path
    for lead_id in ("00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002"):
        await client.get(f"/api/v1/leads/{lead_id}")
    await client.get("/no/such/path/123")
    body = (await client.get("/metrics")).text
    # Then the series name the template, never an id, and unknown paths share one label
    assert 'route="/api/v1/leads/{lead_id}",status="401"' in body
    assert "00000000-0000-0000-0000-000000000001" not in body
    assert 'route="unmatched",status="404"' in body
    assert "/no/such/path" not in body
    assert "aiq_http_request_duration_seconds_bucket" in body


async def test_docs_openapi_and_static_files_have_templates_of_their_own(
    client: httpx.AsyncClient,
) -> None:
    # Given the docs, the spec, static files (one missing) and the docs' own assets
    for path in ("/docs", "/openapi.json", "/static/js/main.js", "/static/missing.js"):
        await client.get(path)
    await client.get("/docs/static/swagger-ui.css")
    body = (await client.get("/metrics")).text
    # Then each is counted under its own template, and none as "unmatched"
    for labels in (
        'route="/docs",status="200"',
        'route="/openapi.json",status="200"',
        'route="/static/{path}",status="200"',
        'route="/static/{path}",status="404"',
        'route="/docs/static/{path}",status="200"',
    ):
        assert f'aiq_http_requests_total{{method="GET",{labels}}}' in body, labels
    assert "main.js" not in body and "swagger-ui.css" not in body
    assert 'route="unmatched",status="200"' not in body


async def test_dependencies_are_checked_at_each_scrape(
    client: httpx.AsyncClient, backend: object
) -> None:
    body = (await client.get("/metrics")).text
    assert 'aiq_dependency_up{dependency="database"} 1.0' in body
    if getattr(backend, "redis_url", None):
        assert 'aiq_dependency_up{dependency="redis"} 1.0' in body
    # and the statements of that check were timed
    assert 'aiq_db_query_seconds_count{operation="select"}' in body


async def test_login_outcomes_are_counted(client: httpx.AsyncClient) -> None:
    from aiqleads.observability.metrics import LOGINS

    before = LOGINS.labels("failed")._value.get()
    await client.post("/api/v1/auth/token", data={"username": "x@example.com", "password": "p"})
    assert LOGINS.labels("failed")._value.get() == before + 1
    # An unknown e-mail is not told apart from a wrong password: no label says so
    res = await client.get("/metrics")
    assert "unknown_account" not in res.text


async def test_unknown_route_and_wrong_method_use_the_error_shape(
    client: httpx.AsyncClient,
) -> None:
    res = await client.get("/api/v1/nothing")
    assert res.status_code == 404
    assert set(res.json()) == {"error", "code", "detail"}
    assert res.json()["code"] == "not_found"
    res = await client.put("/health")
    assert res.status_code == 405
    assert set(res.json()) == {"error", "code", "detail"}
    assert res.json()["code"] == "method_not_allowed"  # not a validation error: no field is wrong
    assert res.headers["allow"] == "GET"


@pytest.mark.parametrize(
    ("message", "leak"),
    [
        ("owner is pat@example.com", "pat@example.com"),
        ("call +1 206-555-0123 now", "555-0123"),
        ("phone (206) 555.0199", "555.0199"),
        ("e164 +12065550123 given", "2065550123"),
    ],
)
def test_log_lines_never_carry_contacts(message: str, leak: str) -> None:
    # Given the message logged as a constant (twice: the filter keeps constants' redaction) and
    # as a template's argument
    as_logged = [(message, ()), (message, ()), ("said: %s", (message,))]
    for msg, args in as_logged:
        record = logging.makeLogRecord({"msg": msg, "args": args, "levelname": "INFO"})
        record.owner_phone = "+12065550123"
        assert RedactingFilter().filter(record)
        line = JsonFormatter().format(record)
        # Then no line carries it, nor the contact given as a field
        assert leak not in line
        assert "+12065550123" not in line


def test_redaction_leaves_timestamps_and_ids_alone() -> None:
    from aiqleads.observability.logging import redact

    text = "at 2026-11-26 12:12:17.330394 lead 7129300520 took 12.5 ms"
    assert redact(text) == text
