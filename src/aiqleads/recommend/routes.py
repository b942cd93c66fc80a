from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from aiqleads.deps import CurrentPrincipal, CurrentViewer, DbSession, State, reads_only
from aiqleads.errors import InvalidInput
from aiqleads.recommend import service
from aiqleads.recommend.schemas import PreferencesIn, PreferencesOut, RecommendationList
from aiqleads.routing import SessionRoute

router = APIRouter(route_class=SessionRoute, prefix="/api/v1", tags=["recommendations"])
VERSION_HEADER = "X-Recommender-Version"


@router.get("/me/preferences")
async def get_preferences(
    principal: CurrentPrincipal, session: DbSession, state: State
) -> PreferencesOut:
    """The caller's stated preferences and what its behaviour says (learned)."""
    return await service.get_preferences(
        session, principal, settings=state.settings.recommend, now=state.clock.now()
    )


@router.put("/me/preferences")
async def put_preferences(
    body: PreferencesIn, principal: CurrentPrincipal, session: DbSession, state: State
) -> PreferencesOut:
    """Replace the caller's stated preferences: territory (ZIPs, H3 cells of resolution 5-8,
    or a centre and radius in metres), asking-price range in dollars, kinds, bedrooms."""
    return await service.put_preferences(
        session, principal, body, settings=state.settings.recommend, now=state.clock.now()
    )


@router.get("/recommendations")
@reads_only  # the served list's impressions and exposure are written by the recorders
async def recommendations(
    principal: CurrentPrincipal,
    viewer: CurrentViewer,
    session: DbSession,
    state: State,
    response: Response,
    limit: Annotated[int | None, Query(ge=1, description="how many leads")] = None,
) -> RecommendationList:
    """The leads most worth buying for the caller, best first, each with its preview, rank
    and reason; at most `max_per_cell` per H3 res-8 cell. The version that ranked them is in
    the X-Recommender-Version header."""
    settings = state.settings.recommend
    if limit is not None and limit > settings.max_limit:
        raise InvalidInput("limit", f"must be at most {settings.max_limit}")
    answer = await service.recommend(
        session,
        principal,
        viewer=viewer,
        limit=limit or settings.default_limit,
        now=viewer.now,
        registry=state.recommender,
        settings=settings,
        exposures=state.exposures,
        competition=state.competition,
        running=state.running_experiments,
        impressions=state.impressions,
    )
    response.headers[VERSION_HEADER] = answer.model_version
    return answer
