"""The attacks of issue 7, each played by a hostile basic agent against the target (a lead
nobody bought), each recovering nothing finer than the target's preview: its H3 resolution-8
cell (and that cell's centre), its score bucket. The admin plays the same attack beside it, and
wins, so each test could fail.
"""

from __future__ import annotations

import base64
import json
import math
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import h3
import httpx
import numpy as np
import pytest

from aiqleads.geo.projection import LocalProjection
from aiqleads.kit.cursor import decode_cursor
from aiqleads.kit.distance import haversine_m
from aiqleads.leads.scores import BUCKET_MIDPOINT
from tests.disclosure.world import (
    AREA,
    AREA_BBOX,
    CENTRE,
    ORIGINAL,
    P0,
    TARGET_ASKING_CENTS,
    World,
    offset,
)

LEADS = "/api/v1/leads"
GEO = "/api/v1/geo"
PRICE = TARGET_ASKING_CENTS // 100
Box = tuple[float, float, float, float]


def _bbox(box: Box) -> str:
    return ",".join(repr(v) for v in box)


async def _get(world: World, who: str, path: str, **params: Any) -> httpx.Response:
    return await world.client.get(path, params=params, headers=world.headers[who])


async def bisect(
    contains: Callable[[Box], Awaitable[bool]], box: Box, steps: int = 20
) -> tuple[float, float]:
    """The attacker's search: halve the box along latitude, then longitude, keeping the half
    that still holds the lead, `steps` times each way. Returns the final box's centre."""
    min_lon, min_lat, max_lon, max_lat = box
    assert await contains(box)
    for _ in range(steps):
        mid = (min_lat + max_lat) / 2
        if await contains((min_lon, min_lat, max_lon, mid)):
            max_lat = mid
        else:
            min_lat = mid
        mid = (min_lon + max_lon) / 2
        if await contains((min_lon, min_lat, mid, max_lat)):
            max_lon = mid
        else:
            min_lon = mid
    return (min_lat + max_lat) / 2, (min_lon + max_lon) / 2


def _catalog_probe(world: World, who: str) -> Callable[[Box], Awaitable[bool]]:
    async def contains(box: Box) -> bool:
        res = await _get(world, who, LEADS, bbox=_bbox(box), price_min=PRICE, price_max=PRICE)
        assert res.status_code == 200, res.text
        return str(world.target_id) in {i["id"] for i in res.json()["items"]}

    return contains


def _heatmap_probe(world: World, who: str) -> Callable[[Box], Awaitable[bool]]:
    async def contains(box: Box) -> bool:
        res = await _get(
            world, who, f"{GEO}/heatmap", bbox=_bbox(box), price_min=PRICE, price_max=PRICE
        )
        assert res.status_code == 200, res.text
        total: int = res.json()["total_leads"]
        return total > 0

    return contains


# PostGIS compares boxes in single precision (its index keys are float4), about 1 m here.
PRECISION_M = 2.0


@pytest.mark.parametrize("probe", [_catalog_probe, _heatmap_probe], ids=["catalog", "heatmap"])
async def test_bbox_bisection_with_the_asking_price_finds_the_cell_centre(
    world: World, probe: Callable[[World, str], Callable[[Box], Awaitable[bool]]]
) -> None:
    # Given the target's asking price, which only it asks
    # When an agent bisects the bbox 20 times each way (a 6 mm box)
    found = await bisect(probe(world, "basic"), AREA)
    # Then it finds the centre of the target's preview cell, not the target
    assert haversine_m(*found, *CENTRE) < PRECISION_M
    assert haversine_m(*found, *P0) > 200
    # While the admin, who may see it, finds the exact point
    exact = await bisect(probe(world, "admin"), AREA)
    assert haversine_m(*exact, *P0) < PRECISION_M


def _coordinates(geometry: dict[str, Any]) -> list[tuple[float, float]]:
    """(lat, lon) of every position of a GeoJSON geometry."""
    flat = np.asarray(geometry["coordinates"], dtype=float).reshape(-1, 2)
    return [(float(lat), float(lon)) for lon, lat in flat]


def _is_cell_vertex(lat: float, lon: float) -> bool:
    """Whether (lat, lon) is, within 1e-6 degrees, a vertex of an H3 resolution-8 cell."""
    near = h3.grid_disk(h3.latlng_to_cell(lat, lon, 8), 1)
    return any(
        abs(vlat - lat) < 1e-6 and abs(vlon - lon) < 1e-6
        for cell in near
        for vlat, vlon in h3.cell_to_boundary(cell)
    )


