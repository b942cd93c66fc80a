"""A hostile agent's attempts beyond the table (session 10's red team). Each test pins one
answer that said something about a single lead the caller has not bought beyond its preview
(each docstring says what leaked and how it was closed).

Every test compares two leads whose previews are alike but for their id and asking price (each
picked out by a price filter on its own asking price): an answer computed from previews alone
would be the same for both.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import h3
import httpx
import numpy as np
from sqlalchemy import select

from aiqleads.leads import present
from aiqleads.models import Lead
from aiqleads.scoring.reasons import top_reasons
from tests.conftest import T0
from tests.disclosure.world import AREA_BBOX, CENTRE, TARGET_CELL, World
from tests.factories import insert_leads, lead_row

GEO = "/api/v1/geo"
HOLDS = "/api/v1/cart/holds"


async def _get(world: World, who: str, path: str, **params: Any) -> httpx.Response:
    return await world.client.get(path, params=params, headers=world.headers[who])


async def _json(world: World, who: str, path: str, **params: Any) -> dict[str, Any]:
    res = await _get(world, who, path, **params)
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    return body


def _unique_dollars(world: World, row: dict[str, Any]) -> int | None:
    """The row's asking price in whole dollars, when no other lead of the world asks it."""
    cents = row["asking_price_cents"]
    if cents is None or cents % 100:
        return None
    same = [r for r in world.rows if r["asking_price_cents"] == cents]
    return cents // 100 if len(same) == 1 else None


def _by_price(world: World, name: str) -> int:
    row = world.row(world.named[name])
    dollars = _unique_dollars(world, row)
    assert dollars is not None, f"{name} shares its asking price"
    return dollars


def _plain_neighbour(world: World) -> str:
    """A lead of the target's cell the basic agent can see, with no listing agent or office,
    bought by nobody, and an asking price of its own: the target's preview twin."""
    for name, public_id in world.named.items():
        if not name.startswith("cell-"):
            continue
        row = world.row(public_id)
        visible = row["published_at"] <= T0 - timedelta(minutes=30)
        if (
            visible
            and row.get("_world_status") == "available"
            and row["listing_office"] is None
            and row["listing_agent"] is None
            and row["kind"] == world.target["kind"]
            and _unique_dollars(world, row) is not None
        ):
            return name
    raise AssertionError("no plain lead in the target's cell")


async def test_competitors_do_not_tell_which_single_lead_is_agent_listed(world: World) -> None:
    """The competitors answer narrowed by price to one lead: the target (listed by a
    one-listing office) and a lead of the same cell without agent or office, both on the market,
    neither bought. The red team found the target's answer had a cell feature for its cell
    (`competitors: null`) and a `nearest_band`, the other's none: the agent learned that this
    one lead names a listing agent or office, which its preview does not say. Closed: an agent's
    competitors are those of the whole area whatever the lead filters, and a cell or band under
    `min_group` competitors is not shown."""
    neighbour = _plain_neighbour(world)
    answers = {}
    for name in ("target", neighbour):
        dollars = _by_price(world, name)
        answers[name] = await _json(
            world,
            "basic",
            f"{GEO}/competitors",
            bbox=AREA_BBOX,
            price_min=dollars,
            price_max=dollars,
            radius_m=5000,
        )
    # The two previews differ in id and asking price only: so must the answers
    assert answers["target"] == answers[neighbour], (
        "the target's answer tells it is a competitor: "
        f"{[f['properties'] for f in answers['target']['features']]} vs "
        f"{[f['properties'] for f in answers[neighbour]['features']]}"
    )


async def test_competitors_do_not_tell_a_marketplace_sale_from_a_closing(world: World) -> None:
    """Two leads gone from the catalog, each with an asking price of its own: one bought by
    another agent on the marketplace, one closed (sold) at its source. `GET /leads/{id}` answers
    both with the same 404, the cart refuses both as `sold`; the red team found that the
    competitors answer narrowed to each one's price had a cell feature for the first
    (competitors include leads other buyers purchased) and nothing for the second: one other
    buyer's purchase, told one by one. Closed as above."""
    bought = next(r for r in world.bought["other"] if _unique_dollars(world, r) is not None)
    closed = next(
        r
        for r in world.rows
        if r.get("_world_status") == "sold"
        and r["listing_office"] is None
        and r["listing_agent"] is None
        and _unique_dollars(world, r) is not None
    )
    answers = []
    for row in (bought, closed):
        res = await _get(world, "basic", f"/api/v1/leads/{row['public_id']}")
        assert res.status_code == 404
        dollars = _unique_dollars(world, row)
        answers.append(
            await _json(
                world,
                "basic",
                f"{GEO}/competitors",
                bbox=AREA_BBOX,
                price_min=dollars,
                price_max=dollars,
                radius_m=5000,
            )
        )
    sale, closing = answers
    assert sale == closing, (
        "a marketplace sale shows: "
        f"{[f['properties'] for f in sale['features']]} vs "
        f"{[f['properties'] for f in closing['features']]}"
    )


