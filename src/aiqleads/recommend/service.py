"""Recommendations for an agent: preferences, candidates, ranking, the served list.

`recommend` reads the agent's stated preferences and latest events (its learned preferences),
the candidate leads (leads.visibility's base query: visible to the agent's tier now, available,
in its territory), computes agent × lead features from previews, ranks them with the serving
model (`choose_recommender`), keeps at most `max_per_cell` per H3 res-8 cell, and answers each
lead's preview with its rank and a reason in words.

Cold start. A new agent (no events) is ranked by the cold-start scorer on its stated
preferences and the lead's score bucket and freshness (`ranker.cold_start_scores`): the learned
model saw agents with a history and would weigh features a new agent does not have. Without any
stated territory either, its candidates are the freshest leads it may see. A new lead has no
behaviour of its own: every feature is from its content and place (preview), so it is ranked
like any other as soon as it is published and past the tier's window.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

import h3
import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.auth.principal import Principal
from aiqleads.config import RecommendSettings
from aiqleads.errors import InvalidInput
from aiqleads.experiments import service as experiments
from aiqleads.experiments.recorder import ExposureRecorder
from aiqleads.experiments.service import Assignment, RunningExperiments
from aiqleads.kit.clock import as_utc
from aiqleads.leads import present
from aiqleads.leads.visibility import Viewer
from aiqleads.models.enums import EventKind
from aiqleads.observability.metrics import (
    RECOMMENDATION_INFERENCE_SECONDS,
    RECOMMENDATION_ITEMS,
    RECOMMENDATION_LISTS,
)
from aiqleads.recommend import repository
from aiqleads.recommend.competition import CompetitionCache
from aiqleads.recommend.features import (
    COMPETITION_DAYS,
    LeadTable,
    feature_matrix,
    haversine_km,
)
from aiqleads.recommend.profile import (
    HOLD,
    PURCHASE,
    VIEW,
    HistoryItem,
    PreferenceError,
    Preferences,
    Profile,
    learn,
    stated,
)
from aiqleads.recommend.ranker import cold_start_scores
from aiqleads.recommend.ranking import diversify, order, reason
from aiqleads.recommend.recorder import ImpressionRecorder
from aiqleads.recommend.registry import COLD_START, ModelRegistry, Serving
from aiqleads.recommend.schemas import (
    LearnedOut,
    PreferencesIn,
    PreferencesOut,
    RecommendationList,
    RecommendedLead,
    StatedOut,
)

log = logging.getLogger(__name__)

_KIND_CODE = {
    EventKind.VIEW.value: VIEW,
    EventKind.HOLD.value: HOLD,
    EventKind.PURCHASE.value: PURCHASE,
}


# --- preferences -------------------------------------------------------------------------------


def _stated_from_row(row: Any | None) -> Preferences:
    if row is None:
        return Preferences()
    center = (
        None
        if row.center_latitude is None or row.center_longitude is None
        else (float(row.center_latitude), float(row.center_longitude))
    )
    return stated(
        zip_codes=row.zip_codes or [],
        h3_cells=row.h3_cells or [],
        center=center,
        radius_m=row.radius_m,
        price_min_cents=row.price_min_cents,
        price_max_cents=row.price_max_cents,
        kinds=row.kinds or [],
        bedrooms_min=row.bedrooms_min,
        bedrooms_max=row.bedrooms_max,
    )


async def load_profile(
    session: AsyncSession, account_id: int, *, settings: RecommendSettings, now: datetime
) -> Profile:
    """The agent's stated and learned preferences at `now`."""
    row = await repository.get_preferences(session, account_id)
    rows = await repository.history(
        session,
        account_id,
        since=now - timedelta(days=settings.history_days),
        until=now,
        limit=settings.history_limit,
    )
    items = [
        HistoryItem(
            kind=_KIND_CODE[r.event_kind],
            at=as_utc(r.at).timestamp(),
            lead_id=int(r.id),
            zip_code=r.zip_code,
            h3_r8=r.h3_r8,
            h3_r7=r.h3_r7,
            lat=r.preview_latitude,
            lon=r.preview_longitude,
            asking_price_cents=r.asking_price_cents,
            lead_kind=r.kind,
            bedrooms=r.bedrooms,
        )
        for r in rows
    ]
    # Strictly before `now`, as in training (no event of the instant asked about): the views a
    # request records at its own instant never change its own answer.
    return Profile(_stated_from_row(row), learn(items, now.timestamp()))


def _dollars(cents: int | None) -> int | None:
    return None if cents is None else cents // 100


