from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aiqleads.kit.clock import FrozenClock, as_utc
from aiqleads.kit.cursor import InvalidCursor, decode_cursor, encode_cursor
from aiqleads.kit.money import Money


def test_cursor_round_trip_and_tamper_detection() -> None:
    token = encode_cursor("k", ["-price", 1500, 42])
    assert decode_cursor("k", token) == ["-price", 1500, 42]
    with pytest.raises(InvalidCursor):
        decode_cursor("other-key", token)
    with pytest.raises(InvalidCursor):
        decode_cursor("k", "%%%")
    with pytest.raises(InvalidCursor):
        decode_cursor("k", token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:])


def test_money_discount_rounds_to_the_cent_and_clamps() -> None:
    assert Money(1700).percent_off(15).cents == 1445
    assert Money(999).percent_off(25).cents == 749  # 749.25 → 749
    assert Money(1).percent_off(50).cents == 1  # 0.5 rounds half up
    assert Money(100).clamp(500, 5000).cents == 500
    assert str(Money(123456)) == "1234.56 USD"
    with pytest.raises(TypeError):
        Money(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Money(1, "usd")


def test_frozen_clock_moves_only_when_told() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    clock = FrozenClock(t0)
    clock.advance(timedelta(minutes=5))
    assert clock.now() == t0 + timedelta(minutes=5)
    with pytest.raises(ValueError):
        FrozenClock(datetime(2026, 1, 1))
    assert as_utc(datetime(2026, 1, 1, 12)) == datetime(2026, 1, 1, 12, tzinfo=UTC)
