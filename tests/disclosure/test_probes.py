"""Other ways a hostile agent might locate, price out or identify a lead it has not bought.

The first tests pin what holds (boundaries of every filter combined with boxes, ties in every
sort order, the finest square grid, single-lead lookups of leads off the market, counts across
tiers and routes). The tests under "Leaks" pin leaks that probing found and that are closed
since: each showed an answer to an agent that said something about fewer than
`disclosure_min_leads` (5) leads beyond their previews; its docstring says what leaked and the
fix that closed it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import h3
import httpx
import pytest
import shapely

from aiqleads.db.engine import transaction
from aiqleads.kit.distance import haversine_m
from aiqleads.leads import writes
from tests.conftest import T0
from tests.disclosure.answers import ask_all, differences
from tests.disclosure.conftest import analyze
from tests.disclosure.table import table
from tests.disclosure.world import (
    AREA_BBOX,
    CENTRE,
    P0,
    P1,
    TARGET_ASKING_CENTS,
    TARGET_LISTED,
    World,
    offset,
)

LEADS = "/api/v1/leads"
GEO = "/api/v1/geo"
PRICE = TARGET_ASKING_CENTS // 100
AGENTS = ("basic", "pro", "enterprise")
MIN_GROUP = 5


async def _get(world: World, who: str, path: str, **params: Any) -> httpx.Response:
    res = await world.client.get(path, params=params, headers=world.headers[who])
    return res


async def _json(world: World, who: str, path: str, **params: Any) -> dict[str, Any]:
    res = await _get(world, who, path, **params)
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    return body


async def _walk(world: World, who: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        extra: dict[str, str] = {"cursor": cursor} if cursor else {}
        page = await _json(world, who, LEADS, limit=200, **params, **extra)
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def _iso(t: Any) -> str:
    return str(t.isoformat()).replace("+00:00", "Z")


def _box(lat: float, lon: float, half_m: float, dx_m: float, dy_m: float) -> str:
    """A square box of side 2 * half_m whose centre is (dx_m east, dy_m north) of (lat, lon)."""
    clat, clon = offset(*offset(lat, lon, dy_m, 0.0), dx_m, 90.0)
    south, west = offset(*offset(clat, clon, half_m, 180.0), half_m, 270.0)
    north, east = offset(*offset(clat, clon, half_m, 0.0), half_m, 90.0)
    return f"{west},{south},{east},{north}"


def _holds(bbox: str, lat: float, lon: float) -> bool:
    west, south, east, north = (float(v) for v in bbox.split(","))
    return south <= lat <= north and west <= lon <= east


async def test_every_filter_boundary_in_every_box_follows_the_cell_centre(world: World) -> None:
    # Given boxes of 150 m on a 100 m lattice over the target's cell, and every boundary of
    # the price and listing-date filters at the target's own values
    boxes = [
        _box(*CENTRE, 75.0, dx, dy) for dx in range(-300, 301, 100) for dy in range(-300, 301, 100)
    ]
    assert any(_holds(b, *P0) and not _holds(b, *CENTRE) for b in boxes)
    assert any(_holds(b, *CENTRE) and not _holds(b, *P0) for b in boxes)
    filters: list[dict[str, Any]] = [
        {"price_min": PRICE, "price_max": PRICE},
        {"price_min": PRICE, "listed_since": _iso(TARGET_LISTED)},
        {"price_max": PRICE, "listed_since": _iso(TARGET_LISTED), "beds_min": 4},
    ]
    for bbox in boxes:
        for f in filters:
            # When an agent searches the catalog there
            items = (await _json(world, "basic", LEADS, bbox=bbox, **f))["items"]
            found = str(world.target_id) in {i["id"] for i in items}
            # Then it finds the target exactly when the box holds the target's cell centre
            assert found == _holds(bbox, *CENTRE), (bbox, f)
    # And one second past the listing date, or one dollar past the price, never finds it
    for f in ({"price_min": PRICE + 1}, {"price_max": PRICE - 1}):
        items = (await _json(world, "basic", LEADS, bbox=AREA_BBOX, **f))["items"]
        assert str(world.target_id) not in {i["id"] for i in items}
    since = _iso(TARGET_LISTED + timedelta(seconds=1))
    items = (await _json(world, "basic", LEADS, bbox=AREA_BBOX, listed_since=since))["items"]
    assert str(world.target_id) not in {i["id"] for i in items}


def _key(sort: str) -> Callable[[dict[str, Any]], Any]:
    """What an agent sees of an item's sort key: the shown value, None last."""
    name = sort.lstrip("-")

    def key(item: dict[str, Any]) -> Any:
        if name == "score":
            return None if item["score_bucket"] == "unscored" else item["score_bucket"]
        if name == "asking_price":
            return None if item["asking_price"] is None else item["asking_price"]["cents"]
        if name == "price":
            return item["price"]["cents"]
        return item["published_at"]

    return key


