"""The request body ceiling (`aiqleads.body_limit`): over it, a 413 in the error shape before
any handler reads the body, whether the length is declared or not."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from aiqleads.app import create_app
from aiqleads.config import Settings
from aiqleads.kit.clock import FrozenClock

REGISTER = "/api/v1/auth/register"
LIMIT = 4096


@pytest.fixture
async def small_client(
    engine: object, settings: Settings, clock: FrozenClock
) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(settings.model_copy(update={"max_body_bytes": LIMIT}), clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


def _json_of(size: int) -> bytes:
    """A JSON body of exactly `size` bytes (a register request with a long e-mail)."""
    head, tail = b'{"email": "', b'@example.com", "password": "x"}'
    return head + b"a" * (size - len(head) - len(tail)) + tail


async def test_a_body_over_the_limit_is_413_in_the_error_shape(
    small_client: httpx.AsyncClient,
) -> None:
    # Given a body one byte over the limit, its length declared
    body = _json_of(LIMIT + 1)
    # When it is sent
    res = await small_client.post(
        REGISTER, content=body, headers={"Content-Type": "application/json"}
    )
    # Then it is refused whole, saying the limit
    assert res.status_code == 413
    assert res.json() == {
        "error": f"the request body is over {LIMIT} bytes",
        "code": "payload_too_large",
        "detail": [{"field": "body", "reason": f"at most {LIMIT} bytes"}],
    }
    # And the security headers are on it like on every answer
    assert res.headers["X-Content-Type-Options"] == "nosniff"


async def test_a_body_without_a_length_is_counted_as_it_arrives(
    small_client: httpx.AsyncClient,
) -> None:
    # Given a body sent in chunks, with no Content-Length
    body = _json_of(LIMIT * 3)

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 1000):
            yield body[i : i + 1000]

    # When it is sent
    res = await small_client.post(
        REGISTER, content=chunks(), headers={"Content-Type": "application/json"}
    )
    # Then it is refused once the count passes the limit
    assert "content-length" not in res.request.headers
    assert res.status_code == 413
    assert res.json()["code"] == "payload_too_large"


async def test_a_body_at_the_limit_is_read(small_client: httpx.AsyncClient) -> None:
    # Given a body of exactly the limit (an e-mail too long for the schema)
    body = _json_of(LIMIT)
    # When it is sent
    res = await small_client.post(
        REGISTER, content=body, headers={"Content-Type": "application/json"}
    )
    # Then the handler reads it, and its own checks answer
    assert res.status_code == 422
    assert res.json()["detail"][0]["field"] == "email"


def test_the_limit_is_a_setting_with_a_floor() -> None:
    # Given / When a limit too small to hold a login is asked for / Then it is refused
    with pytest.raises(ValueError, match="max_body_bytes"):
        Settings(max_body_bytes=10)
    assert Settings().max_body_bytes == 1_048_576