def _preferences_out(row: Any | None, profile: Profile) -> PreferencesOut:
    s, learned = profile.stated, profile.learned
    return PreferencesOut(
        stated=StatedOut(
            zip_codes=sorted(s.zip_codes),
            h3_cells=list(s.cells),
            center_lat=None if s.center is None else s.center[0],
            center_lon=None if s.center is None else s.center[1],
            radius_m=s.radius_m,
            price_min=_dollars(s.price_min_cents),
            price_max=_dollars(s.price_max_cents),
            kinds=sorted(s.kinds),
            bedrooms_min=s.bedrooms_min,
            bedrooms_max=s.bedrooms_max,
            updated_at=None if row is None else as_utc(row.updated_at),
        ),
        learned=LearnedOut(
            events=learned.events,
            zip_codes=learned.zips,
            h3_cells_r7=[h3.int_to_str(c) for c in learned.cells_r7],
            kinds={k: round(v, 3) for k, v in learned.kind_shares.items()},
            price_min=_dollars(learned.price_min_cents),
            price_max=_dollars(learned.price_max_cents),
            bedrooms=learned.bedrooms,
        ),
    )


async def get_preferences(
    session: AsyncSession, principal: Principal, *, settings: RecommendSettings, now: datetime
) -> PreferencesOut:
    row = await repository.get_preferences(session, principal.account_id)
    profile = await load_profile(session, principal.account_id, settings=settings, now=now)
    return _preferences_out(row, profile)


async def put_preferences(
    session: AsyncSession,
    principal: Principal,
    body: PreferencesIn,
    *,
    settings: RecommendSettings,
    now: datetime,
) -> PreferencesOut:
    """Replace the agent's stated preferences. Raises InvalidInput naming the field for a
    centre without a radius, an inverted range, or an H3 cell that is invalid or finer than
    the preview cell."""
    center = None
    if (body.center_lat is None) != (body.center_lon is None):
        raise InvalidInput("center_lat", "give both center_lat and center_lon, or neither")
    if body.center_lat is not None and body.center_lon is not None:
        center = (body.center_lat, body.center_lon)
    try:
        checked = stated(
            zip_codes=body.zip_codes,
            h3_cells=[c.lower() for c in body.h3_cells],
            center=center,
            radius_m=body.radius_m,
            price_min_cents=None if body.price_min is None else body.price_min * 100,
            price_max_cents=None if body.price_max is None else body.price_max * 100,
            kinds=[k.value for k in body.kinds],
            bedrooms_min=body.bedrooms_min,
            bedrooms_max=body.bedrooms_max,
        )
    except PreferenceError as exc:
        raise InvalidInput(exc.field, exc.reason) from None
    await repository.save_preferences(
        session,
        principal.account_id,
        {
            "zip_codes": sorted(checked.zip_codes),
            "h3_cells": list(checked.cells),
            "center_latitude": None if center is None else center[0],
            "center_longitude": None if center is None else center[1],
            "radius_m": checked.radius_m,
            "price_min_cents": checked.price_min_cents,
            "price_max_cents": checked.price_max_cents,
            "kinds": sorted(checked.kinds),
            "bedrooms_min": checked.bedrooms_min,
            "bedrooms_max": checked.bedrooms_max,
        },
        now=now,
    )
    return await get_preferences(session, principal, settings=settings, now=now)


# --- recommendations -------------------------------------------------------------------------


SURFACE = "recommendations"  # the experiments' name for this surface


async def choose_recommender(
    session: AsyncSession,
    principal: Principal,
    now: datetime,
    *,
    registry: ModelRegistry,
    running: RunningExperiments | None = None,
) -> tuple[Serving, Assignment | None]:
    """Which model version ranks this agent's list now, and the agent's experiment assignment
    if an experiment runs on recommendations (as the process's `running` holds it, when
    given): a variant whose config names a registered version (`{"recommender":
    "lambdarank-…"}` or `"cold-start-1"`) gets that version; any other variant (the control)
    the registry's serving version."""
    assignment = await experiments.assignment_for(
        session, surface=SURFACE, agent_id=principal.account_id, now=now, running=running
    )
    wanted = assignment.config.get("recommender") if assignment is not None else None
    if isinstance(wanted, str):
        chosen = await registry.variant(session, wanted)
        if chosen is not None:
            return chosen, assignment
        log.warning(
            "experiment variant names an unknown recommender; serving the default",
            extra={"experiment": assignment.experiment if assignment else None, "version": wanted},
        )
    return await registry.serving(session), assignment


