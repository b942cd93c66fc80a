"""The table of routes x parameters an agent can call, for the invariance test.

Every GET route under /api/v1 that answers with lead data has entries here, and between them
the entries of a route use every query parameter the route accepts (`test_invariance` checks
both against the application, so a new route or parameter must join the table). Parameters
are chosen around the target: bounding boxes that hold its exact point but not its cell centre
and the reverse, its exact asking price, its listing date, its ZIP, grids finer than its cell,
competitor queries from its exact points.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from aiqleads.leads.query import SortKey
from tests.disclosure.world import (
    AREA_BBOX,
    CENTRE,
    P0,
    P1,
    TARGET_ASKING_CENTS,
    TARGET_LISTED,
    TARGET_ZIP,
    offset,
    tight_bbox,
)

Params = tuple[tuple[str, str], ...]
LEADS = "/api/v1/leads"
LEAD = "/api/v1/leads/{lead_id}"
HEATMAP = "/api/v1/geo/heatmap"
CLUSTERS = "/api/v1/geo/clusters"
PENETRATION = "/api/v1/geo/penetration"
COMPETITORS = "/api/v1/geo/competitors"
CART = "/api/v1/cart"
MARKET_ZIP = "/api/v1/market/zips/{zip_code}"
ADMIN_MARKET = "/api/v1/admin/market/{region_kind}/{region}"
RECOMMENDATIONS = "/api/v1/recommendations"
PREFERENCES = "/api/v1/me/preferences"


@dataclass(frozen=True)
class Entry:
    """One request of the table: a route, its query, the named lead of `{lead_id}`, whether
    to follow `next_cursor` page by page to the end, and the values of other path parameters."""

    path: str
    params: Params = ()
    lead: str | None = None
    walk: bool = False
    path_params: Params = ()

    @property
    def name(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.params)
        target = self.path.replace("{lead_id}", self.lead or "")
        for k, v in self.path_params:
            target = target.replace(f"{{{k}}}", v)
        return f"{target}?{query}{' (all pages)' if self.walk else ''}"

    @property
    def parameters(self) -> set[str]:
        used = {k for k, _ in self.params}
        return used | {"cursor"} if self.walk else used


def _p(**kw: object) -> Params:
    out: list[tuple[str, str]] = []
    for k, v in kw.items():
        for one in v if isinstance(v, list) else [v]:
            out.append((k, str(one)))
    return tuple(out)


def _box(*points: tuple[float, float], pad_m: float = 40.0) -> str:
    """The smallest bbox holding the points, grown by `pad_m`."""
    lats, lons = [p[0] for p in points], [p[1] for p in points]
    south, west = offset(min(lats), min(lons), pad_m, 225.0)
    north, east = offset(max(lats), max(lons), pad_m, 45.0)
    return f"{west},{south},{east},{north}"


def _quadrant(north: bool, east: bool) -> str:
    """The quarter of a 1 km box around the target's cell centre on one side of the centre,
    the centre itself left out (1e-5 degrees, about a metre, beyond it)."""
    lat, lon = CENTRE
    eps, span = 1e-5, 0.01
    lats = (lat + eps, lat + span) if north else (lat - span, lat - eps)
    lons = (lon + eps, lon + span) if east else (lon - span, lon - eps)
    return f"{lons[0]},{lats[0]},{lons[1]},{lats[1]}"


PRICE = TARGET_ASKING_CENTS // 100
LISTED = TARGET_LISTED.isoformat().replace("+00:00", "Z")

# Filters shared by every route (without an area; geo routes add one).
FILTERS: tuple[Params, ...] = (
    (),
    _p(zip=TARGET_ZIP),
    _p(zip=[TARGET_ZIP, "98115", "98107"]),
    _p(city="SEATTLE"),
    _p(kind="for_sale"),
    _p(kind=["for_rent", "fsbo"]),
    _p(status="held"),
    _p(status="sold"),
    _p(status=["available", "held", "sold"]),
    _p(price_min=PRICE, price_max=PRICE),
    _p(price_min=PRICE - 1, price_max=PRICE + 1),
    _p(price_max=PRICE - 1),
    _p(price_min=PRICE + 1),
    _p(beds_min=4),
    _p(baths_min=2.5),
    _p(beds_min=4, baths_min=2.5, price_min=PRICE, price_max=PRICE),
    _p(listed_since=LISTED),
    _p(listed_since=(TARGET_LISTED + timedelta(seconds=1)).isoformat().replace("+00:00", "Z")),
)
# The geo routes' share: each filter parameter, at the target's boundaries.
GEO_FILTERS: tuple[Params, ...] = tuple(FILTERS[i] for i in (1, 3, 5, 6, 8, 9, 11, 15, 16, 17))

# Areas: the whole data set, the metro, and boxes cut through the target's cell so that an
# answer built on exact points would differ between the target's two points.
AREAS: tuple[Params, ...] = (
    _p(bbox=AREA_BBOX),
    _p(metro="seattle"),
    _p(bbox=tight_bbox(*P0)),
    _p(bbox=tight_bbox(*P1)),
    _p(bbox=tight_bbox(*CENTRE)),
    _p(bbox=_box(P0, CENTRE)),
    _p(bbox=_box(P1, CENTRE)),
    _p(bbox=_quadrant(north=True, east=True)),  # holds P0, not the centre
    _p(bbox=_quadrant(north=False, east=False)),  # holds P1, not the centre
    _p(bbox=_quadrant(north=True, east=False)),
    _p(metro="seattle", bbox=_box(P0, P1, pad_m=600.0)),
)
# The attacker's probe: one lead by its price, in a box around one exact point.
PROBES: tuple[Params, ...] = tuple(
    (*area, ("price_min", str(PRICE)), ("price_max", str(PRICE))) for area in AREAS[2:9]
)


def _catalog() -> Iterable[Entry]:
    for sort in SortKey:
        yield Entry(LEADS, _p(sort=sort.value, limit=100), walk=True)
    yield Entry(LEADS)
    yield Entry(LEADS, _p(limit=200))
    yield Entry(LEADS, _p(bbox=_box(P0, P1, pad_m=600.0), sort="-score", limit=1), walk=True)
    yield Entry(LEADS, _p(bbox=_box(P0, P1, pad_m=600.0), sort="price", limit=2), walk=True)
    for f in (*FILTERS[1:], *AREAS, *PROBES):
        yield Entry(LEADS, (*f, ("sort", "-score"), ("limit", "200")))
    for f in FILTERS[1:4]:
        yield Entry(LEADS, (*f, ("sort", "asking_price"), ("limit", "200")))


def _heatmap() -> Iterable[Entry]:
    area = _p(bbox=AREA_BBOX)
    for res in (5, 6, 7, 8, 9, 10):
        for weight in ("count", "asking_price_sum", "score_mean"):
            yield Entry(HEATMAP, (*area, *_p(resolution=res, weight=weight)))
    for zoom in (0, 11.5, 14, 22):
        yield Entry(HEATMAP, (*area, *_p(zoom=zoom, weight="score_mean")))
    for size in (50, 500, 5000):
        yield Entry(HEATMAP, (*area, *_p(grid="square", cell_size_m=size)))
    yield Entry(HEATMAP, (*area, *_p(grid="square", weight="score_mean")))
    yield Entry(HEATMAP, (*area, *_p(grid="h3", resolution=8)))
    for f in GEO_FILTERS:
        yield Entry(HEATMAP, (*area, *f, *_p(resolution=8, weight="score_mean")))
    for a in (*AREAS[1:], *PROBES[:2]):
        yield Entry(HEATMAP, (*a, *_p(resolution=8, weight="asking_price_sum")))
    for a in PROBES[:2]:
        yield Entry(HEATMAP, (*a, *_p(grid="square", cell_size_m=50)))


def _clusters() -> Iterable[Entry]:
    area = _p(bbox=AREA_BBOX)
    for eps in (10, 250, 2000):
        for min_samples in (2, 10):
            yield Entry(CLUSTERS, (*area, *_p(eps_m=eps, min_samples=min_samples)))
    yield Entry(CLUSTERS, (*area, *_p(algorithm="grid", eps_m=10, min_samples=2)))
    yield Entry(CLUSTERS, (*area, *_p(algorithm="postgis", eps_m=10, min_samples=2)))
    yield Entry(CLUSTERS, (*area, *_p(algorithm="postgis", eps_m=900, min_samples=5)))
    for f in GEO_FILTERS:
        yield Entry(CLUSTERS, (*area, *f, *_p(eps_m=10, min_samples=2)))
    for a in (*AREAS[1:], *PROBES[:2]):
        yield Entry(CLUSTERS, (*a, *_p(eps_m=10, min_samples=2)))


def _penetration() -> Iterable[Entry]:
    area = _p(bbox=AREA_BBOX)
    for metric in ("market", "agent"):
        yield Entry(PENETRATION, (*area, *_p(level="zip", metric=metric)))
        for res in (7, 8, 9):
            yield Entry(PENETRATION, (*area, *_p(level="h3", resolution=res, metric=metric)))
    for f in GEO_FILTERS:
        yield Entry(PENETRATION, (*area, *f, *_p(level="h3", resolution=8)))
    for f in GEO_FILTERS[4:8]:
        yield Entry(PENETRATION, (*area, *f, *_p(level="zip")))
    for a in (*AREAS[1:], *PROBES[:2]):
        yield Entry(PENETRATION, (*a, *_p(level="h3", resolution=8)))


FAR_POINT = offset(*CENTRE, 2500.0, 300.0)
QUERY_POINTS = (None, P0, P1, CENTRE, offset(*CENTRE, 350.0, 90.0), FAR_POINT)


def _competitors() -> Iterable[Entry]:
    area = _p(bbox=AREA_BBOX)
    for radius in (10, 800, 50_000):
        for point in QUERY_POINTS:
            at = () if point is None else _p(lat=point[0], lon=point[1])
            yield Entry(COMPETITORS, (*area, *at, *_p(radius_m=radius)))
    for top_n in (1, 3, 50):
        yield Entry(COMPETITORS, (*area, *_p(lat=P0[0], lon=P0[1], radius_m=3000, top_n=top_n)))
    yield Entry(COMPETITORS, (*area, *_p(lat=P0[0], radius_m=800)))  # lat alone: refused
    for f in GEO_FILTERS:
        yield Entry(COMPETITORS, (*area, *f, *_p(lat=CENTRE[0], lon=CENTRE[1], radius_m=1000)))
    for a in (*AREAS[1:], *PROBES[:2]):
        yield Entry(COMPETITORS, (*a, *_p(lat=P0[0], lon=P0[1], radius_m=800, top_n=50)))


def _market() -> Iterable[Entry]:
    """A ZIP's market: the target's ZIP (its leads' aggregates, whether they cover k leads or
    not), a neighbour's, each month form; the operator's route (admins only: agents get 403)."""
    month = TARGET_LISTED.date().isoformat()
    for zip_code in (TARGET_ZIP, "98115"):
        yield Entry(MARKET_ZIP, path_params=_p(zip_code=zip_code))
        yield Entry(MARKET_ZIP, _p(month=month), path_params=_p(zip_code=zip_code))
    for kind, region in (("zip", TARGET_ZIP), ("metro", "seattle")):
        yield Entry(ADMIN_MARKET, _p(month=month), path_params=_p(region_kind=kind, region=region))


def _leads(named: Iterable[str]) -> Iterable[Entry]:
    for name in named:
        yield Entry(LEAD, lead=name)


def table(named: Iterable[str]) -> list[Entry]:
    """Every entry, for a world whose named leads (`World.named`) are `named`."""
    return [
        *_catalog(),
        *_leads(named),
        *_heatmap(),
        *_clusters(),
        *_penetration(),
        *_competitors(),
        *_market(),
        Entry(CART),  # the caller's holds: their leads' previews and the prices fixed
        # Recommendations: ranked, diversified by cell and explained from previews only; the
        # learned preferences (ZIPs, res-7 cells, price range) from the caller's own events.
        Entry(RECOMMENDATIONS),
        Entry(RECOMMENDATIONS, _p(limit=1)),
        Entry(RECOMMENDATIONS, _p(limit=50)),
        Entry(PREFERENCES),
    ]
