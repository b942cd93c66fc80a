from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request, Response, status
from sqlalchemy import Row

from aiqleads.auth import repository, service
from aiqleads.auth.schemas import (
    AccountOut,
    ApiKeyIn,
    ApiKeyOut,
    NewApiKeyOut,
    RefreshIn,
    RegisterIn,
    TokenOut,
)
from aiqleads.deps import (
    AnonymousRateLimit,
    CurrentPrincipal,
    DbSession,
    State,
    app_state,
    generic_plans,
    reads_only,
)
from aiqleads.errors import InvalidInput, NotFound
from aiqleads.kit.responses import JSONBytes
from aiqleads.models import Account, ApiKey
from aiqleads.models.enums import Role, Tier
from aiqleads.ratelimit.guard import limit_login, limit_register
from aiqleads.ratelimit.limiter import client_ip
from aiqleads.routing import SessionRoute

router = APIRouter(route_class=SessionRoute, prefix="/api/v1/auth", tags=["auth"])


def account_out(account: Account | Row[Any]) -> AccountOut:
    """An account as its owner and admins see it, from the ORM object or from a row of
    `repository.account_view` (the same names)."""
    return AccountOut(
        id=account.public_id,
        email=account.email,
        role=Role(account.role),
        tier=Tier(account.tier),
        custom_cart_limit=account.custom_cart_limit,
        created_at=account.created_at,
    )


def _key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        prefix=key.prefix,
        name=key.name,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


@router.post("/register", status_code=status.HTTP_201_CREATED, dependencies=[AnonymousRateLimit])
async def register(
    request: Request, body: RegisterIn, session: DbSession, state: State
) -> AccountOut:
    """Open a basic agent account; an admin can change the tier later. A password that
    zxcvbn finds guessable is a 422. An e-mail that has an account is a 409, so registration
    is limited per client address (`AIQ_RATE_LIMIT__REGISTER_PER_HOUR`, 429) to keep that
    from being used to test lists of addresses."""
    await limit_register(request.scope, state.limiter)
    account = await service.create_account(
        session,
        email=body.email,
        password=body.password,
        role=Role.AGENT,
        tier=Tier.BASIC,
        now=state.clock.now(),
        min_score=state.settings.login.password_min_score,
    )
    return account_out(account)


@router.post("/token", dependencies=[AnonymousRateLimit])
async def token(
    request: Request,
    session: DbSession,
    state: State,
    username: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=200)],
    grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
) -> TokenOut:
    """OAuth2 password flow: the e-mail as `username`. Every failure is the same 401; past a
    few, attempts naming the e-mail or from the address wait a growing delay (429
    `login_throttled` with Retry-After). Also rate-limited per address and per account named
    (429 `rate_limited`)."""
    await limit_login(request.scope, state.limiter, username)
    now = state.clock.now()
    account = await service.authenticate(
        session,
        state.settings,
        email=username,
        password=password,
        now=now,
        client_ip=client_ip(request.scope),
    )
    pair = await service.issue_tokens(session, state.settings, account, now=now)
    return TokenOut(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.post("/refresh", dependencies=[AnonymousRateLimit])
async def refresh(body: RefreshIn, session: DbSession, state: State) -> TokenOut:
    pair = await service.refresh_tokens(
        session, state.settings, refresh_token=body.refresh_token, now=state.clock.now()
    )
    return TokenOut(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.get("/me", response_model=AccountOut, response_class=JSONBytes)
@reads_only
@generic_plans  # the account by its id
async def me(principal: CurrentPrincipal, session: DbSession, request: Request) -> Response:
    """The caller's own account. Built from its row and serialised once (the web app asks on
    every page it opens)."""
    rows = app_state(request).rows_by_key.alongside(session)
    row = await repository.account_view(rows, principal.account_id)
    if row is None:
        raise NotFound("account not found")
    out = account_out(row)
    return JSONBytes(out.__pydantic_serializer__.to_json(out))


@router.post("/api-keys", status_code=status.HTTP_201_CREATED)
async def create_api_key(
    body: ApiKeyIn, principal: CurrentPrincipal, session: DbSession, state: State
) -> NewApiKeyOut:
    new = await service.create_api_key(session, principal, name=body.name, now=state.clock.now())
    return NewApiKeyOut(**_key_out(new.key).model_dump(), key=new.secret)


@router.get("/api-keys")
async def list_api_keys(principal: CurrentPrincipal, session: DbSession) -> list[ApiKeyOut]:
    return [_key_out(k) for k in await repository.api_keys_of(session, principal.account_id)]


@router.delete("/api-keys/{prefix}")
async def revoke_api_key(
    prefix: Annotated[str, Path(pattern=r"^[A-Za-z0-9]{10}$", description="the key's prefix")],
    principal: CurrentPrincipal,
    session: DbSession,
    state: State,
) -> ApiKeyOut:
    if not prefix.isalnum() or len(prefix) != 10:
        raise InvalidInput("prefix", "must be the 10-character key prefix")
    key = await service.revoke_api_key(session, principal, prefix=prefix, now=state.clock.now())
    return _key_out(key)
