"""Settings choose the gateway; Stripe without its keys is refused at start."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import async_sessionmaker

from aiqleads.config import PaymentSettings, Settings
from aiqleads.kit.crypto import generate_key
from aiqleads.payments.gateways import build_gateway
from aiqleads.payments.gateways.sandbox import SandboxGateway
from aiqleads.payments.gateways.stripe import StripeGateway


def test_the_default_is_the_sandbox() -> None:
    settings = Settings()
    assert settings.payments.gateway == "sandbox"
    gateway = build_gateway(settings.payments, sessions=async_sessionmaker())
    assert isinstance(gateway, SandboxGateway)
    assert gateway.name == "sandbox"


async def test_stripe_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIQ_PAYMENTS__GATEWAY", "stripe")
    monkeypatch.setenv("AIQ_PAYMENTS__STRIPE_API_KEY", "sk_test_abc")
    monkeypatch.setenv("AIQ_PAYMENTS__STRIPE_WEBHOOK_SECRET", "whsec_abc")
    monkeypatch.setenv("AIQ_PAYMENTS__STRIPE_API_BASE", "http://127.0.0.1:9")
    settings = Settings()
    assert "sk_test_abc" not in repr(settings)  # secrets stay out of logs
    gateway = build_gateway(settings.payments, sessions=async_sessionmaker())
    try:
        assert isinstance(gateway, StripeGateway)
        assert gateway.signature_header == "Stripe-Signature"
    finally:
        await gateway.aclose()


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({}, "STRIPE_API_KEY"),
        ({"stripe_api_key": "pk_test_publishable"}, "STRIPE_API_KEY"),
        ({"stripe_api_key": "sk_test_abc"}, "STRIPE_WEBHOOK_SECRET"),
        ({"stripe_api_key": "sk_test_abc", "stripe_webhook_secret": ""}, "WEBHOOK_SECRET"),
    ],
)
def test_stripe_without_its_keys_is_refused(values: dict[str, str], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        PaymentSettings(gateway="stripe", **values)


def test_production_refuses_stripe_without_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIQ_ENV", "production")
    monkeypatch.setenv("AIQ_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("AIQ_ENCRYPTION_KEYS", generate_key("prod1"))
    monkeypatch.setenv("AIQ_PAYMENTS__GATEWAY", "stripe")
    with pytest.raises(ValidationError, match="STRIPE_API_KEY"):
        Settings()
    monkeypatch.setenv("AIQ_PAYMENTS__STRIPE_API_KEY", "rk_live_abc")
    monkeypatch.setenv("AIQ_PAYMENTS__STRIPE_WEBHOOK_SECRET", "whsec_live")
    assert Settings().payments.gateway == "stripe"


def test_an_unknown_gateway_is_refused() -> None:
    with pytest.raises(ValidationError):
        PaymentSettings(gateway="paypal")
