from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from aiqleads.models.enums import Role, Tier


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320, json_schema_extra={"format": "email"})
    password: str = Field(
        max_length=200,
        json_schema_extra={"minLength": 10},
        description="at least 10 characters and hard to guess (zxcvbn score 3 or more)",
    )


class AccountOut(BaseModel):
    id: uuid.UUID
    email: str
    role: Role
    tier: Tier
    custom_cart_limit: int | None
    created_at: datetime


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_in: int


class RefreshIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=2000)


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)


class ApiKeyOut(BaseModel):
    prefix: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewApiKeyOut(ApiKeyOut):
    key: str = Field(description="The secret. Shown once; store it now.")
