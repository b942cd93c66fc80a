"""Typed dependency aliases shared by every router."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.types import Scope

from aiqleads.auth import service as auth_service
from aiqleads.auth.principal import Principal
from aiqleads.config import Settings
from aiqleads.db.engine import generic_plan_engine, read_session_factory, session_factory
from aiqleads.db.row_reads import DriverRows
from aiqleads.errors import Forbidden, Unauthorized
from aiqleads.events.recorder import ViewRecorder
from aiqleads.experiments.recorder import ExposureRecorder
from aiqleads.experiments.service import RunningExperiments
from aiqleads.geo.key_memo import KeyMemo
from aiqleads.kit.cache import ByteCache, build_cache
from aiqleads.kit.clock import Clock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.leads.page_cache import PageCache
from aiqleads.leads.visibility import Viewer, viewer_for
from aiqleads.notices import Notices, build_notices
from aiqleads.payments.gateways import PaymentGateway, build_gateway
from aiqleads.ratelimit import RequestLimiter
from aiqleads.ratelimit import guard as rate_guard
from aiqleads.recommend.competition import CompetitionCache
from aiqleads.recommend.recorder import ImpressionRecorder
from aiqleads.recommend.registry import ModelRegistry
from aiqleads.tiers.service import TierPolicies


@dataclass
class AppState:
    """What the lifespan builds once per process; stored on `app.state.aiq`."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    cipher: FieldCipher
    redis: Redis | None = None
    # Sessions of requests that only read (`reads_only`): no transaction on PostgreSQL.
    read_sessions: async_sessionmaker[AsyncSession] = field(init=False)
    # Sessions of requests whose statements' plans do not depend on their values
    # (`generic_plans`), on `generic_engine` (`db.engine.generic_plan_engine`).
    generic_engine: AsyncEngine = field(init=False)
    generic_sessions: async_sessionmaker[AsyncSession] = field(init=False)
    # Both: statements by key, each on its own (`reads_only` and `generic_plans`).
    generic_read_sessions: async_sessionmaker[AsyncSession] = field(init=False)
    # Reads by key on the driver itself (`db.row_reads`), from `generic_engine`'s pool: the
    # cache keys', the lead previews' and the cart views'.
    rows_by_key: DriverRows = field(init=False)
    key_memo: KeyMemo | None = field(init=False)
    gateway: PaymentGateway = field(init=False)
    views: ViewRecorder = field(init=False)
    # A/B exposures, written in batches outside requests (aiqleads.experiments.recorder).
    exposures: ExposureRecorder = field(init=False)
    # Built from `redis` (shared) or in-process, so the lifespan need not know about caching.
    cache: ByteCache = field(init=False)
    # Catalog pages shared by agents of a class, in `cache` (None: off).
    catalog_pages: PageCache | None = field(init=False)
    tiers: TierPolicies = field(init=False)
    # Live notices: Redis pub/sub when `redis` is set, in-process fan-out otherwise.
    notices: Notices = field(init=False)
    # Request rate limits: counts in `redis` (shared) or in-process.
    limiter: RequestLimiter = field(init=False)
    # The recommender this process serves, reloaded when the registry's serving version changes.
    recommender: ModelRegistry = field(init=False)
    # Competition counts per res-8 cell for recommendations, kept a short while.
    competition: CompetitionCache = field(init=False)
    # Served recommendations, written in batches outside requests (aiqleads.recommend.recorder).
    impressions: ImpressionRecorder = field(init=False)
    # Which experiment runs on each surface, kept a few seconds (experiments.service).
    running_experiments: RunningExperiments = field(init=False)

    def __post_init__(self) -> None:
        self.read_sessions = read_session_factory(self.engine)
        self.generic_engine = generic_plan_engine(self.settings, self.engine)
        self.generic_sessions = (
            self.sessions
            if self.generic_engine is self.engine
            else session_factory(self.generic_engine)
        )
        self.generic_read_sessions = read_session_factory(self.generic_engine)
        self.rows_by_key = DriverRows(self.generic_engine, self.generic_read_sessions)
        seconds = self.settings.key_memo_seconds
        self.key_memo = KeyMemo(seconds=seconds) if seconds > 0 else None
        self.cache = build_cache(
            self.redis,
            max_entries=self.settings.geo_cache_max_entries,
            near_max_bytes=self.settings.near_cache_max_bytes,
            near_seconds=self.settings.near_cache_seconds,
        )
        self.catalog_pages = (
            PageCache(
                self.cache,
                keys=self.rows_by_key,
                memo=self.key_memo,
                namespace=self.settings.cache_namespace,
                ttl_seconds=self.settings.catalog_cache_ttl_seconds,
            )
            if self.settings.catalog_cache_ttl_seconds > 0
            else None
        )
        self.notices = build_notices(self.redis, namespace=self.settings.cache_namespace)
        self.tiers = TierPolicies(self.settings)
        self.limiter = RequestLimiter(
            self.settings.rate_limit, redis=self.redis, namespace=self.settings.cache_namespace
        )
        self.views = ViewRecorder(self.sessions)
        self.exposures = ExposureRecorder(
            self.sessions,
            interval=self.settings.experiments.exposure_flush_seconds,
            batch=self.settings.experiments.exposure_batch,
        )
        self.recommender = ModelRegistry(self.settings.recommend.reload_check_seconds)
        self.competition = CompetitionCache(self.settings.recommend.competition_cache_seconds)
        self.impressions = ImpressionRecorder(self.sessions)
        self.running_experiments = RunningExperiments(
            self.settings.experiments.assignment_cache_seconds
        )
        self.gateway = build_gateway(
            self.settings.payments, sessions=self.sessions, clock=self.clock
        )


