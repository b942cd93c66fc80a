"""The web app: its page at `/` and what the page needs to know about this server.

The page is static (`static/`): HTML, CSS and ES modules, no inline script or style, so a
strict Content-Security-Policy (`script-src 'self'`) serves it. MapLibre GL JS is not in the
repository: `scripts/bootstrap.sh` installs it from the npm registry (package-lock.json) and
copies its dist files into `static/vendor/` (see `map_assets_present`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from pydantic import BaseModel

from aiqleads.deps import State
from aiqleads.geo.boundaries import METROS_WITHOUT_ZCTA
from aiqleads.metros import METROS
from aiqleads.routing import SessionRoute

log = logging.getLogger(__name__)
router = APIRouter(route_class=SessionRoute, include_in_schema=False)
config_router = APIRouter(route_class=SessionRoute, prefix="/api/v1/web", tags=["web"])

STATIC = Path(__file__).parent / "static"
_INDEX = STATIC / "index.html"
MAP_ASSETS = ("maplibre-gl.mjs", "maplibre-gl-worker.mjs", "maplibre-gl.css")
VENDOR = STATIC / "vendor" / "maplibre-gl"
# The sandbox gateway's test tokens, as the checkout form offers them (DESIGN.md section 6).
SANDBOX_TOKENS = (
    ("tok_success", "Test card: paid"),
    ("tok_decline", "Test card: declined"),
    ("tok_requires_action", "Test card: needs 3-D Secure"),
    ("tok_network_error", "Test card: gateway does not answer"),
)


def map_assets_present() -> bool:
    """Whether the set-up copied MapLibre GL JS into the static folder."""
    return all((VENDOR / name).is_file() for name in MAP_ASSETS)


def warn_if_assets_missing() -> None:
    """Log once at start-up when the map's browser assets are missing."""
    if not map_assets_present():
        log.warning(
            "the web app's map assets are missing from %s: run scripts/bootstrap.sh "
            "(it installs maplibre-gl with npm from package-lock.json)",
            VENDOR,
        )


class MetroOut(BaseModel):
    slug: str
    name: str
    state: str
    centre: tuple[float, float]  # (lon, lat), as MapLibre takes it
    bbox: tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat
    zip_outlines: bool


class TokenChoice(BaseModel):
    token: str
    label: str


class WebConfig(BaseModel):
    """What the page needs from the server before it draws anything."""

    map_assets: bool  # false: the set-up has not installed MapLibre; the page says so
    tile_style_url: str | None  # None: the offline basemap from /api/v1/geo/outlines
    gateway: str  # "sandbox" or "stripe"
    sandbox_tokens: list[TokenChoice]
    metros: list[MetroOut]
    access_token_minutes: int
    return_window_days: int


@router.get("/")
async def index() -> FileResponse:
    return FileResponse(_INDEX, media_type="text/html")


@config_router.get("/config")
async def config(state: State) -> WebConfig:
    """The page's configuration: map assets present, tile style, payment gateway, metros.
    Public: it says nothing about leads or accounts."""
    settings = state.settings
    sandbox = settings.payments.gateway == "sandbox"
    return WebConfig(
        map_assets=map_assets_present(),
        tile_style_url=settings.web.tile_style_url,
        gateway=settings.payments.gateway,
        sandbox_tokens=[TokenChoice(token=t, label=x) for t, x in SANDBOX_TOKENS if sandbox],
        metros=[
            MetroOut(
                slug=m.slug,
                name=m.name,
                state=m.state,
                centre=(m.centre[1], m.centre[0]),
                bbox=m.bbox,
                zip_outlines=m.slug not in METROS_WITHOUT_ZCTA,
            )
            for m in METROS.values()
        ],
        access_token_minutes=settings.access_token_minutes,
        return_window_days=settings.return_window_days,
    )