async def test_approximate_counts_are_what_the_previews_say(world: World) -> None:
    """Two leads of one preview cell, alike but for their asking prices: one at the source's
    own point (geocode precision "exact"), one known only to its ZIP and placed at the ZIP's
    centroid, in the same cell. The red team found that the map layers' approximate counts
    (square heatmap, H3 heatmap, clusters) told which of the two had an exact place while the
    previews did not say it. The preview now says it (`location.precision`: a buyer must know
    before paying whether the lead's place is known), so each answer's approximate count is the
    count of such previews among the leads it covers, and nothing beyond them.
    """
    # Given two new leads in one cell far from the world's leads' prices
    lat, lon = CENTRE
    prices = {"exact": 98_765_400, "zip_centroid": 98_765_500}
    rows = [
        lead_row(
            world.settings,
            world.cipher,
            now=T0,
            source="redteam",
            source_ref=f"precision-{precision}",
            latitude=lat + (0.001 if precision == "exact" else -0.001),
            longitude=lon,
            geocode_precision=precision,
            zip_code="98103",
            asking_price_cents=cents,
            published_at=T0 - timedelta(hours=3),
        )
        for precision, cents in prices.items()
    ]
    for r in rows:
        assert h3.latlng_to_cell(r["latitude"], r["longitude"], 8) == TARGET_CELL
    await insert_leads(world.sessions, rows, now=T0)
    for precision, cents in prices.items():
        dollars = cents // 100
        narrowed = {"bbox": AREA_BBOX, "price_min": dollars, "price_max": dollars}
        found = await _json(world, "basic", "/api/v1/leads", price_min=dollars, price_max=dollars)
        # When the agent reads the one lead's preview and the map layers narrowed to it
        [item] = found["items"]
        assert item["location"]["h3_cell"] == TARGET_CELL
        approximate = int(item["location"]["precision"] != "exact")
        square = await _json(
            world, "basic", f"{GEO}/heatmap", grid="square", cell_size_m=500, **narrowed
        )
        cells = await _json(world, "basic", f"{GEO}/heatmap", **narrowed)
        clusters = await _json(world, "basic", f"{GEO}/clusters", **narrowed)
        # Then the preview says the precision, and every layer counts what the preview says
        assert item["location"]["precision"] == precision
        assert square["approximate_leads"] == approximate
        assert cells["approximate_leads"] == approximate
        assert clusters["n_approximate_excluded"] == approximate
        assert clusters["n_points"] == 1 - approximate


def test_preview_reasons_do_not_depend_on_features_of_the_exact_point() -> None:
    """Closed (scoring). `scoring.reasons.top_reasons` took the 3 largest contributions among
    every feature, then marks which an agent may read; the preview shows the marked ones.
    When a feature of the exact point (`leads_nearby`: leads within a radius of the exact
    point) is among the top 3, it takes a place and the preview shows 2 reasons instead of 3.
    Moving the lead inside its cell changes `leads_nearby` and its contribution, and so the
    preview's reasons: how many and which.

    Fixed: the preview's reasons are chosen among the preview-safe phrases alone (stored
    beside the buyer's top 3 of all).
    """
    names = ["leads_nearby", "has_owner_phone", "freshness_days", "holds_30d"]
    values = np.array([6.0, 1.0, 4.0, 2.0])
    seen = []
    # Given one lead at two exact points of its cell: with 6 leads near one point, near the
    # other only 2, so the nearby count's contribution is large at the first and small at the
    # second; every preview feature and its contribution the same
    for nearby, contribution in ((6.0, 0.5), (2.0, 0.05)):
        values[0] = nearby
        contributions = np.array([contribution, 0.3, 0.2, 0.1])
        stored = top_reasons(names, values, contributions)
        row = type("Row", (), {"score_reasons": stored})()
        seen.append(present._reasons(row, bought=False))
    # Then the preview reads the same reasons at both points
    assert seen[0] == seen[1], seen