def app_state(request: Request) -> AppState:
    """What the lifespan built for this process. The dependencies below call it rather than
    depend on `State`: each dependency FastAPI solves costs every request ~100 function calls."""
    state: AppState = request.app.state.aiq
    return state


async def get_state(request: Request) -> AppState:
    # async although it awaits nothing: FastAPI runs a plain `def` dependency in its thread pool,
    # a hand-off every request paid for reading one attribute.
    return app_state(request)


State = Annotated[AppState, Depends(get_state)]


_READS_ONLY = "aiq_reads_only"
_GENERIC_PLANS = "aiq_generic_plans"
F = TypeVar("F", bound=Callable[..., Any])


def reads_only(endpoint: F) -> F:
    """Mark a route handler whose request writes nothing in the database (with its
    dependencies): its session reads without a transaction (`db.engine.read_session_factory`).
    Put it below the route decorator. (The one write such a request may make, an API key's
    `last_used_at` at most once a minute, is then kept even if the request fails afterwards,
    as the key's use is.)"""
    setattr(endpoint, _READS_ONLY, True)
    return endpoint


def is_reads_only(endpoint: Any) -> bool:
    """Whether the route handler `endpoint` is marked `reads_only`."""
    return bool(getattr(endpoint, _READS_ONLY, False))


def generic_plans(endpoint: F) -> F:
    """Mark a route handler whose statements (its dependencies' too) find rows by key, so a
    plan kept per prepared statement serves every value as well as one made for them: its
    session is `AppState.generic_sessions`. Not for map boxes, price ranges or text searches,
    whose best plan depends on the values. Put it below the route decorator. (Checkout, whose
    flow opens its own transactions, takes `AppState.generic_sessions` through
    `checkout.routes.checkout_of`.) With `reads_only` too, `AppState.generic_read_sessions`."""
    setattr(endpoint, _GENERIC_PLANS, True)
    return endpoint


def uses_generic_plans(endpoint: Any) -> bool:
    """Whether the route handler `endpoint` is marked `generic_plans`."""
    return bool(getattr(endpoint, _GENERIC_PLANS, False))


# Where a request's session waits for `end_session` (set by `get_session`).
_SESSION = "aiq.session"


async def get_session(request: Request) -> AsyncSession:
    """The request's session: one per request (FastAPI calls a dependency once per request),
    from the factory its handler's marks choose (`reads_only`: statements without a
    transaction; `generic_plans`). Ended by `end_session` when the handler returns, which the
    routes' class (`aiqleads.routing.SessionRoute`) calls.

    A plain function, not a generator dependency ending the session itself: FastAPI's exit
    stack around a generator cost ~90 µs a request, 7 % of a cached catalog search's CPU
    (bench/request_costs.py's search, 2026-12-03)."""
    state = app_state(request)
    endpoint = getattr(request.scope.get("route"), "endpoint", None)
    generic = uses_generic_plans(endpoint)
    factory = state.sessions
    if is_reads_only(endpoint):
        factory = state.generic_read_sessions if generic else state.read_sessions
    elif generic:
        factory = state.generic_sessions
    session = factory()
    request.scope[_SESSION] = session
    return session


