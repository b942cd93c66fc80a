from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from aiqleads.config import TierPolicy
from aiqleads.models.enums import Tier


class TierPolicyIn(BaseModel):
    """A tier's whole policy, with the bounds a sane marketplace keeps."""

    # Strict: numbers as JSON numbers (`false` is not 0).
    model_config = ConfigDict(extra="forbid", strict=True)

    hold_minutes: int = Field(ge=1, le=7 * 24 * 60)
    hold_extensions: int = Field(ge=0, le=20)
    cart_limit: int = Field(ge=1, le=100_000)
    priority_delay_minutes: int = Field(ge=0, le=7 * 24 * 60)
    discount_percent: int = Field(ge=0, le=90)
    rate_limit_per_minute: int = Field(ge=1, le=1_000_000)
    bulk_limit: int = Field(ge=1, le=10_000)

    def policy(self) -> TierPolicy:
        return TierPolicy(**self.model_dump())


class TierPolicyOut(BaseModel):
    tier: Tier
    source: str  # "admin" or "settings"
    policy: TierPolicy
