"""Who is making a request, as the rest of the code sees it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from aiqleads.models import Account
from aiqleads.models.enums import Role, Tier


@dataclass(frozen=True, slots=True)
class Principal:
    account_id: int
    public_id: uuid.UUID
    email: str
    role: Role
    tier: Tier
    custom_cart_limit: int | None
    via_api_key: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @classmethod
    def of(cls, account: Account, *, via_api_key: bool = False) -> Principal:
        return cls(
            account_id=account.id,
            public_id=account.public_id,
            email=account.email,
            role=Role(account.role),
            tier=Tier(account.tier),
            custom_cart_limit=account.custom_cart_limit,
            via_api_key=via_api_key,
        )