def _exact_points(world: World, who: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Exact points of the leads `who` did not buy."""
    mine = {r["public_id"] for r in world.bought.get(who, [])}
    return np.array(
        [(r["latitude"], r["longitude"]) for r in world.rows if r["public_id"] not in mine]
    )


def _nearest_exact_m(points: np.ndarray[Any, Any], lat: float, lon: float) -> float:
    return float(min(haversine_m(lat, lon, float(p[0]), float(p[1])) for p in points))


async def test_clusters_with_tiny_eps_are_built_from_cells(world: World) -> None:
    # When an agent asks for clusters of two leads within 10 m
    res = await _get(world, "basic", f"{GEO}/clusters", bbox=AREA_BBOX, eps_m=10, min_samples=2)
    assert res.status_code == 200, res.text
    body = res.json()
    exact = _exact_points(world, "basic")
    # Then the radius used links neighbouring cells, every cluster holds at least 5 leads,
    # every hull vertex is a vertex of an H3 resolution-8 cell, and no coordinate is at (within
    # 1 m of) an exact point of a lead the agent has not bought
    assert body["effective_eps_m"] > 800
    assert body["features"], "the area has clusters of cells"
    for f in body["features"]:
        props = f["properties"]
        assert props["size"] >= 5
        for lat, lon in _coordinates(f["geometry"]):
            assert _is_cell_vertex(lat, lon), (lat, lon)
            assert _nearest_exact_m(exact, lat, lon) > 1.0
        assert _nearest_exact_m(exact, props["centroid_lat"], props["centroid_lon"]) > 1.0
    # While the admin's small clusters have their hulls' vertices at exact points
    admin = (
        await _get(world, "admin", f"{GEO}/clusters", bbox=AREA_BBOX, eps_m=100, min_samples=2)
    ).json()
    vertices = [p for f in admin["features"] for p in _coordinates(f["geometry"])]
    assert vertices
    assert all(_nearest_exact_m(exact, *p) < 0.01 for p in vertices)


async def _competitor_lead_props(world: World, who: str, lat: float, lon: float) -> dict[str, Any]:
    res = await _get(
        world, who, f"{GEO}/competitors", bbox=AREA_BBOX, lat=lat, lon=lon, radius_m=300
    )
    assert res.status_code == 200, res.text
    features: list[dict[str, Any]] = res.json()["features"]
    [lead] = [f["properties"] for f in features if f["properties"]["layer"] == "lead"]
    return dict(lead)


def _circumcentre(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Centre (lat, lon) of the circle through three points, solved in a local plane."""
    proj = LocalProjection.around(*points[0])
    x, y = proj.forward([p[0] for p in points], [p[1] for p in points])
    (ax, bx, cx), (ay, by, cy) = x.tolist(), y.tolist()
    d = 2 * (ax * (by - cy) + bx * (cy - ay) + cx * (ay - by))
    ux = (
        (ax**2 + ay**2) * (by - cy) + (bx**2 + by**2) * (cy - ay) + (cx**2 + cy**2) * (ay - by)
    ) / d
    uy = (
        (ax**2 + ay**2) * (cx - bx) + (bx**2 + by**2) * (ax - cx) + (cx**2 + cy**2) * (bx - ax)
    ) / d
    lat, lon = proj.inverse([ux], [uy])
    return float(lat[0]), float(lon[0])


def _trilaterate(points: list[tuple[float, float]], dist: list[float]) -> tuple[float, float]:
    """The point at the given distances from three points (least squares in a local plane)."""
    proj = LocalProjection.around(*points[0])
    x, y = proj.forward([p[0] for p in points], [p[1] for p in points])
    a = np.column_stack((2 * (x[1:] - x[0]), 2 * (y[1:] - y[0])))
    b = (
        dist[0] ** 2
        - np.square(dist[1:])
        + np.square(x[1:])
        - x[0] ** 2
        + np.square(y[1:])
        - y[0] ** 2
    )
    sol = np.linalg.lstsq(a, b, rcond=None)[0]
    lat, lon = proj.inverse([sol[0]], [sol[1]])
    return float(lat[0]), float(lon[0])


async def test_competitor_distances_trilaterate_to_the_cell_centre_at_best(world: World) -> None:
    # Given three query points around the target (a competitor: it has a listing office, and
    # no other competitor stands within 1.6 km)
    points = [offset(*CENTRE, 300.0, b) for b in (10.0, 130.0, 250.0)]
    # When an agent asks for competitors near each
    answers = [await _competitor_lead_props(world, "basic", *p) for p in points]
    # Then it gets no metres, no count of fewer than 5 competitors, and with fewer than 5 in
    # the radius no distance band either (a band would say that one is near)
    for props in answers:
        assert set(props) == {"layer", "lead_id", "competitors", "nearest_band"}
        assert props["competitors"] is None
        assert props["nearest_band"] is None
    # And no point along three rays from the cell centre gets a band to search the edges of:
    # nothing to trilaterate, not even the cell centre the preview already gives
    for bearing in (0.0, 120.0, 240.0):
        for metres in (0.0, 50.0, 150.0, 249.0, 251.0, 400.0):
            props = await _competitor_lead_props(world, "basic", *offset(*CENTRE, metres, bearing))
            assert props["nearest_band"] is None, (bearing, metres, props)
    # While the admin's metres give the exact point away
    admin = [await _competitor_lead_props(world, "admin", *p) for p in points]
    exact = _trilaterate(points, [a["nearest_m"] for a in admin])
    assert haversine_m(*exact, *P0) < 0.05


def _refused_for(res: httpx.Response, field: str) -> bool:
    body = res.json()
    return res.status_code == 422 and [d["field"] for d in body["detail"]] == [field]


@pytest.mark.parametrize(
    ("endpoint", "params"),
    [
        ("penetration", {"level": "h3", "resolution": 9}),
        ("heatmap", {"resolution": 9}),
        ("heatmap", {"resolution": 10}),
        ("heatmap", {"resolution": 10, "weight": "score_mean"}),
    ],
)
async def test_grids_finer_than_the_preview_cell_are_refused(
    world: World, endpoint: str, params: dict[str, Any]
) -> None:
    for who in ("basic", "pro", "enterprise"):
        res = await _get(world, who, f"{GEO}/{endpoint}", bbox=AREA_BBOX, **params)
        assert _refused_for(res, "resolution"), res.text
    assert (await _get(world, "admin", f"{GEO}/{endpoint}", bbox=AREA_BBOX, **params)).is_success


@pytest.mark.parametrize("zoom", [12.5, 13, 14, 18, 22])
async def test_a_zoomed_in_heatmap_stops_at_the_preview_cell(world: World, zoom: float) -> None:
    # When an agent zooms in far enough for resolution 9 or 10
    body = (await _get(world, "basic", f"{GEO}/heatmap", bbox=AREA_BBOX, zoom=zoom)).json()
    # Then it gets resolution-8 cells
    assert body["resolution"] == 8
    assert {h3.get_resolution(f["properties"]["cell"]) for f in body["features"]} == {8}
    # While the admin gets the finer grid
    admin = (await _get(world, "admin", f"{GEO}/heatmap", bbox=AREA_BBOX, zoom=zoom)).json()
    assert admin["resolution"] > 8


def _name_based_ids(source: str, ref: str, url: str | None) -> set[uuid.UUID]:
    namespaces = (uuid.NAMESPACE_URL, uuid.NAMESPACE_DNS, uuid.NAMESPACE_OID, uuid.NAMESPACE_X500)
    names = {ref, f"{source}:{ref}", f"{source}/{ref}", f"{source}|{ref}", f"{source}{ref}"}
    if url:
        names.add(url)
    return {
        make(ns, name) for ns in namespaces for name in names for make in (uuid.uuid5, uuid.uuid3)
    }


async def test_public_ids_are_random_not_derived_from_the_source_id(world: World) -> None:
    # Given every lead's public id and its source's id
    for row in world.rows:
        public = uuid.UUID(str(row["public_id"]))
        # Then it is a random (version 4) UUID, none of the names the source id could give
        assert public.version == 4
        assert public not in _name_based_ids(row["source"], row["source_ref"], row["source_url"])
    # And storing the target again keeps its id (it is the lead's identity, not the record's)
    await world.upsert_target(ORIGINAL)
    lead = (await _get(world, "admin", f"{LEADS}/{world.target_id}")).json()
    assert (lead["source_ref"], lead["id"]) == (ORIGINAL.source_ref, str(world.target_id))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(cursor: str) -> bytes:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


@pytest.mark.parametrize("sort", ["-score", "score", "price", "-asking_price", "-published_at"])
async def test_the_catalog_cursor_is_opaque_and_tamper_proof(world: World, sort: str) -> None:
    # Given the cursor after the first page
    res = await _get(world, "basic", LEADS, sort=sort, limit=10)
    page = res.json()
    cursor, last = page["next_cursor"], page["items"][-1]
    raw = _unb64(cursor)
    # Then decoding it shows no JSON, no field name, no id of the page's last lead, and no
    # number of the page (price, score) written out (a byte or two occur by chance in
    # ciphertext: a 2-byte needle, `"-`, once turned up in a sound cursor)
    with pytest.raises(ValueError):
        json.loads(raw)
    last_id = uuid.UUID(last["id"])
    for needle in (
        json.dumps(sort).encode(),
        b"score",
        b"preview",
        str(last_id).encode(),
        last_id.hex.encode(),
        last_id.bytes,
    ):
        assert needle not in raw
    for number in (last["price"]["cents"], (last["asking_price"] or {}).get("cents")):
        if number is not None:
            assert str(number).encode() not in raw
    # And what it holds (seen with the server's key) is the sort, the basis, the bucket or a
    # shown value, and the public id: no exact score and no row id
    held = decode_cursor(world.settings.secret_key, cursor)
    assert held[:2] == [sort, "preview"] and held[3] == str(last_id)
    if sort.endswith("score"):
        assert held[2] == last["score_bucket"]
    # And any altered byte (nonce, body or tag) is refused, naming the cursor
    for at in (0, len(raw) // 2, len(raw) - 1):
        bad = bytearray(raw)
        bad[at] ^= 0x01
        res = await _get(world, "basic", LEADS, sort=sort, limit=10, cursor=_b64(bytes(bad)))
        assert _refused_for(res, "cursor"), res.text
    for junk in (cursor[:-4], "not-a-cursor", _b64(b'["-score","preview","A","x"]')):
        res = await _get(world, "basic", LEADS, sort=sort, limit=10, cursor=junk)
        assert _refused_for(res, "cursor"), res.text
    # And a cursor of another sort order is refused too
    other = "price" if sort != "price" else "-price"
    res = await _get(world, "basic", LEADS, sort=other, limit=10, cursor=cursor)
    assert _refused_for(res, "cursor"), res.text


def _all_scores(world: World) -> np.ndarray[Any, np.dtype[np.float64]]:
    return np.array([r["score"] for r in world.rows if r["score"] is not None])


@pytest.mark.parametrize("resolution", [5, 6, 7, 8])
async def test_a_score_mean_heatmap_never_shows_one_leads_score(
    world: World, resolution: int
) -> None:
    scores = _all_scores(world)
    midpoints = set(BUCKET_MIDPOINT.values())
    for params in (
        {"bbox": AREA_BBOX},
        {"bbox": AREA_BBOX, "price_min": PRICE, "price_max": PRICE},
        {"bbox": AREA_BBOX, "kind": "fsbo"},
    ):
        # When an agent asks for mean scores per cell
        body = (
            await _get(
                world,
                "basic",
                f"{GEO}/heatmap",
                resolution=resolution,
                weight="score_mean",
                **params,
            )
        ).json()
        # Then every mean shown covers at least 5 leads, is a mean of bucket midpoints, and is
        # no lead's exact score
        for f in body["features"]:
            value, count = f["properties"]["value"], f["properties"]["count"]
            assert count >= 5
            assert not np.any(np.isclose(scores, value, rtol=0, atol=1e-12)), value
            assert min(midpoints) <= value <= max(midpoints)
        legend = body["legend"]
        for v in (legend["min"], legend["max"]):
            assert v is None or not np.any(np.isclose(scores, v, rtol=0, atol=1e-12))
    # While the admin, asking about the target alone, gets its exact score
    admin = (
        await _get(
            world,
            "admin",
            f"{GEO}/heatmap",
            bbox=AREA_BBOX,
            resolution=resolution,
            weight="score_mean",
            price_min=PRICE,
            price_max=PRICE,
        )
    ).json()
    assert [f["properties"]["value"] for f in admin["features"]] == [ORIGINAL.score]
    assert math.isfinite(ORIGINAL.score)
