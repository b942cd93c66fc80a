"""Query parameters of the geo endpoints, with their bounds.

Bounds pydantic can state are declared here, so FastAPI answers 422 naming the field; checks
that need several fields (area given, price range, bbox size) raise `InvalidInput` from
`to_filter`. Answers are GeoJSON FeatureCollections served as pre-encoded bytes, so they have
no response model; their members are described on each route.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from aiqleads.errors import InvalidInput
from aiqleads.geo.filters import Area, LeadFilter
from aiqleads.kit.clock import as_utc
from aiqleads.leads.query import BBox
from aiqleads.metros import UnknownMetroError, get_metro
from aiqleads.models.enums import LeadKind, LeadStatus

MAX_DOLLARS = 1_000_000_000
MAX_CLUSTER_BBOX_DEGREES = 2.0  # DBSCAN answers stay bounded; a metro is always allowed


class GeoFilterParams(BaseModel):
    """The common lead filters. `bbox` or `metro` is required so every answer stays bounded."""

    model_config = ConfigDict(extra="forbid")

    metro: str | None = Field(default=None, max_length=40, description="metro slug")
    bbox: str | None = Field(
        default=None, max_length=100, description="min_lon,min_lat,max_lon,max_lat"
    )
    kind: list[LeadKind] = Field(default_factory=list)
    status: list[LeadStatus] = Field(default_factory=list)
    price_min: int | None = Field(default=None, ge=0, le=MAX_DOLLARS, description="USD")
    price_max: int | None = Field(default=None, ge=0, le=MAX_DOLLARS, description="USD")
    listed_since: datetime | None = None

    def to_filter(self, *, max_bbox_degrees: float | None = None) -> LeadFilter:
        if self.metro is None and self.bbox is None:
            raise InvalidInput("bbox", "give bbox or metro, so the answer stays bounded")
        try:
            metro = get_metro(self.metro) if self.metro is not None else None
        except UnknownMetroError as exc:
            raise InvalidInput("metro", str(exc)) from None
        bbox = BBox.parse(self.bbox) if self.bbox is not None else None
        if bbox is not None and max_bbox_degrees is not None:
            width, height = bbox.max_lon - bbox.min_lon, bbox.max_lat - bbox.min_lat
            if max(width, height) > max_bbox_degrees:
                raise InvalidInput(
                    "bbox", f"may span at most {max_bbox_degrees} degrees each way here"
                )
        if (
            self.price_min is not None
            and self.price_max is not None
            and self.price_min > self.price_max
        ):
            raise InvalidInput("price_min", "must not exceed price_max")
        return LeadFilter(
            area=Area(metro=metro, bbox=bbox),
            kinds=tuple(sorted(set(self.kind))),
            statuses=tuple(sorted(set(self.status))),
            price_min_cents=None if self.price_min is None else self.price_min * 100,
            price_max_cents=None if self.price_max is None else self.price_max * 100,
            listed_since=None if self.listed_since is None else as_utc(self.listed_since),
        )


Weight = Literal["count", "asking_price_sum", "score_mean"]


class HeatmapParams(GeoFilterParams):
    resolution: int | None = Field(default=None, ge=5, le=10, description="H3 resolution")
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
    resolution: int = Field(default=8, ge=7, le=9, description="level=h3: stored resolutions")
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