@pytest.mark.parametrize("sort", ["-score", "score", "price", "-price", "asking_price"])
async def test_ties_in_every_sort_order_are_broken_by_the_random_id_alone(
    world: World, sort: str
) -> None:
    # When an agent walks the catalog in this order
    items = await _walk(world, "pro", sort=sort)
    key = _key(sort)
    # Then leads the preview shows as equal (one bucket, one price) come in the order of
    # their random public ids, in the direction of the sort (descending for "-score",
    # "-price"; "score" ascending means worst bucket first)
    descending_ids = sort in ("-price", "score")
    runs: dict[Any, list[str]] = {}
    for item in items:
        runs.setdefault(key(item), []).append(item["id"])
    for value, ids in runs.items():
        expected = sorted(ids, key=uuid.UUID, reverse=descending_ids)
        assert ids == expected, (sort, value)
    assert max(len(ids) for ids in runs.values()) > 1  # there are ties to break


async def test_the_finest_square_grid_puts_the_target_at_its_cell_centre(world: World) -> None:
    # When an agent asks for 50 m squares around the target alone (by its price)
    body = await _json(
        world,
        "basic",
        f"{GEO}/heatmap",
        bbox=_box(*CENTRE, 600.0, 0.0, 0.0),
        grid="square",
        cell_size_m=50,
        price_min=PRICE,
        price_max=PRICE,
    )
    # Then its one square holds the cell centre, not the exact point
    [square] = body["features"]
    polygon = shapely.geometry.shape(square["geometry"])
    assert polygon.covers(shapely.Point(CENTRE[1], CENTRE[0]))
    assert not polygon.covers(shapely.Point(P0[1], P0[0]))
    # While the admin's square holds the exact point
    admin = await _json(
        world,
        "admin",
        f"{GEO}/heatmap",
        bbox=_box(*CENTRE, 600.0, 0.0, 0.0),
        grid="square",
        cell_size_m=50,
        price_min=PRICE,
        price_max=PRICE,
    )
    [square] = admin["features"]
    assert shapely.geometry.shape(square["geometry"]).covers(shapely.Point(P0[1], P0[0]))


@pytest.mark.parametrize("who", AGENTS)
async def test_a_lead_off_the_market_looks_like_no_lead_at_all(world: World, who: str) -> None:
    # Given the answer about an id no lead has
    nobody = await _get(world, who, f"{LEADS}/{world.named['nobody']}")
    assert nobody.status_code == 404
    # When the agent opens leads it may not see: sold to someone else, withdrawn, expired,
    # pending, closed by their source, not yet released, inside its tier's priority window
    mine = {r["public_id"] for r in world.bought.get(who, [])}
    hidden = [
        name
        for name, public_id in world.named.items()
        if public_id not in mine
        and (name.startswith("bought-") or (name.startswith("status-") and name != "status-held"))
    ]
    if who == "basic":
        hidden += ["window-20m", "window-5m"]
    elif who == "pro":
        hidden += ["window-5m"]
    assert len(hidden) >= 12
    for name in hidden:
        res = await _get(world, who, f"{LEADS}/{world.named[name]}")
        # Then each answer is the very answer about no lead
        assert (res.status_code, res.content) == (nobody.status_code, nobody.content), name


