"""create_app(): routers, middleware and the lifespan that owns engines and clients."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from redis.asyncio import Redis

from aiqleads import __version__
from aiqleads.auth.admin_routes import router as admin_accounts_router
from aiqleads.auth.passwords import configure_hasher, configure_pool, dummy_hash
from aiqleads.auth.principal_cache import configure_principal_cache
from aiqleads.auth.routes import router as auth_router
from aiqleads.body_limit import BodyLimitMiddleware
from aiqleads.cart.routes import router as cart_router
from aiqleads.checkout.routes import router as checkout_router
from aiqleads.config import Settings, get_settings
from aiqleads.db.engine import create_engine, session_factory
from aiqleads.deps import AppState
from aiqleads.errors import install_error_handlers
from aiqleads.experiments.routes import router as experiments_router
from aiqleads.geo.routes import router as geo_router
from aiqleads.health import metrics_exposure
from aiqleads.health import router as health_router
from aiqleads.ingestion.routes import router as quarantine_router
from aiqleads.ingestion.routes import runs_router as ingestion_runs_router
from aiqleads.kit.clock import Clock, SystemClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.kit.memory import freeze_long_lived
from aiqleads.leads.routes import router as leads_router
from aiqleads.market.routes import admin_router as market_admin_router
from aiqleads.market.routes import router as market_router
from aiqleads.notices.routes import router as live_router
from aiqleads.observability.logging import configure_logging
from aiqleads.observability.middleware import MetricsMiddleware
from aiqleads.openapi import install_openapi
from aiqleads.payments.routes import router as payments_router
from aiqleads.purchases.routes import router as purchases_router
from aiqleads.recommend.routes import router as recommend_router
from aiqleads.scoring.routes import router as scoring_router
from aiqleads.security_headers import SecurityHeadersMiddleware
from aiqleads.sources.routes import router as sources_router
from aiqleads.tiers.routes import router as tiers_router
from aiqleads.web.routes import config_router as web_config_router
from aiqleads.web.routes import router as web_router
from aiqleads.web.routes import warn_if_assets_missing
from aiqleads.webhooks.routes import router as webhooks_router
from aiqleads.worker.context import TaskContext, http_client
from aiqleads.worker.dispatcher import Dispatcher

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "web" / "static"


def _dispatcher(state: AppState) -> Dispatcher | None:
    """This process's part of background work: with the embedded backend, run the tasks and
    the schedule here; with Dramatiq, relay this process's outbox rows to the broker as soon as
    they commit (`aiqleads worker` runs them, and relays whatever is left). None when
    AIQ_WORKER__START_IN_APP is false."""
    settings = state.settings
    if not settings.worker.start_in_app:
        return None
    http = http_client(settings)
    ctx = TaskContext(
        settings=settings,
        sessions=state.sessions,
        clock=state.clock,
        cipher=state.cipher,
        notices=state.notices,
        http=http,
    )
    ctx.on_close(http.aclose)
    if settings.worker_backend == "embedded":
        return Dispatcher(ctx, mode="run", schedule=settings.worker.schedule)
    from aiqleads.worker.dramatiq_broker import build_broker, sender_for

    broker = build_broker(settings)
    ctx.on_close(lambda: asyncio.to_thread(broker.close))
    return Dispatcher(ctx, mode="relay", sender=sender_for(broker, settings), schedule=False)


def _retire_metrics() -> None:
    """This worker is stopping: its live gauges (requests in flight, ingestion runs) no longer
    count in the sum /metrics reports; its counters stay in the totals."""
    from prometheus_client import multiprocess as prometheus_multiprocess

    prometheus_multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def create_served_app() -> FastAPI:
    """The application as `aiqleads serve` runs it (uvicorn's factory): one per worker process,
    which freezes its start-up objects once started (`kit.memory.freeze_long_lived`). Tests and
    embedders that build many apps in one process use `create_app`, which does not."""
    return create_app(freeze_gc=True)


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None, freeze_gc: bool = False
) -> FastAPI:
    settings = settings or get_settings()
    multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
    cipher = FieldCipher(settings.encryption_keys)  # fail at start-up, not at first decrypt
    configure_logging(settings.log_level, json_lines=settings.log_json)
    configure_pool(settings.login.hash_threads)
    configure_hasher(settings.login.hash_cost)
    dummy_hash()  # now, not in the first sign-in for an unknown account (timing)
    configure_principal_cache(settings.auth_cache_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        state = AppState(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            clock=clock or SystemClock(),
            cipher=cipher,
            redis=redis,
        )
        app.state.aiq = state
        dispatcher = _dispatcher(state)
        log.info(
            "starting",
            extra={
                "env": settings.env.value,
                "database": engine.dialect.name,
                "cache": "redis" if redis else "in-process",
                "payments": settings.payments.gateway,
                "notices": state.notices.name,
                "tasks": settings.worker_backend,
                "task_dispatcher": dispatcher.mode if dispatcher else "off",
                "rate_limits": state.limiter.storage_name if state.limiter.enabled else "off",
                "access_log": settings.access_log,
                "docs": settings.docs_enabled,
                "metrics": metrics_exposure(settings),
                "version": __version__,
            },
        )
        if multiprocess and state.limiter.enabled and not state.limiter.shared:
            log.warning("several workers without AIQ_REDIS_URL: each counts rate limits on its own")
        warn_if_assets_missing()
        state.views.start()
        state.exposures.start()
        state.impressions.start()
        if dispatcher is not None:
            dispatcher.start()
        if freeze_gc:
            freeze_long_lived()
        try:
            yield
        finally:
            if dispatcher is not None:
                await dispatcher.stop()
                await dispatcher.ctx.aclose()
            # Together, each wait bounded (db.batched): a database that does not answer holds
            # the stop 2 × 5 s at most, inside the 30 s a supervisor allows it (deploy/).
            await asyncio.gather(
                state.views.stop(), state.exposures.stop(), state.impressions.stop()
            )
            await state.gateway.aclose()
            if redis is not None:
                await redis.aclose()
            if state.generic_engine is not engine:
                await state.generic_engine.dispose()
            await engine.dispose()
            if multiprocess:
                _retire_metrics()

    # /docs and /redoc serve Swagger UI and ReDoc from the package's own files: no CDN. All
    # three, the schema included, are off in production unless AIQ_EXPOSURE__DOCS says.
    docs = settings.docs_enabled
    meta: dict[str, Any] = {
        "title": "AIQLeads",
        "version": __version__,
        "description": "Real-estate lead marketplace API.",
        "lifespan": lifespan,
    }
    if docs:
        app = FastAPIOffline(static_url="/docs/static", **meta)
    else:
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, **meta)
    install_error_handlers(app)
    install_openapi(app)
    # Added innermost first: the request id is set before the metrics and access log read it.
    # The body ceiling sits inside the metrics: a body still arriving is a request in flight
    # (a graceful stop waits for it), and a 413 is counted and logged like any answer.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, access_log=settings.access_log)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(CorrelationIdMiddleware, header_name="X-Request-ID")
    # A request is matched against the routers in this order, route by route (about 80 Python
    # calls for each router passed): the map page's come first. No two routers share a path.
    app.include_router(health_router)
    app.include_router(leads_router)
    app.include_router(geo_router)
    app.include_router(cart_router)
    app.include_router(auth_router)
    app.include_router(admin_accounts_router)
    app.include_router(tiers_router)
    app.include_router(checkout_router)
    app.include_router(payments_router)
    app.include_router(webhooks_router)
    app.include_router(purchases_router)
    app.include_router(quarantine_router)
    app.include_router(ingestion_runs_router)
    app.include_router(sources_router)
    app.include_router(market_router)
    app.include_router(market_admin_router)
    app.include_router(scoring_router)
    app.include_router(experiments_router)
    app.include_router(recommend_router)
    app.include_router(live_router)
    app.include_router(web_config_router)
    app.include_router(web_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
