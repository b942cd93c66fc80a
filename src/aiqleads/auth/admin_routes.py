"""Operator endpoints for accounts: list them, set tier, custom cart limit and activity
(deactivating one revokes its refresh tokens for good and ends its access tokens at once)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from aiqleads.auth import principal_cache, repository, service
from aiqleads.auth.routes import account_out
from aiqleads.auth.schemas import AccountOut
from aiqleads.deps import CurrentAdmin, DbSession, State
from aiqleads.errors import InvalidInput, NotFound
from aiqleads.models.enums import Tier
from aiqleads.routing import SessionRoute

router = APIRouter(route_class=SessionRoute, prefix="/api/v1/admin/accounts", tags=["admin"])


class AccountPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tier: Tier | None = None
    custom_cart_limit: int | None = Field(default=None, ge=1, le=100_000)
    is_active: bool | None = None


@router.get("")
async def list_accounts(_: CurrentAdmin, session: DbSession) -> list[AccountOut]:
    return [account_out(a) for a in await repository.list_accounts(session)]


@router.patch("/{account_id}")
async def update_account(
    account_id: uuid.UUID, body: AccountPatch, _: CurrentAdmin, session: DbSession, state: State
) -> AccountOut:
    account = await repository.account_by_public_id(session, account_id)
    if account is None:
        raise NotFound("no such account")
    tier = body.tier or Tier(account.tier)
    if body.custom_cart_limit is not None and tier is not Tier.ENTERPRISE:
        raise InvalidInput("custom_cart_limit", "only enterprise accounts have a custom limit")
    account.tier = tier.value
    if tier is not Tier.ENTERPRISE:
        account.custom_cart_limit = None
    elif "custom_cart_limit" in body.model_fields_set:
        account.custom_cart_limit = body.custom_cart_limit
    account.updated_at = state.clock.now()
    if body.is_active is not None:
        await service.set_active(session, account, active=body.is_active, now=state.clock.now())
    await session.flush()
    # A new tier or cart limit applies to this process's next request (others' within
    # AIQ_AUTH_CACHE_SECONDS).
    principal_cache.account_changed()
    return account_out(account)