@pytest.mark.parametrize("who", AGENTS)
async def test_every_route_counts_the_same_leads_and_tiers_differ_only_by_their_windows(
    world: World, who: str
) -> None:
    on_market = {"status": ["available", "held"]}
    items = await _walk(world, who, bbox=AREA_BBOX, **on_market)
    heat = await _json(world, who, f"{GEO}/heatmap", bbox=AREA_BBOX, **on_market)
    clusters = await _json(world, who, f"{GEO}/clusters", bbox=AREA_BBOX, **on_market)
    # Then the catalog, the heatmap and the clusters count the same leads
    assert len(items) == heat["total_leads"] == clusters["n_points"]
    # And the enterprise agent sees exactly this tier's leads plus those published since the
    # tier's window opened: a difference the previews' publication instants already show
    everything = await _walk(world, "enterprise", bbox=AREA_BBOX, **on_market)
    delay = {"basic": 30, "pro": 15, "enterprise": 0}[who]
    newer = [i for i in everything if i["published_at"] > _iso(T0 - timedelta(minutes=delay))]
    assert {i["id"] for i in items} == {i["id"] for i in everything} - {i["id"] for i in newer}


@pytest.mark.parametrize("route", ["leads", "heatmap", "clusters"])
async def test_sold_means_my_own_purchases_on_every_lead_route(world: World, route: str) -> None:
    # When an agent asks for sold leads
    mine = world.bought["pro"]
    if route == "leads":
        got = await _walk(world, "pro", status="sold")
        count = len(got)
        assert {i["id"] for i in got} == {str(r["public_id"]) for r in mine}
    else:
        body = await _json(world, "pro", f"{GEO}/{route}", bbox=AREA_BBOX, status="sold")
        count = body["total_leads"] if route == "heatmap" else body["n_points"]
    # Then it gets its own purchases only, never other buyers'
    assert count == len(mine)


# --- Leaks -----------------------------------------------------------------------------------


async def _competitors(world: World, who: str, **params: Any) -> dict[str, Any]:
    return await _json(world, who, f"{GEO}/competitors", bbox=AREA_BBOX, **params)


async def test_top_offices_never_count_fewer_than_five_listings(world: World) -> None:
    """Closed. `top_offices` names only offices with at least 5 listings near the point, but adds
    the rest up under `{"office": null, "count": n}` for any n, while the same answer withholds
    the competitor count below 5. Asked around the target's cell, it says that exactly one
    agent-listed lead lies within 300 m (the target: its listing is what a buyer pays for).

    Fix: for agents, show the "other offices" entry only when its count is at least
    `min_group` (`competitors_answer._offices`).
    """
    body = await _competitors(world, "basic", lat=CENTRE[0], lon=CENTRE[1], radius_m=300)
    small = [o for o in body["top_offices"] if o["count"] < MIN_GROUP]
    assert not small, f"top_offices shows {small}"


def _farthest_view(
    world: World, office: str
) -> tuple[dict[str, Any], tuple[float, float], float, float]:
    """A listing V of `office`, a point Q and two radii differing by 4 m between which V's
    preview cell centre is the only lead's: V is the office's listing farthest from Q."""
    listings = world.offices[office]

    def centre(r: dict[str, Any]) -> tuple[float, float]:
        lat, lon = h3.cell_to_latlng(h3.latlng_to_cell(r["latitude"], r["longitude"], 8))
        return float(lat), float(lon)

    centres = {id(r): centre(r) for r in world.rows}
    for v in listings:
        for bearing in range(0, 360, 15):
            q = offset(*centres[id(v)], 4000.0, float(bearing))
            dist = {id(r): haversine_m(*q, *centres[id(r)]) for r in world.rows}
            d_v = dist[id(v)]
            others = [dist[id(r)] for r in listings if r is not v]
            ring = [r for r in world.rows if abs(dist[id(r)] - d_v) < 3.0]
            if max(others) < d_v - 50.0 and ring == [v]:
                return v, q, d_v - 2.0, d_v + 2.0
    raise AssertionError("no vantage point found")