def rank(
    serving: Serving, profile: Profile, table: LeadTable, X: np.ndarray[Any, Any]
) -> tuple[str, np.ndarray[Any, Any]]:
    """(version that ranked, scores): the learned ranker, or the cold-start scorer for a new
    agent or when no model serves."""
    if serving.ranker is None or profile.is_cold:
        return COLD_START.version, cold_start_scores(X)
    return serving.version, serving.ranker.score(X)


async def recommend(
    session: AsyncSession,
    principal: Principal,
    *,
    viewer: Viewer,
    limit: int,
    now: datetime,
    registry: ModelRegistry,
    settings: RecommendSettings,
    exposures: ExposureRecorder | None = None,
    competition: CompetitionCache | None = None,
    running: RunningExperiments | None = None,
    impressions: ImpressionRecorder | None = None,
) -> RecommendationList:
    """Up to `limit` leads for the agent, best first (see the module docstring). Under a
    running experiment (as `running`, the process's short-lived view, holds it, when given)
    the list is ranked by the agent's variant and logged as an exposure (through `exposures`,
    the process's batched recorder, when given). The list's impressions are logged through
    `impressions`, the process's batched recorder, when given (else in the session). The
    cells' competition counts come from `competition`, the process's short-lived cache, when
    given (else they are read)."""
    started_request = time.perf_counter()
    profile = await load_profile(session, principal.account_id, settings=settings, now=now)
    serving, assignment = await choose_recommender(
        session, principal, now, registry=registry, running=running
    )
    window = settings.candidate_window_days
    rows = await repository.candidates(
        session,
        viewer,
        profile,
        pool=settings.candidate_pool,
        window=timedelta(days=window) if window else None,
    )
    table = LeadTable.from_rows(rows)
    s = profile.stated
    if s.center is not None and s.radius_m and len(rows):
        # The SQL box holds the circle; keep what the radius holds, unless a ZIP or cell of
        # the territory brought the lead in.
        inside = haversine_km(table.lat, table.lon, np.asarray([s.center])) * 1000 <= s.radius_m
        other = np.asarray(
            [
                (r.zip_code in profile.zips)
                or (r.h3_r8 in s.cells_r8)
                or (r.h3_r7 in profile.cells_r7)
                for r in rows
            ]
        )
        keep = np.flatnonzero(inside | other)
        rows = [rows[int(i)] for i in keep]
        table = table.take(keep)
    cells = [int(c) for c in set(table.h3_r8.tolist()) if c]
    if competition is not None:
        counts = await competition.counts(session, cells, now=now)
    else:
        counts = await repository.competition(
            session, cells, since=now - timedelta(days=COMPETITION_DAYS), until=now
        )
    started = time.perf_counter()
    per_lead = np.asarray([counts.get(int(c), 0) for c in table.h3_r8], dtype=np.float64)
    X = feature_matrix(profile, table, now.timestamp(), competition=per_lead)
    version, scores = rank(serving, profile, table, X)
    ranked = order(scores, [str(r.public_id) for r in rows])
    chosen = diversify(ranked, table.h3_r8, max_per_cell=settings.max_per_cell, limit=limit)
    RECOMMENDATION_INFERENCE_SECONDS.labels(version).observe(time.perf_counter() - started)
    # The chosen few's whole previews (the candidates carry only what ranking reads); one
    # held or sold since the candidates were read is left out of the list.
    found = await repository.previews(session, viewer, [int(rows[i].id) for i in chosen])
    position_of = {int(rows[i].id): i for i in chosen}
    items = []
    for position, r in enumerate(found, start=1):
        i = position_of[int(r.id)]
        base = present.preview(r, discount_percent=viewer.discount_percent, now=now)
        items.append(
            RecommendedLead(**base.model_dump(), rank=position, reason=reason(X[i], table, i))
        )
    served = [int(r.id) for r in found]
    RECOMMENDATION_LISTS.labels(version).inc()
    RECOMMENDATION_ITEMS.labels(version).inc(len(items))
    if settings.record_impressions and impressions is not None:
        impressions.served(principal.account_id, served, version=version, now=now)
    elif settings.record_impressions:
        await repository.record_impressions(
            session,
            principal.account_id,
            served,
            version=version,
            now=now,
        )
    if assignment is not None:
        await experiments.record_exposure(
            session,
            assignment,
            principal.account_id,
            served,
            now,
            latency_seconds=time.perf_counter() - started_request,
            recorder=exposures,
        )
    return RecommendationList(items=items, model_version=version)
