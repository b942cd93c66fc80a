"""Liveness, readiness and the Prometheus scrape endpoint."""

from __future__ import annotations

import asyncio
import hmac
import os
from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import text

from aiqleads.config import Environment, Settings
from aiqleads.deps import AppState, State
from aiqleads.errors import NotFound, Unauthorized
from aiqleads.observability.metrics import DEPENDENCY_UP
from aiqleads.routing import SessionRoute
from aiqleads.scoring import service as scoring
from aiqleads.sources import service as sources

router = APIRouter(route_class=SessionRoute, tags=["operations"])
_CHECK_SECONDS = 2.0  # a dependency slower than this to answer counts as down


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is up. Says nothing about its dependencies (see /ready)."""
    return {"status": "ok"}


@router.get("/ready")
async def ready(state: State) -> JSONResponse:
    """Ready to serve: the database answers and, when configured, Redis does too."""
    checks: dict[str, str] = {}
    try:
        async with state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready; the reason goes to the caller
        checks["database"] = f"error: {type(exc).__name__}"
    if state.redis is not None:
        try:
            await state.redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503
    )


async def _check_dependencies(state: AppState) -> None:
    """aiq_dependency_up{dependency}: whether the database (and Redis, when configured)
    answered now, so alerts see an outage even while no request fails."""

    async def database() -> None:
        async with state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    checks = {"database": database}
    if state.redis is not None:
        redis = state.redis

        async def redis_ping() -> None:
            await redis.ping()

        checks["redis"] = redis_ping
    for name, check in checks.items():
        try:
            await asyncio.wait_for(check(), _CHECK_SECONDS)
            DEPENDENCY_UP.labels(name).set(1)
        except Exception:  # any failure is "down"; /ready tells which error
            DEPENDENCY_UP.labels(name).set(0)


async def _export_source_drift(state: AppState) -> None:
    """The stored source profiles' drift (aiq_source_field_drift, aiq_source_drifted), read at
    each scrape so every process reports what the last profiling run found."""
    try:
        async with state.sessions() as session:
            reports = await sources.stored_reports(session, state.settings.sources)
    except Exception:  # the database being down is aiq_dependency_up's to report
        return
    sources.export(reports)


async def _export_scoring_importance(state: AppState) -> None:
    """Each registered scoring model's feature importance (aiq_scoring_feature_importance_ratio),
    read at each scrape so every process reports the registry."""
    try:
        async with state.sessions() as session:
            rows = await scoring.models(session)
    except Exception:  # the database being down is aiq_dependency_up's to report
        return
    scoring.export(rows)


def metrics_exposure(settings: Settings) -> str:
    """Who may read /metrics: "token" (a bearer token), "open", or "off" (production without
    a token or AIQ_EXPOSURE__METRICS_PUBLIC)."""
    if settings.exposure.metrics_token is not None:
        return "token"
    if settings.exposure.metrics_public or settings.env is not Environment.PRODUCTION:
        return "open"
    return "off"


def _metrics_allowed(settings: Settings, authorization: str | None) -> bool:
    mode = metrics_exposure(settings)
    if mode != "token":
        return mode == "open"
    token = settings.exposure.metrics_token
    assert token is not None
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.get_secret_value().encode()
    )


@router.get("/metrics", include_in_schema=False)
async def metrics(state: State, authorization: Annotated[str | None, Header()] = None) -> Response:
    """Prometheus text format. With PROMETHEUS_MULTIPROC_DIR (several workers) the sum over
    every worker, whichever one answers the scrape. Behind `Authorization: Bearer` when
    AIQ_EXPOSURE__METRICS_TOKEN is set (401 otherwise); a 404 in production without one."""
    if not _metrics_allowed(state.settings, authorization):
        if metrics_exposure(state.settings) == "off":
            raise NotFound("not found")
        raise Unauthorized("a metrics token is needed: Authorization: Bearer <token>")
    await _check_dependencies(state)
    await _export_source_drift(state)
    await _export_scoring_importance(state)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