async def test_top_offices_do_not_tell_one_listings_office_by_difference(world: World) -> None:
    """Closed. Two competitor queries from one point, with radii 4 m apart, between which only
    one lead's preview cell centre lies (the catalog shows which): `top_offices` names the
    office with 7 listings in one answer and 8 in the other, so that lead is listed by it. The
    office of a single lead, which a buyer pays for, comes out of aggregates of 7 and 8. Any
    filter that drops one lead (price, listing date, a box) does the same.

    Fix (a design decision): thresholds do not survive differencing, so for agents the office
    tallies must not depend on the query's point, radius or lead filters. E.g. tally offices
    over fixed regions (the H3 resolution-7 cells, or ZIPs, that the search circle touches),
    over all the regions' listings whatever the filters, and show an office only where it has
    at least `min_group` listings in one region.
    """
    office = "Windermere Real Estate"
    v, q, inner, outer = _farthest_view(world, office)
    near = await _competitors(world, "enterprise", lat=q[0], lon=q[1], radius_m=inner, top_n=50)
    far = await _competitors(world, "enterprise", lat=q[0], lon=q[1], radius_m=outer, top_n=50)
    assert near["top_offices"] == far["top_offices"], (
        f"the one lead between {inner:.0f} m and {outer:.0f} m ({v['public_id']}) is listed by "
        f"{office}: {near['top_offices']} vs {far['top_offices']}"
    )


def _unique_price_purchase(world: World) -> dict[str, Any]:
    prices = [r["asking_price_cents"] for r in world.rows]
    return next(r for r in world.bought["other"] if prices.count(r["asking_price_cents"]) == 1)


@pytest.mark.parametrize("level", ["zip", "h3"])
async def test_penetration_does_not_count_one_other_buyers_sale(world: World, level: str) -> None:
    """Closed. Narrowed by price to one lead another agent bought (gone from the catalog, so
    withdrawn, expired, pending or sold as far as the previews say), penetration withholds the
    region but says `withheld_regions: 1, withheld_leads: 1`: an offered lead, so one sold on
    the marketplace. Bisecting the bbox with it finds the sale's preview cell.

    Fix: for agents, report `withheld_regions` and `withheld_leads` only when they cover at
    least `min_group` leads (else 0, or leave them out), in `penetration_answer._shown`.
    """
    sold = _unique_price_purchase(world)
    dollars = sold["asking_price_cents"] // 100
    body = await _json(
        world,
        "basic",
        f"{GEO}/penetration",
        bbox=AREA_BBOX,
        level=level,
        price_min=dollars,
        price_max=dollars,
    )
    counts = [body["withheld_leads"], *(f["properties"]["offered"] for f in body["features"])]
    assert all(n is None or n == 0 or n >= MIN_GROUP for n in counts), counts


async def test_penetration_does_not_count_one_sale_by_difference(world: World) -> None:
    """Closed. Three penetration answers by ZIP, over all prices, below and above one lead's
    asking price: its ZIP's region is shown in all three (each covers at least 5 leads), and
    sold(all) - sold(below) - sold(above) = 1 says the lead at that price (which the agent
    saw in the catalog before it went) was sold on the marketplace, to another agent.

    Fix (a design decision): for agents, a region's numbers must not depend on lead filters:
    compute them over all the region's offered leads, and let the area pick only which
    regions to show.
    """
    sold = _unique_price_purchase(world)
    dollars = sold["asking_price_cents"] // 100
    zip_code = sold["zip_code"]

    async def region(**price: int) -> dict[str, Any]:
        body = await _json(
            world, "basic", f"{GEO}/penetration", bbox=AREA_BBOX, level="zip", **price
        )
        [props] = [f["properties"] for f in body["features"] if f["id"] == zip_code]
        return dict(props)

    every, below, above = (
        await region(),
        await region(price_max=dollars - 1),
        await region(price_min=dollars + 1),
    )
    offered = every["offered"] - below["offered"] - above["offered"]
    sales = every["sold"] - below["sold"] - above["sold"]
    assert (offered, sales) != (1, 1), f"one lead at ${dollars} in {zip_code}, and it was sold"