async def end_session(scope: Scope, *, failed: bool) -> None:
    """End the session `get_session` opened for the request of `scope`, if it did: committed
    (`failed` False: the handler returned), or rolled back (it raised), then closed. A session
    the request never used is left as it is (a page the caches answered): committing and
    closing it anyway cost a task and two greenlet hand-offs, ~10 % of a cached search's
    Python calls. Raises what the commit raises (the session is closed all the same, and
    closing ends a transaction a failed commit left: SQLAlchemy's `close` rolls it back)."""
    session: AsyncSession | None = scope.pop(_SESSION, None)
    if session is None or untouched(session):
        return
    try:
        if failed:
            await session.rollback()
        else:
            await session.commit()
    finally:
        await session.close()


def untouched(session: AsyncSession) -> bool:
    """Whether `session` has neither begun a transaction nor holds an object (pending or
    loaded): then commit, rollback and close have nothing to do, and can be skipped."""
    return not session.in_transaction() and not session.new and not session.identity_map


DbSession = Annotated[AsyncSession, Depends(get_session)]

# The two ways a caller signs in, read with FastAPI's own classes. `get_principal` calls them
# rather than declaring them as dependencies: FastAPI solves each dependency on every request,
# which cost ~70 function calls apiece, 7 % of a cached search's. The API description lists
# them for every operation that takes a caller, as FastAPI would have (`aiqleads.openapi`).
BEARER = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False)
CALLER_SCHEMES = (BEARER, API_KEY)


async def _credentials(request: Request) -> tuple[str | None, str | None]:
    """The request's bearer token and API key (None for each one it does not send)."""
    return await BEARER(request), await API_KEY(request)


async def _principal(
    session: AsyncSession, state: AppState, token: str | None, api_key: str | None
) -> Principal:
    now = state.clock.now()
    if api_key:
        return await auth_service.principal_from_api_key(session, api_key, now=now)
    if token:
        return await auth_service.principal_from_access_token(
            state.rows_by_key.alongside(session), state.settings, token, now=now
        )
    raise Unauthorized("not authenticated: send a bearer token or an X-API-Key header")


# Where a request's caller is kept once found (`get_principal`).
_PRINCIPAL = "aiq.principal"


async def get_principal(request: Request, session: DbSession) -> Principal:
    """The caller, counted against its tier's rate limit (a failed authentication counts
    against its address's). Found and counted once per request, however many dependencies
    ask (`get_viewer` calls it rather than depending on it: each dependency FastAPI solves
    costs every request ~100 function calls)."""
    found: Principal | None = request.scope.get(_PRINCIPAL)
    if found is not None:
        return found
    state = app_state(request)
    token, api_key = await _credentials(request)
    try:
        principal = await _principal(session, state, token, api_key)
    except Unauthorized:
        await rate_guard.limit_anonymous(request.scope, state.limiter)
        raise
    policy = await state.tiers.of(session, principal.tier)
    await rate_guard.limit_principal(request.scope, state.limiter, principal, policy)
    request.scope[_PRINCIPAL] = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def get_principal_apart(request: Request) -> Principal:
    """The caller, found in a transaction of its own that ends before the handler runs: for
    handlers that manage their own transactions (checkout), so a request never holds two
    database connections at once. Rate-limited as `get_principal`."""
    state = app_state(request)
    token, api_key = await _credentials(request)
    async with state.sessions() as session:
        try:
            principal = await _principal(session, state, token, api_key)
        except Unauthorized:
            await rate_guard.limit_anonymous(request.scope, state.limiter)
            raise
        policy = await state.tiers.of(session, principal.tier)
        await session.commit()
    await rate_guard.limit_principal(request.scope, state.limiter, principal, policy)
    return principal


PrincipalApart = Annotated[Principal, Depends(get_principal_apart)]


async def get_admin(principal: CurrentPrincipal) -> Principal:
    if not principal.is_admin:
        raise Forbidden("admin role required")
    return principal


CurrentAdmin = Annotated[Principal, Depends(get_admin)]


async def get_viewer(request: Request, session: DbSession) -> Viewer:
    """The caller (`get_principal`) as a reader of leads: tier window and discount at this
    request's time."""
    state = app_state(request)
    principal = await get_principal(request, session)
    policy = await state.tiers.of(session, principal.tier)
    return viewer_for(principal, policy, state.clock.now())


CurrentViewer = Annotated[Viewer, Depends(get_viewer)]


async def limit_anonymous_call(request: Request) -> None:
    """For routes that take no account (registration, login, refresh): the client address's
    rate limit."""
    await rate_guard.limit_anonymous(request.scope, app_state(request).limiter)


AnonymousRateLimit = Depends(limit_anonymous_call)
