"""Malformed request bodies (`aiqleads.errors`): each is answered in the error shape, naming the
body and why, never a bare 400 or a crash."""

from __future__ import annotations

import httpx
import pytest

REGISTER = "/api/v1/auth/register"


@pytest.mark.parametrize(
    ("content", "content_type", "status", "reason"),
    [
        (b'{"email": "a@example.com", "password": ', "application/json", 422, "not valid JSON"),
        (b'{"email": "\xff\xfe"}', "application/json", 422, "could not be decoded"),
        (b"\xff\xfe\x00{", "application/json; charset=utf-8", 422, "not valid JSON"),
        (b'{"email": "a@b.c", "password": "x"}', "text/plain", 415, "application/json"),
        (b"email=a%40b.c&password=x", "application/x-www-form-urlencoded", 415, "not application"),
        (b'"hello"', "application/json", 422, "valid dictionary"),
        (b"[1, 2]", "application/json", 422, "valid dictionary"),
        (b"42", "application/json", 422, "valid dictionary"),
    ],
    ids=[
        "truncated JSON",
        "not UTF-8",
        "a byte-order mark",
        "text/plain",
        "a form",
        "a JSON string",
        "a JSON list",
        "a JSON number",
    ],
)
async def test_a_malformed_body_is_refused_with_its_reason(
    client: httpx.AsyncClient, content: bytes, content_type: str, status: int, reason: str
) -> None:
    # Given a body that is not the JSON object the route takes
    # When it is sent
    res = await client.post(REGISTER, content=content, headers={"Content-Type": content_type})
    # Then the answer is a 422 (or a 415 for another media type) naming the body and why
    assert res.status_code == status, res.text
    body = res.json()
    assert set(body) == {"error", "code", "detail"}
    assert body["code"] == ("validation_error" if status == 422 else "unsupported_media_type")
    assert body["detail"][0]["field"] == "body"
    assert reason in body["detail"][0]["reason"], body