async def test_hold_refusals_tell_no_more_than_the_cart_contract_says(world: World) -> None:
    """The cart's refusal codes are its contract (issue 9): `sold` for a lead sold (to another
    agent, or closed at its source) and `not_visible_yet` for one still inside a tier's window.
    Everything else the caller may not see (withdrawn, expired, pending, a marketplace lead
    not yet published, an id that does not exist) is one and the same `not_found`, as
    `GET /leads/{id}` answers them all with the same 404. (The probe first asked for a single
    code for all; `sold` and `not_visible_yet` are kept because the cart's contract names
    them, and they say whether a lead can still be bought, never where it is or who owns it.)
    """
    names = ["bought-other-0", "status-sold", "status-withdrawn", "status-expired"]
    names += ["status-pending", "status-new", "window-20m", "nobody"]
    ids = [str(world.named[n]) for n in names]
    res = await world.client.post(
        "/api/v1/cart/holds", json={"lead_ids": ids}, headers=world.headers["basic"]
    )
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["held"] == 0
    refused = {names[ids.index(i["lead_id"])]: i["refused"] for i in body["items"]}
    assert refused == {
        "bought-other-0": "sold",
        "status-sold": "sold",
        "status-withdrawn": "not_found",
        "status-expired": "not_found",
        "status-pending": "not_found",
        "status-new": "not_found",
        "window-20m": "not_visible_yet",
        "nobody": "not_found",
    }


async def test_answers_do_not_depend_on_the_planners_statistics(world: World) -> None:
    """Fault (PostgreSQL, fixed). The heatmap at a stored resolution (7, 8) lists its cells in the
    order its GROUP BY returns them: ascending (as `CellAggregate` promises) while PostgreSQL
    has no statistics on `leads` and sorts, in hash order once ANALYZE (autovacuum's, at a
    moment of its choosing) makes it hash. The same data then answers in different bytes on
    the two databases and from one hour to the next; the invariance test holds only because it
    runs ANALYZE before each world's questions. Not a disclosure (the order depends on the
    cells, not on what a buyer pays for), but an answer must be a function of the data.

    Fix: order the groups by cell: `.order_by(key)` in `geo.repository.heatmap.cell_groups`,
    or sort the cells in `heatmap_answer`.
    """
    # (Geo answers only: a buyer's full record rightly shows when its row was last written.)
    entries = [e for e in table(world.named) if e.path.startswith(GEO)][::3]
    before = await ask_all(world.client, world.headers["basic"], entries, world.named)
    # When the planner's statistics are gathered and every lead is written again, unchanged, in
    # reverse order (new data versions: nothing cached is reused)
    await analyze(world.sessions)
    rows = [{k: v for k, v in r.items() if k != "public_id"} for r in reversed(world.rows)]
    async with transaction(world.sessions) as session:
        await writes.upsert(session, rows, now=T0, cause="test:rewrite")
    after = await ask_all(world.client, world.headers["basic"], entries, world.named)
    # Then every answer is the same, and the heatmap's cells come in ascending order
    heat = await _json(world, "basic", f"{GEO}/heatmap", bbox=AREA_BBOX, resolution=8)
    cells = [h3.str_to_int(f["properties"]["cell"]) for f in heat["features"]]
    assert cells == sorted(cells)
    changed = differences(before, after)
    assert not changed, f"{len(changed)} answers changed:\n" + "\n".join(changed[:3])


async def test_the_probes_move_nothing(world: World) -> None:
    # The target is where the world put it: the probes only read.
    lead = await _json(world, "admin", f"{LEADS}/{world.target_id}")
    assert (lead["latitude"], lead["longitude"]) == P0
    assert P1 != P0
