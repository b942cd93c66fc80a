from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.kit.h3cells import cell_center, cells_for
from aiqleads.leads.scores import score_bucket
from aiqleads.models.enums import LeadStatus, Tier
from tests.factories import (
    admin,
    agent,
    catalog_pages,
    insert_leads,
    lead_row,
    login,
    make_account,
    record_purchase,
)

LEADS = "/api/v1/leads"
CART_HOLDS = "/api/v1/cart/holds"
EXACT_KEYS = {"street_address", "unit", "latitude", "longitude", "owner", "source_url", "title"}


async def test_preview_hides_exact_location_and_contact(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given one lead with a known owner
    row = lead_row(
        settings,
        cipher,
        now=clock.now(),
        owner_name="Pat Owner",
        owner_phone="+12065550123",
        owner_email="pat@example.com",
        price_cents=2000,
        latitude=47.6012345,
        longitude=-122.3012345,
    )
    await insert_leads(sessions, [row])
    _, headers = await agent(client, sessions, clock, Tier.PRO)
    # When a pro agent lists and opens it
    listed = (await client.get(LEADS, headers=headers)).json()["items"]
    opened = (await client.get(f"{LEADS}/{row['public_id']}", headers=headers)).json()
    # Then both are previews without any exact field, and the raw text has no contact either
    for item in (listed[0], opened):
        assert item["access"] == "preview"
        assert EXACT_KEYS.isdisjoint(item)
        assert item["location"]["resolution"] == 8
        assert item["location"]["h3_cell"].startswith("88")
        assert item["price"] == {"cents": 1700, "currency": "USD"}  # 15 % pro discount
        assert item["score_bucket"] == "B"
    raw = (await client.get(LEADS, headers=headers)).text
    for secret in (
        "Pat Owner",
        "5550123",
        "pat@example.com",
        row["street_address"],
        "47.6012345",
        "122.3012345",
    ):
        assert secret not in raw


async def test_contacts_are_ciphertext_at_rest_and_plaintext_for_admin_and_buyer(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    row = lead_row(
        settings,
        cipher,
        now=clock.now(),
        owner_name="Pat Owner",
        owner_phone="+12065550123",
        owner_email="pat@example.com",
    )
    await insert_leads(sessions, [row])
    # In the database the owner columns hold "key_id:token", never the plaintext
    async with sessions() as session:
        stored = (
            await session.execute(
                text("SELECT owner_name_enc, owner_phone_enc, owner_email_enc FROM leads")
            )
        ).one()
    for value, plain in zip(stored, ("Pat Owner", "+12065550123", "pat@example.com"), strict=True):
        assert value.startswith("t2:")
        assert plain not in value
    # An admin sees them in clear
    admin_headers = await admin(client, sessions, clock)
    full = (await client.get(f"{LEADS}/{row['public_id']}", headers=admin_headers)).json()
    assert full["access"] == "full"
    assert full["owner"] == {
        "name": "Pat Owner",
        "phone": "+12065550123",
        "email": "pat@example.com",
    }
    # The buyer sees them too, with the price paid; another agent gets 404 for a sold lead
    buyer, buyer_headers = await agent(client, sessions, clock, Tier.BASIC)
    _, other_headers = await agent(client, sessions, clock, Tier.BASIC)
    await record_purchase(
        sessions, lead_public_id=row["public_id"], account=buyer, now=clock.now(), price_cents=1234
    )
    mine = (await client.get(f"{LEADS}/{row['public_id']}", headers=buyer_headers)).json()
    assert mine["access"] == "full"
    assert mine["owner"]["phone"] == "+12065550123"
    assert (mine["latitude"], mine["longitude"]) == (row["latitude"], row["longitude"])
    assert mine["price"] == {"cents": 1234, "currency": "USD"}
    assert (
        await client.get(f"{LEADS}/{row['public_id']}", headers=other_headers)
    ).status_code == 404
    # The buyer lists its purchases with status=sold; others see none
    sold = (await client.get(LEADS, params={"status": "sold"}, headers=buyer_headers)).json()
    assert [i["id"] for i in sold["items"]] == [str(row["public_id"])]
    # … in full there too (the page is read as previews; the bought lead's whole row is read)
    [listed] = sold["items"]
    assert listed["access"] == "full"
    assert listed["owner"]["phone"] == "+12065550123"
    assert (listed["latitude"], listed["longitude"]) == (row["latitude"], row["longitude"])
    assert listed["price"] == {"cents": 1234, "currency": "USD"}
    assert (await client.get(LEADS, params={"status": "sold"}, headers=other_headers)).json()[
        "items"
    ] == []


async def test_priority_window_per_tier(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given a lead published just now
    row = lead_row(settings, cipher, now=clock.now(), published_at=clock.now())
    await insert_leads(sessions, [row])
    accounts = {tier: await make_account(sessions, now=clock.now(), tier=tier) for tier in Tier}

    async def sees() -> dict[Tier, bool]:
        out = {}
        for tier, account in accounts.items():
            h = await login(client, account.email)  # the clock moves past the token's life
            listed = bool((await client.get(LEADS, headers=h)).json()["items"])
            opened = (await client.get(f"{LEADS}/{row['public_id']}", headers=h)).status_code == 200
            assert listed == opened
            out[tier] = listed
        return out

    # Then enterprise sees it at once, pro after 15 minutes, basic after 30
    assert await sees() == {Tier.BASIC: False, Tier.PRO: False, Tier.ENTERPRISE: True}
    clock.advance(timedelta(minutes=14, seconds=59))
    assert await sees() == {Tier.BASIC: False, Tier.PRO: False, Tier.ENTERPRISE: True}
    clock.advance(timedelta(seconds=1))
    assert await sees() == {Tier.BASIC: False, Tier.PRO: True, Tier.ENTERPRISE: True}
    clock.advance(timedelta(minutes=15))
    assert await sees() == {Tier.BASIC: True, Tier.PRO: True, Tier.ENTERPRISE: True}


def _catalog(settings: Settings, cipher: FieldCipher, clock: FrozenClock) -> list[dict[str, Any]]:
    """60 leads with varied facts, some NULL prices and scores, and ties on every sort key."""
    rng = random.Random(7)
    rows = []
    for i in range(60):
        rows.append(
            lead_row(
                settings,
                cipher,
                now=clock.now(),
                latitude=47.5 + rng.random() * 0.3,
                longitude=-122.4 + rng.random() * 0.3,
                zip_code=rng.choice(["98101", "98102", "98103"]),
                city=rng.choice(["Seattle", "Bellevue"]),
                kind=rng.choice(["fsbo", "for_sale", "for_rent"]),
                status="withdrawn" if i % 13 == 0 else "available",
                bedrooms=rng.choice([1, 2, 3, 4, None]),
                bathrooms=rng.choice([1.0, 1.5, 2.0, 3.0]),
                asking_price_cents=None
                if i % 9 == 0
                else rng.choice([30, 45, 45, 60, 90]) * 1_000_000,
                score=None if i % 7 == 0 else rng.choice([0.2, 0.5, 0.5, 0.8]),
                price_cents=rng.choice([900, 1500, 1500, 2400]),
                listed_at=clock.now() - timedelta(days=rng.randrange(30)),
                published_at=clock.now() - timedelta(hours=1 + rng.randrange(5)),
            )
        )
    return rows


def _preview_centre(row: dict[str, Any]) -> tuple[float, float]:
    return cell_center(cells_for(row["latitude"], row["longitude"])[1])


def _matches(row: dict[str, Any], p: dict[str, Any]) -> bool:
    if row["listing_status"] is not None:
        return False
    if "bbox" in p:  # agents' boxes hold the leads whose preview cell's centre is inside
        x0, y0, x1, y1 = (float(v) for v in p["bbox"].split(","))
        lat, lon = _preview_centre(row)
        if not (y0 <= lat <= y1 and x0 <= lon <= x1):
            return False
    if "zip" in p and row["zip_code"] not in p["zip"]:
        return False
    if "city" in p and row["city"].lower() != p["city"].lower():
        return False
    if "kind" in p and row["kind"] != p["kind"]:
        return False
    ask = row["asking_price_cents"]
    if "price_min" in p and (ask is None or ask < p["price_min"] * 100):
        return False
    if "price_max" in p and (ask is None or ask > p["price_max"] * 100):
        return False
    if "beds_min" in p and (row["bedrooms"] is None or row["bedrooms"] < p["beds_min"]):
        return False
    if "baths_min" in p and row["bathrooms"] < p["baths_min"]:
        return False
    return not ("listed_since" in p and row["listed_at"] < p["_since"])


def _expected_order(rows: list[dict[str, Any]], sort: str) -> list[str]:
    """An agent's order: by the sort key, NULLs last, ties by public id in the same direction;
    scores by bucket ("A" best), never by the exact score."""
    name = sort.lstrip("-")
    desc = sort.startswith("-")
    if name == "score":  # the bucket's letter ascending is the score descending
        desc = not desc

    def key(r: dict[str, Any]) -> Any:
        if name == "score":
            return score_bucket(r["score"])
        col = {"published_at": "published_at", "asking_price": "asking_price_cents"}.get(name)
        return r[col or "price_cents"]

    present = [r for r in rows if key(r) is not None]
    missing = [r for r in rows if key(r) is None]
    present.sort(key=lambda r: (key(r), r["public_id"]), reverse=desc)
    missing.sort(key=lambda r: r["public_id"], reverse=desc)
    return [str(r["public_id"]) for r in present + missing]


@pytest.mark.parametrize(
    "sort",
    [
        "-published_at",
        "published_at",
        "asking_price",
        "-asking_price",
        "price",
        "-price",
        "score",
        "-score",
    ],
)
async def test_every_sort_pages_without_duplicates_or_gaps(
    sort: str,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    rows = _catalog(settings, cipher, clock)
    await insert_leads(sessions, rows)
    _, headers = await agent(client, sessions, clock, Tier.ENTERPRISE)
    # When paging 7 at a time
    got = [i["id"] for i in await catalog_pages(client, headers, {"sort": sort, "limit": 7})]
    # Then the concatenated pages are exactly the expected order
    expected = _expected_order([r for r in rows if r["listing_status"] is None], sort)
    assert got == expected


FILTERS: list[dict[str, Any]] = [
    {"zip": ["98101"]},
    {"zip": ["98101", "98103"]},
    {"city": "bellevue"},
    {"kind": "fsbo"},
    {"price_min": 45_000_000 // 100, "price_max": 60_000_000 // 100},
    {"price_min": 600_000},
    {"beds_min": 3},
    {"baths_min": 2},
    {"bbox": "-122.3,47.55,-122.15,47.75"},
    {"listed_since": "days-10"},
    {"zip": ["98102"], "beds_min": 2, "kind": "for_sale", "price_max": 900_000},
]


@pytest.mark.parametrize("params", FILTERS, ids=[str(f) for f in FILTERS])
async def test_filters_return_exactly_the_matching_leads(
    params: dict[str, Any],
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    rows = _catalog(settings, cipher, clock)
    await insert_leads(sessions, rows)
    _, headers = await agent(client, sessions, clock, Tier.ENTERPRISE)
    query = dict(params)
    if query.get("listed_since") == "days-10":
        since = clock.now() - timedelta(days=10)
        query["listed_since"] = since.isoformat()
        params = {**params, "_since": since}
    got = {i["id"] for i in await catalog_pages(client, headers, {**query, "limit": 9})}
    expected = {str(r["public_id"]) for r in rows if _matches(r, params)}
    assert expected, "the fixture should match something"
    assert got == expected


async def test_admin_sees_every_status_and_agents_cannot_ask_for_hidden_ones(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    rows = _catalog(settings, cipher, clock)
    await insert_leads(sessions, rows)
    admin_headers = await admin(client, sessions, clock)
    withdrawn = await catalog_pages(client, admin_headers, {"status": "withdrawn"})
    assert {i["id"] for i in withdrawn} == {
        str(r["public_id"]) for r in rows if r["listing_status"] == "Withdrawn"
    }
    assert all(i["access"] == "full" for i in withdrawn)
    every = [s.value for s in LeadStatus]
    assert len(await catalog_pages(client, admin_headers, {"limit": 200, "status": every})) == 60
    _, agent_headers = await agent(client, sessions, clock, Tier.BASIC)
    res = await client.get(LEADS, params={"status": "withdrawn"}, headers=agent_headers)
    assert res.status_code == 422
    assert res.json()["detail"][0]["field"] == "status"
    hidden = next(r for r in rows if r["listing_status"] == "Withdrawn")
    assert (
        await client.get(f"{LEADS}/{hidden['public_id']}", headers=agent_headers)
    ).status_code == 404


BAD_PARAMS: list[tuple[dict[str, Any], str]] = [
    ({"bbox": "1,2,3"}, "bbox"),
    ({"bbox": "a,b,c,d"}, "bbox"),
    ({"bbox": "-122,48,-123,47"}, "bbox"),
    ({"bbox": "-200,47,-122,48"}, "bbox"),
    ({"bbox": "-130,30,-100,48"}, "bbox"),
    ({"zip": "9810"}, "zip"),
    ({"zip": "abcde"}, "zip"),
    ({"kind": "castle"}, "kind"),
    ({"status": "lost"}, "status"),
    ({"price_min": "cheap"}, "price_min"),
    ({"price_min": -1}, "price_min"),
    ({"price_min": 500, "price_max": 100}, "price_min"),
    ({"beds_min": -2}, "beds_min"),
    ({"baths_min": "many"}, "baths_min"),
    ({"listed_since": "yesterday"}, "listed_since"),
    ({"sort": "random"}, "sort"),
    ({"limit": 0}, "limit"),
    ({"limit": 5000}, "limit"),
    ({"cursor": "garbage"}, "cursor"),
    ({"city": ""}, "city"),
]


async def test_bad_parameters_are_422_naming_the_field(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    _, headers = await agent(client, sessions, clock, Tier.BASIC)
    for params, field in BAD_PARAMS:
        res = await client.get(LEADS, params=params, headers=headers)
        assert res.status_code == 422, (params, res.text)
        body = res.json()
        assert set(body) == {"error", "code", "detail"}
        assert field in {d["field"] for d in body["detail"]}, (params, body)
        # Each reason is written for a person: no regular expression, no library prefix
        for reason in (d["reason"] for d in body["detail"]):
            assert "pattern" not in reason and "Value error" not in reason, (params, reason)
    for bad_id in ("not-a-uuid", "123"):
        res = await client.get(f"{LEADS}/{bad_id}", headers=headers)
        assert res.status_code == 422
        assert res.json()["detail"][0]["field"] == "lead_id"
    res = await client.get(f"{LEADS}/00000000-0000-0000-0000-000000000000", headers=headers)
    assert res.status_code == 404


async def test_a_bbox_typed_with_spaces_after_its_commas_is_read(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    _, headers = await agent(client, sessions, clock, Tier.BASIC)
    plain = await client.get(LEADS, params={"bbox": "-122.4,47.5,-122.2,47.7"}, headers=headers)
    spaced = await client.get(
        LEADS, params={"bbox": "-122.4, 47.5 , -122.2,  47.7"}, headers=headers
    )
    assert plain.status_code == spaced.status_code == 200, spaced.text
    assert spaced.json() == plain.json()
    res = await client.get(LEADS, params={"bbox": "-122.4;47.5;-122.2;47.7"}, headers=headers)
    assert res.status_code == 422
    assert res.json()["detail"] == [
        {
            "field": "bbox",
            "reason": "must be min_lon,min_lat,max_lon,max_lat: four decimal numbers separated"
            " by commas",
        }
    ]


async def test_a_cursor_from_another_sort_or_tampered_is_refused(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    await insert_leads(sessions, _catalog(settings, cipher, clock))
    _, headers = await agent(client, sessions, clock, Tier.ENTERPRISE)
    cursor = (await client.get(LEADS, params={"limit": 5}, headers=headers)).json()["next_cursor"]
    res = await client.get(
        LEADS, params={"limit": 5, "cursor": cursor, "sort": "price"}, headers=headers
    )
    assert res.status_code == 422
    tampered = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    res = await client.get(LEADS, params={"limit": 5, "cursor": tampered}, headers=headers)
    assert res.status_code == 422
    assert res.json()["detail"][0]["field"] == "cursor"


async def test_catalog_needs_authentication(client: httpx.AsyncClient) -> None:
    assert (await client.get(LEADS)).status_code == 401
    assert (await client.get(f"{LEADS}/00000000-0000-0000-0000-000000000000")).status_code == 401


async def test_small_bounding_box_finds_exactly_the_leads_inside(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given a lead, one in the neighbouring preview cell to the east and one 2 km north
    inside = lead_row(settings, cipher, now=clock.now(), latitude=47.61, longitude=-122.33)
    lat0, lon0 = _preview_centre(inside)
    east = lead_row(settings, cipher, now=clock.now(), latitude=lat0, longitude=lon0 + 0.012)
    north = lead_row(settings, cipher, now=clock.now(), latitude=47.628, longitude=-122.33)
    await insert_leads(sessions, [inside, east, north])
    assert _preview_centre(east) != (lat0, lon0)
    _, headers = await agent(client, sessions, clock, Tier.ENTERPRISE)
    # When searching a box of about 150 m around the first lead's preview cell centre (not
    # around its exact point), then a box around its exact point only, then one of about 5 km
    box = f"{lon0 - 0.001},{lat0 - 0.0005},{lon0 + 0.001},{lat0 + 0.0005}"
    tight = await catalog_pages(client, headers, {"bbox": box})
    exact = await catalog_pages(client, headers, {"bbox": "-122.3301,47.6099,-122.3299,47.6101"})
    wide = await catalog_pages(client, headers, {"bbox": "-122.36,47.59,-122.30,47.64"})
    # Then the small box holds only it, the box around the exact point nothing (unless the
    # centre happens to lie in it), and the large one all three
    assert [i["id"] for i in tight] == [str(inside["public_id"])]
    assert exact == [] or [i["id"] for i in exact] == [str(inside["public_id"])]
    assert len(wide) == 3


@pytest.mark.parametrize(
    ("stored", "asked"),
    [
        ("McKinney", ["McKinney", "mckinney", "MCKINNEY", "  mckinney "]),
        ("DeSoto", ["DeSoto", "desoto", "DESOTO"]),
        ("Winston-Salem", ["Winston-Salem", "winston-salem", "WINSTON SALEM"]),
        ("St. Louis", ["St. Louis", "saint louis", "ST LOUIS"]),
        ("O'Fallon", ["O'Fallon", "o fallon", "O'FALLON"]),
    ],
)
async def test_a_city_is_found_however_it_is_written(
    stored: str,
    asked: list[str],
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given a lead stored with the city as its source spells it, and one elsewhere
    row = lead_row(settings, cipher, now=clock.now(), city=stored)
    other = lead_row(settings, cipher, now=clock.now(), city="Seattle")
    await insert_leads(sessions, [row, other])
    _, headers = await agent(client, sessions, clock, Tier.ENTERPRISE)
    # When searched by any of its spellings, it alone is found, with its own spelling
    for city in asked:
        items = await catalog_pages(client, headers, {"city": city})
        assert [i["id"] for i in items] == [str(row["public_id"])], city
        assert items[0]["city"] == stored


async def test_a_lapsed_hold_is_listed_as_available_in_price_order(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given four leads at rising asking prices: a hold on the second has lapsed (two days
    # ago) and a hold on the third is live
    rows = [
        lead_row(settings, cipher, now=clock.now(), asking_price_cents=p * 100_000_00)
        for p in (1, 2, 3, 4)
    ]
    await insert_leads(sessions, rows)
    ids = [str(r["public_id"]) for r in rows]
    for lead, then in ((ids[1], timedelta(days=2)), (ids[2], timedelta(0))):
        _, holder = await agent(client, sessions, clock, Tier.ENTERPRISE)
        held = await client.post(CART_HOLDS, json={"lead_ids": [lead]}, headers=holder)
        assert held.json()["held"] == 1, held.text
        clock.advance(then)
    _, other = await agent(client, sessions, clock, Tier.ENTERPRISE)

    # When another agent lists the available leads, and the held ones, cheapest first
    async def listed(status: str) -> list[str]:
        params = {"status": status, "sort": "asking_price"}
        answer = await client.get(LEADS, params=params, headers=other)
        return [item["id"] for item in answer.json()["items"]]

    # Then the lapsed hold reads as available in its place, and only the live one as held
    assert await listed("available") == [ids[0], ids[1], ids[3]]
    assert await listed("held") == [ids[2]]
