"""GET /api/v1/geo/heatmap on real King County sales and Craigslist rentals, and its cache."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.metros import METROS
from tests.factories import insert_leads, lead_row
from tests.geo.api_helpers import admin, geo, hits, misses
from tests.geo.leads_data import RENTAL_SETS, RentalSet, king_county_rows, load


@pytest.mark.parametrize(
    ("params", "lo", "hi"),
    [
        ({"resolution": 8}, None, None),  # GROUP BY the stored res-8 column
        ({"resolution": 6}, None, None),  # parents of the stored res-7 cells
        ({"resolution": 10}, None, None),  # indexed at query time
        ({"zoom": 11.5, "price_min": 300_000, "price_max": 700_000}, 300_000, 700_000),
        ({"grid": "square", "cell_size_m": 750}, None, None),
    ],
)
async def test_heatmap_counts_sum_to_matching_king_county_leads(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
    params: dict[str, object],
    lo: int | None,
    hi: int | None,
) -> None:
    # Given every 5th real King County sale as a lead
    rows = king_county_rows(settings, cipher, now=clock.now(), every=8)
    await load(sessions, rows)
    headers = await admin(client, sessions, clock)

    # When the heatmap of the Seattle metro is asked for
    body = await geo(client, "heatmap", headers, metro="seattle", **params)

    # Then its cells count exactly the leads matching the filters
    prices = [r["asking_price_cents"] / 100 for r in rows]
    expected = sum(1 for p in prices if (lo is None or p >= lo) and (hi is None or p <= hi))
    counts = [f["properties"].get("count", f["properties"]["value"]) for f in body["features"]]
    assert sum(counts) == expected == body["total_leads"]
    assert body["legend"]["count"] == len(body["features"]) > 10
    if "zoom" in params:
        assert body["resolution"] == 8


async def test_heatmap_weights_price_sum_and_score_mean(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    rows = king_county_rows(settings, cipher, now=clock.now(), every=20)
    rows[0]["score"] = None  # an unscored lead: left out of the mean, still counted
    await load(sessions, rows)
    headers = await admin(client, sessions, clock)

    price = await geo(client, "heatmap", headers, metro="seattle", weight="asking_price_sum")
    score = await geo(client, "heatmap", headers, metro="seattle", weight="score_mean")

    total = sum(r["asking_price_cents"] for r in rows) / 100
    assert sum(f["properties"]["value"] for f in price["features"]) == pytest.approx(total)
    assert all(f["properties"]["value"] == pytest.approx(0.6) for f in score["features"])
    assert sum(f["properties"]["count"] for f in score["features"]) == len(rows)


@pytest.mark.parametrize("rentals", RENTAL_SETS)
async def test_heatmap_counts_rentals(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
    rentals: RentalSet,
) -> None:
    rows = rentals.rows(settings, cipher, now=clock.now())
    await load(sessions, rows)
    headers = await admin(client, sessions, clock)

    body = await geo(client, "heatmap", headers, metro=rentals.metro, kind="for_rent", resolution=7)

    # Posts outside the metro's counties' box belong to no metro and are not counted.
    in_metro = [r for r in rows if METROS[rentals.metro].contains(r["latitude"], r["longitude"])]
    counted = sum(f["properties"]["count"] for f in body["features"])
    assert counted == len(in_metro) == rentals.in_metro
    min_lon, min_lat, max_lon, max_lat = (float(v) for v in rentals.bbox.split(","))
    boxed = await geo(client, "heatmap", headers, bbox=rentals.bbox, resolution=9)
    inside = sum(
        1
        for r in rows
        if min_lon <= r["longitude"] <= max_lon and min_lat <= r["latitude"] <= max_lat
    )
    assert boxed["total_leads"] == inside


async def test_new_lead_changes_the_answer_at_once_and_only_its_metro(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given a cached Seattle heatmap
    rows = king_county_rows(settings, cipher, now=clock.now(), every=50)
    await load(sessions, rows)
    headers = await admin(client, sessions, clock)
    first = await geo(client, "heatmap", headers, metro="seattle")
    hits0, misses0 = hits("heatmap"), misses("heatmap")
    assert await geo(client, "heatmap", headers, metro="seattle") == first
    assert (hits("heatmap"), misses("heatmap")) == (hits0 + 1, misses0)

    # When a lead is written in Dallas, the Seattle answer is still served from the cache
    now = clock.now()
    await insert_leads(
        sessions, [lead_row(settings, cipher, now=now, latitude=32.78, longitude=-96.8)]
    )
    assert await geo(client, "heatmap", headers, metro="seattle") == first
    assert hits("heatmap") == hits0 + 2

    # When a lead is written in Seattle, the next answer counts it at once
    seattle = lead_row(settings, cipher, now=now, latitude=47.61, longitude=-122.33)
    await insert_leads(sessions, [seattle])
    after = await geo(client, "heatmap", headers, metro="seattle")
    assert after["total_leads"] == first["total_leads"] + 1
    assert misses("heatmap") == misses0 + 1

    # And a changed lead (same source_ref, new price) changes the weighted answer
    before = await geo(client, "heatmap", headers, metro="seattle", weight="asking_price_sum")
    changed = {**seattle, "asking_price_cents": seattle["asking_price_cents"] + 100_00}
    changed["updated_at"] = now + timedelta(minutes=1)
    await insert_leads(sessions, [changed])
    later = await geo(client, "heatmap", headers, metro="seattle", weight="asking_price_sum")
    assert later["legend"]["total"] == pytest.approx(before["legend"]["total"] + 100)
