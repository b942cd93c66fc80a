"""Security headers on every answer, and API docs that work without the internet."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from aiqleads.security_headers import APP_CSP, DOCS_CSP, SecurityHeadersMiddleware


@pytest.mark.parametrize(
    "path", ["/", "/static/js/main.js", "/api/v1/leads", "/health", "/metrics", "/no/such/page"]
)
async def test_every_answer_carries_the_security_headers(
    client: httpx.AsyncClient, path: str
) -> None:
    res = await client.get(path)
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert res.headers["X-Frame-Options"] == "DENY"
    assert res.headers["Content-Security-Policy"] == APP_CSP
    assert res.headers["Referrer-Policy"] == "no-referrer"
    assert "Strict-Transport-Security" not in res.headers  # plain HTTP: HSTS would mean nothing


async def test_an_unhandled_error_still_carries_them_and_the_request_id(app: FastAPI) -> None:
    # Given a route that fails unexpectedly
    async def boom() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/test-boom", boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://t") as client:
        res = await client.get("/test-boom")
    # Then the 500 has the error shape, the headers, the request id, and HSTS over HTTPS
    assert res.status_code == 500 and res.json()["code"] == "internal_error"
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert res.headers["Content-Security-Policy"] == APP_CSP
    assert re.fullmatch(r"[0-9a-f]{32}", res.headers["X-Request-ID"])
    assert res.headers["Strict-Transport-Security"].startswith("max-age=")


async def test_docs_are_served_offline(client: httpx.AsyncClient) -> None:
    # Given the API documentation page
    page = await client.get("/docs")
    assert page.status_code == 200
    assert page.headers["Content-Security-Policy"] == DOCS_CSP
    # Then every script and style it loads comes from this server, and each one answers
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page.text)
    assert assets, page.text
    for url in assets:
        assert url.startswith("/docs/static/"), url
        res = await client.get(url)
        assert res.status_code == 200 and len(res.content) > 10_000, url
    assert "cdn" not in page.text.lower()
    # And the spec it shows is ours
    spec = await client.get("/openapi.json")
    assert spec.json()["info"]["title"] == "AIQLeads"
    redoc = await client.get("/redoc")
    assert redoc.status_code == 200 and "cdn" not in redoc.text.lower()


async def test_a_header_the_answer_sets_itself_is_kept_once() -> None:
    # Given a bare ASGI app that frames itself for its own origin, in its own spelling
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        start = {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"X-Frame-Options", b"SAMEORIGIN"), (b"content-length", b"2")],
        }
        await send(start)
        await send({"type": "http.response.body", "body": b"ok"})

    transport = httpx.ASGITransport(app=SecurityHeadersMiddleware(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        res = await client.get("/")
    # Then its own value is the only one, and the headers it did not set are added
    assert res.headers.get_list("X-Frame-Options") == ["SAMEORIGIN"]
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert res.headers["Content-Security-Policy"] == APP_CSP
