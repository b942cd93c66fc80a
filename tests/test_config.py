from __future__ import annotations

import pytest
from pydantic import ValidationError

from aiqleads.config import INGEST_STAGES, IngestSettings, Settings
from aiqleads.kit.crypto import generate_key

GOOD_SECRET = "x" * 40


def test_production_refuses_default_secret_and_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIQ_ENV", "production")
    with pytest.raises(ValidationError, match="AIQ_SECRET_KEY"):
        Settings()
    monkeypatch.setenv("AIQ_SECRET_KEY", GOOD_SECRET)
    with pytest.raises(ValidationError, match="AIQ_ENCRYPTION_KEYS"):
        Settings()
    monkeypatch.setenv("AIQ_ENCRYPTION_KEYS", generate_key("prod1"))
    settings = Settings()
    assert settings.env == "production"


def test_production_refuses_a_short_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIQ_ENV", "production")
    monkeypatch.setenv("AIQ_SECRET_KEY", "short")
    monkeypatch.setenv("AIQ_ENCRYPTION_KEYS", generate_key("prod1"))
    with pytest.raises(ValidationError, match="32"):
        Settings()


def test_defaults_follow_the_design_and_can_be_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings()
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.redis_url is None
    assert settings.tiers["basic"].priority_delay_minutes == 30
    assert settings.tiers["pro"].discount_percent == 15
    assert settings.tiers["enterprise"].cart_limit == 500
    monkeypatch.setenv("AIQ_TIERS__PRO__DISCOUNT_PERCENT", "20")
    monkeypatch.setenv("AIQ_DATABASE_URL", "postgresql+asyncpg://u@h/db")
    monkeypatch.setenv("AIQ_REDIS_URL", "redis://127.0.0.1:6379/0")
    changed = Settings()
    assert changed.tiers["pro"].discount_percent == 20
    assert changed.tiers["basic"].discount_percent == 0
    assert not changed.is_sqlite
    assert changed.redis_url == "redis://127.0.0.1:6379/0"


def test_demo_owners_is_a_known_stage_that_no_default_runs() -> None:
    assert IngestSettings().stages == list(INGEST_STAGES)
    assert "demo_owners" not in INGEST_STAGES
    allowed = ["parse", "normalize", "validate", "demo_owners", "enrich", "store"]
    assert IngestSettings(stages=allowed).stages == allowed
    # The order rules hold for it too: it reads normalize's output, and enrich reads its contact
    for wrong in (
        ["parse", "demo_owners", "normalize", "store"],
        ["parse", "normalize", "enrich", "demo_owners", "store"],
    ):
        with pytest.raises(ValidationError, match="must keep the order"):
            IngestSettings(stages=wrong)


def test_the_cheapest_password_hashing_is_for_tests_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the tests' hashing cost asked for outside the test environment
    monkeypatch.setenv("AIQ_LOGIN__HASH_COST", "cheapest")
    # Then the settings refuse it, naming the setting; in the test environment they take it
    with pytest.raises(ValidationError, match="AIQ_LOGIN__HASH_COST=cheapest is for tests only"):
        Settings()
    monkeypatch.setenv("AIQ_ENV", "test")
    assert Settings().login.hash_cost == "cheapest"