async def _row_ids(world: World, public_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    async with world.sessions() as session:
        rows = await session.execute(
            select(Lead.public_id, Lead.id).where(Lead.public_id.in_(public_ids))
        )
        return {uuid.UUID(str(p)): int(i) for p, i in rows}


async def test_a_hold_refused_at_the_cart_limit_does_not_tell_the_row_order(
    world: World,
) -> None:
    """Closed (side channel). With one place left in the cart, a request for two leads holds the
    one stored first (`cart.service.hold` takes leads in row order, to avoid deadlocks, and the
    cart limit refuses the later ones): asked [later, earlier] or [earlier, later], the earlier
    row is held both times. Two requests and a release compare the internal row ids of any two
    leads, which the catalog hides on purpose (ties break by the random public id, cursors hold
    no row id): sorting leads by row id gives their order of ingestion, hence which came in one
    source's batch.

    Fixed: the cart limit admits leads in the order the request gives them (then takes the
    admitted ones in row order), so a refusal depends on the request alone.
    """
    who = "basic"
    headers = world.headers[who]
    cart = await _json(world, who, "/api/v1/cart")
    limit = cart["cart_limit"]
    visible = [
        r["public_id"]
        for r in world.rows
        if r.get("_world_status") == "available"
        and r["published_at"] <= T0 - timedelta(minutes=30)
        and r is not world.target
        and r["public_id"] not in {x["public_id"] for x in world.bought["basic"]}
    ]
    fillers, (first, second) = visible[: limit - 1 - len(cart["items"])], visible[-2:]
    ids = await _row_ids(world, [first, second])
    earlier, later = sorted((first, second), key=lambda p: ids[p])
    held_first: list[str] = []
    try:
        res = await world.client.post(
            HOLDS, json={"lead_ids": [str(i) for i in fillers]}, headers=headers
        )
        assert res.status_code == 200 and res.json()["refused"] == 0, res.text
        for order in ([later, earlier], [earlier, later]):
            # When the agent asks for two leads with one place left
            res = await world.client.post(
                HOLDS, json={"lead_ids": [str(i) for i in order]}, headers=headers
            )
            body = res.json()
            assert body["held"] == 1, res.text
            [held] = [i["lead_id"] for i in body["items"] if i["held"]]
            held_first.append(held)
            assert (await world.client.delete(f"{HOLDS}/{held}", headers=headers)).is_success
        # Then the lead held is the one asked for first, whichever row is older
        assert held_first == [str(later), str(earlier)], (
            f"the older row is held whatever the order: {held_first}"
        )
    finally:
        for lead_id in fillers:
            await world.client.delete(f"{HOLDS}/{lead_id}", headers=headers)


async def test_an_agents_competitors_are_the_same_under_every_lead_filter(world: World) -> None:
    """Further shapes of the competitor leak: any lead filter that narrows the competitors
    (price, bedrooms, bathrooms, kind, listing date, status) lets two answers differ by one
    lead, so the competitor layer of an agent's answer around a point must not depend on any
    of them: only on the area."""
    target = world.target
    dollars = target["asking_price_cents"] // 100
    around = {"bbox": AREA_BBOX, "lat": CENTRE[0], "lon": CENTRE[1], "radius_m": 5000}
    # Given the answer around a point with no lead filter
    plain = await _json(world, "basic", f"{GEO}/competitors", **around)
    narrowings: list[dict[str, Any]] = [
        {"price_min": dollars, "price_max": dollars},
        {"price_min": 1},
        {"beds_min": 4},
        {"baths_min": 2},
        {"kind": "for_sale"},
        {"kind": "fsbo"},
        {"listed_since": (T0 - timedelta(days=2)).date().isoformat()},
        {"status": "held"},
    ]
    for narrowing in narrowings:
        # When a lead filter is added
        narrowed = await _json(world, "basic", f"{GEO}/competitors", **around, **narrowing)
        # Then nothing changes
        assert narrowed == plain, narrowing


async def test_small_competitor_counts_leave_no_band_and_no_cell(world: World) -> None:
    """Around a point with fewer than `min_group` competitors within the radius, the answer
    withholds the count and the distance band (the band alone would tell that one is near);
    and no cell of the layer shows a competitor count under `min_group` unless it holds one of
    the caller's own leads."""
    min_group = world.settings.disclosure_min_leads
    answers = []
    for radius in (50, 300, 1000, 5000, 20000):
        answers.append(
            await _json(
                world,
                "basic",
                f"{GEO}/competitors",
                bbox=AREA_BBOX,
                lat=CENTRE[0],
                lon=CENTRE[1],
                radius_m=radius,
            )
        )
    for answer in answers:
        for f in answer["features"]:
            p = f["properties"]
            if p["layer"] == "lead":
                if p["competitors"] is None:
                    assert p["nearest_band"] is None, p
                else:
                    assert p["competitors"] >= min_group, p
            else:
                assert p["my_leads"] > 0 or (p["competitors"] or 0) >= min_group, p
