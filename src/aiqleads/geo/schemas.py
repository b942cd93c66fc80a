"""Query parameters of the geo endpoints, with their bounds.

Bounds pydantic can state are declared here, so FastAPI answers 422 naming the field; checks
that need several fields (area given, price range, bbox size) raise `InvalidInput` from
`to_filter`. Answers are GeoJSON FeatureCollections served as pre-encoded bytes, so they have
no response model; their members are described on each route.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from aiqleads.errors import InvalidInput
from aiqleads.leads.filters import MAX_BBOX_DEGREES, LeadFilter
from aiqleads.leads.schemas import LeadFilterParams

MAX_CLUSTER_BBOX_DEGREES = 2.0  # DBSCAN answers stay bounded; a metro is always allowed


class GeoFilterParams(LeadFilterParams):
    """The catalog's filters; `bbox` or `metro` is required so every answer stays bounded."""

    def to_filter(self, *, max_bbox_degrees: float = MAX_BBOX_DEGREES) -> LeadFilter:
        if self.metro is None and self.bbox is None:
            raise InvalidInput("bbox", "give bbox or metro, so the answer stays bounded")
        return super().to_filter(max_bbox_degrees=max_bbox_degrees)


Weight = Literal["count", "asking_price_sum", "score_mean"]


class HeatmapParams(GeoFilterParams):
    resolution: int | None = Field(
        default=None, ge=5, le=10, description="H3 resolution (agents: at most 8)"
    )
    zoom: float | None = Field(default=None, ge=0, le=22, description="map zoom, if no resolution")
    weight: Weight = "count"
    grid: Literal["h3", "square"] = "h3"
    cell_size_m: float = Field(default=500.0, ge=50, le=20_000, description="square grid only")


class ClusterParams(GeoFilterParams):
    eps_m: float = Field(default=250.0, ge=10, le=2_000, description="DBSCAN radius, metres")
    min_samples: int = Field(default=10, ge=2, le=1_000)
    algorithm: Literal["grid", "postgis"] = Field(
        default="grid", description="grid: exact haversine DBSCAN; postgis: ST_ClusterDBSCAN"
    )


class PenetrationParams(GeoFilterParams):
    level: Literal["zip", "h3"] = "zip"
    resolution: int = Field(
        default=8, ge=7, le=9, description="level=h3: stored resolutions (agents: 7 or 8)"
    )
    metric: Literal["market", "agent"] = Field(default="market", description="classed metric")


class CompetitorParams(GeoFilterParams):
    radius_m: float = Field(ge=10, le=50_000)
    lat: float | None = Field(default=None, ge=-90, le=90, description="a point instead of mine")
    lon: float | None = Field(default=None, ge=-180, le=180)
    top_n: int = Field(default=5, ge=1, le=50, description="brokerages listed")

    def point(self) -> tuple[float, float] | None:
        if (self.lat is None) != (self.lon is None):
            raise InvalidInput("lat" if self.lat is None else "lon", "give both lat and lon")
        return None if self.lat is None or self.lon is None else (self.lat, self.lon)
