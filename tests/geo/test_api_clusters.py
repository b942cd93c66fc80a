"""GET /api/v1/geo/clusters against scikit-learn's DBSCAN and PostGIS ST_ClusterDBSCAN."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest
from sklearn.cluster import DBSCAN
from sklearn.metrics import adjusted_rand_score
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.geo.clusters import summarize_clusters
from aiqleads.geo.disclosure import cell_link_m
from aiqleads.geo.projection import EARTH_RADIUS_M
from aiqleads.geo.service import GeoContext, clusters
from aiqleads.geo.service.clusters_answer import _preview_cells, cluster_labels, drop_small
from aiqleads.kit.cache import MemoryCache
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.leads.filters import Area, LeadFilter
from aiqleads.leads.visibility import Viewer
from aiqleads.metros import get_metro
from aiqleads.models.enums import LeadStatus, Tier
from tests.conftest import T0, Backend
from tests.factories import make_account
from tests.geo.api_helpers import admin, geo
from tests.geo.leads_data import RENTALS, king_county_rows, load

ADMIN = Viewer(0, True, Tier.ENTERPRISE, None, 0, T0)
STATUSES = (LeadStatus.AVAILABLE, LeadStatus.HELD)


def sklearn_labels(lat: np.ndarray, lon: np.ndarray, eps_m: float, min_samples: int) -> np.ndarray:
    X = np.radians(np.column_stack((lat, lon)))
    model = DBSCAN(eps=eps_m / EARTH_RADIUS_M, min_samples=min_samples, metric="haversine")
    labels: np.ndarray = model.fit(X).labels_
    return labels


@pytest.mark.parametrize(
    ("dataset", "metro", "eps_m", "min_samples"),
    [
        ("king_county", "seattle", 250.0, 5),
        ("seattle_2014", "seattle", 300.0, 2),
        pytest.param("dallas_2022", "dallas", 1500.0, 4, marks=pytest.mark.shared_data),
    ],
)
async def test_clusters_agree_with_scikit_learn_on_real_points(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
    dataset: str,
    metro: str,
    eps_m: float,
    min_samples: int,
) -> None:
    # Given real points stored as leads
    if dataset == "king_county":
        rows = king_county_rows(settings, cipher, now=clock.now(), every=4)
    else:
        rows = RENTALS[dataset].rows(settings, cipher, now=clock.now())
    await load(sessions, rows)
    headers = await admin(client, sessions, clock)

    # When clustered through the service (labels) and the endpoint (summaries)
    filt = LeadFilter(area=Area(metro=get_metro(metro)))
    async with sessions() as session:
        pts, labels = await cluster_labels(
            session, ADMIN, filt, STATUSES, eps_m=eps_m, min_samples=min_samples, algorithm="grid"
        )
    body = await geo(client, "clusters", headers, metro=metro, eps_m=eps_m, min_samples=min_samples)

    # Then the partition is scikit-learn's, and the summaries describe it
    expected = sklearn_labels(pts.lat, pts.lon, eps_m, min_samples)
    assert adjusted_rand_score(expected, labels) >= 0.99
    n_clusters = int(expected.max()) + 1
    assert body["n_clusters"] == len(body["features"]) == n_clusters > 2
    assert body["noise_count"] == int(np.count_nonzero(labels < 0))
    assert sum(f["properties"]["size"] for f in body["features"]) + body["noise_count"] == len(
        pts.lat
    )
    assert body["n_points"] == len(pts.lat)


async def test_postgis_cluster_path_matches_the_python_path(
    backend: Backend,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    if backend.name != "postgres":
        pytest.skip("ST_ClusterDBSCAN needs PostGIS")
    rows = king_county_rows(settings, cipher, now=clock.now(), every=4)
    await load(sessions, rows)
    filt = LeadFilter(area=Area(metro=get_metro("seattle")))
    async with sessions() as session:
        runs = [
            await cluster_labels(
                session, ADMIN, filt, STATUSES, eps_m=250.0, min_samples=5, algorithm=algorithm
            )
            for algorithm in ("grid", "postgis")
        ]
    (py_pts, py_labels), (sql_pts, sql_labels) = runs
    assert np.array_equal(py_pts.ids, sql_pts.ids)
    assert adjusted_rand_score(py_labels, sql_labels) >= 0.99
    # The paths measure differently (haversine on the sphere; PostGIS in UTM on the WGS84
    # ellipsoid, up to 0.2 % apart), and the bundled coordinates are rounded to 0.001°, so a
    # few pairs sit within half a metre of eps: a cluster may split on one path only.
    assert abs(int(py_labels.max()) - int(sql_labels.max())) <= max(1, py_labels.max() // 100)


@pytest.mark.parametrize(("eps_m", "min_samples"), [(250.0, 3), (1200.0, 40)])
async def test_agents_clusters_over_weighted_cells_are_those_over_their_leads(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
    eps_m: float,
    min_samples: int,
) -> None:
    # Given real sales as leads, some without a price, some placed only approximately (left
    # out and counted), and an agent (who sees preview cells)
    rows = king_county_rows(settings, cipher, now=clock.now(), every=3)
    for r in rows[::11]:
        r["asking_price_cents"] = None
    for r in rows[5::50]:
        r["geocode_precision"] = "zip"
    await load(sessions, rows)
    me = await make_account(sessions, now=clock.now())
    viewer = Viewer(me.id, False, Tier.ENTERPRISE, None, 0, clock.now())
    ctx = GeoContext(settings=settings, cache=MemoryCache(), now=clock.now())
    filt = LeadFilter(area=Area(metro=get_metro("seattle")))

    # When the answer clusters the cells weighted by their leads, and, for comparison, the
    # leads are clustered one by one at their cells' centres and summarised
    async with sessions() as session:
        body = json.loads(
            await clusters(
                session,
                viewer,
                filt=filt,
                eps_m=eps_m,
                min_samples=min_samples,
                algorithm="grid",
                ctx=ctx,
            )
        )
        used_eps = max(eps_m, cell_link_m(*filt.area.centre))
        pts, labels = await cluster_labels(
            session,
            viewer,
            filt,
            STATUSES,
            eps_m=used_eps,
            min_samples=min_samples,
            algorithm="grid",
        )
    kept = drop_small(labels, ctx.min_group)
    each = summarize_clusters(pts.lat, pts.lon, kept, pts.price, cells=_preview_cells(pts))
    expected = each.to_geojson()

    # Then the clusters are the same (ids, sizes, hulls, areas, densities, median prices),
    # centroids equal up to float rounding, and small clusters were withheld alike
    assert int(kept.max()) >= 2
    if min_samples < ctx.min_group:
        assert int(labels.max()) > int(kept.max())
    assert body["n_points"] == pts.lat.size
    assert body["n_approximate_excluded"] == len(rows[5::50])
    assert body["noise_count"] == expected["noise_count"] > 0
    assert len(body["features"]) == len(expected["features"])
    for got, want in zip(body["features"], expected["features"], strict=True):
        g, w = dict(got["properties"]), dict(want["properties"])
        centre = [g.pop("centroid_lat"), g.pop("centroid_lon")]
        assert centre == pytest.approx([w.pop("centroid_lat"), w.pop("centroid_lon")], abs=1e-9)
        assert g == w
        assert got["geometry"] == json.loads(json.dumps(want["geometry"]))
        assert got["id"] == want["id"]
