"""The engines keep bind parameters out of logs and error texts."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from aiqleads.kit.clock import FrozenClock
from aiqleads.models import Account
from aiqleads.observability.logging import format_exception


async def test_an_integrity_error_does_not_carry_the_values(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    # Given an account row with an e-mail and a password hash
    row = {
        "public_id": uuid.uuid4(),
        "email": "secret.owner@example.com",
        "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$SECRETHASHVALUE",
        "role": "agent",
        "tier": "basic",
        "is_active": True,
        "token_version": 0,
        "created_at": clock.now(),
        "updated_at": clock.now(),
    }
    async with engine.begin() as conn:
        await conn.execute(insert(Account), [row])
    # When the same e-mail is inserted again
    with pytest.raises(IntegrityError) as caught:
        async with engine.begin() as conn:
            await conn.execute(insert(Account), [{**row, "public_id": uuid.uuid4()}])
    # Then the error's text holds no bind parameter (PostgreSQL's own message may quote the
    # key: "Key (email)=(…) already exists")
    text = str(caught.value)
    assert "SECRETHASHVALUE" not in text
    assert "hidden" in text
    # And a log of it holds neither value, nor the database's message, on either database
    logged = format_exception((type(caught.value), caught.value, caught.value.__traceback__))
    assert "secret.owner" not in logged
    assert "SECRETHASHVALUE" not in logged
    assert "IntegrityError" in logged and "withheld" in logged
