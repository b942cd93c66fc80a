"""The disclosure tests' world: a few hundred real Seattle sales as leads, three agents who each
bought some, another buyer, listing offices, every status, and one target lead nobody bought.

The points are the King County sales bundled with the package (`aiqleads/sample_data`, Kaggle
"House Sales in King County", CC0), every seventh sale in a 7.5 x 6.7 km box of north Seattle
(Fremont, Wallingford, Ballard, Green Lake): about 300 leads over 80 H3 resolution-8 cells, 1 to
13 per cell, as dense as the city is. Everything else about a lead (score, kind, status,
publication, office) is a function of its row number, so two worlds built alike are alike.

The target stands in cell 8828d540d9fffff (Wallingford) beside four real sales. No competitor
(a lead with a listing office, or one some agent bought) other than the target lies within
1.6 km of its cell, so what the competitor layer says near the target is about the target alone.
"""

from __future__ import annotations

import csv
import gzip
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

import h3
import httpx
from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import PricingPolicy, Settings
from aiqleads.db.engine import transaction
from aiqleads.kit.crypto import FieldCipher
from aiqleads.kit.distance import haversine_m
from aiqleads.leads import writes
from aiqleads.leads.pricing import lead_price_cents
from aiqleads.models import Account, Lead
from aiqleads.models.enums import Role, Tier
from aiqleads.sample.sources import KING_COUNTY_SALES as SAMPLE_FILE
from tests.conftest import T0
from tests.factories import insert_leads, lead_row, login, make_account, record_purchase

# --- where ---------------------------------------------------------------------------------------

AREA = (-122.40, 47.64, -122.30, 47.70)  # min_lon, min_lat, max_lon, max_lat
AREA_BBOX = ",".join(str(v) for v in AREA)
TARGET_CELL = "8828d540d9fffff"
_lat, _lon = h3.cell_to_latlng(TARGET_CELL)
CENTRE: tuple[float, float] = (float(_lat), float(_lon))  # the target's preview cell's centre
ISOLATION_M = 1600.0  # no other competitor's cell centre this close to the target's


def offset(lat: float, lon: float, metres: float, bearing_deg: float) -> tuple[float, float]:
    """The point `metres` from (lat, lon) on `bearing_deg` (small distances: local flat earth)."""
    b = math.radians(bearing_deg)
    dlat = metres * math.cos(b) / 111_195.0  # metres per degree on the mean-radius sphere
    dlon = metres * math.sin(b) / (111_195.0 * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


# The target's exact point before and after the move: 210 m from the cell centre on opposite
# sides (a res-8 cell's inner radius is about 400 m), in different res-9 cells.
P0 = offset(*CENTRE, 210.0, 35.0)
P1 = offset(*CENTRE, 210.0, 215.0)
for _p in (P0, P1):
    assert h3.latlng_to_cell(*_p, 8) == TARGET_CELL
assert h3.latlng_to_cell(*P0, 9) != h3.latlng_to_cell(*P1, 9)


def tight_bbox(lat: float, lon: float, metres: float = 40.0) -> str:
    """A bbox string of +- `metres` around a point."""
    south, west = offset(lat, lon, metres, 180.0)[0], offset(lat, lon, metres, 270.0)[1]
    north, east = offset(lat, lon, metres, 0.0)[0], offset(lat, lon, metres, 90.0)[1]
    return f"{west},{south},{east},{north}"


# --- the target ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetVersion:
    """What a buyer pays for, in one version: all of it may change without any agent noticing."""

    source_ref: str
    source_url: str
    point: tuple[float, float]
    score: float
    office: str
    listing_agent: str
    title: str
    street_address: str
    owner_name: str
    owner_phone: str
    owner_email: str


TARGET_SOURCE = "nwmls"
TARGET_ASKING_CENTS = 73_125_000  # $731,250: no sale in the sample asks exactly this
TARGET_ZIP = "98103"
TARGET_LISTED = T0 - timedelta(days=6)
ORIGINAL = TargetVersion(
    source_ref="NWMLS-2231877",
    source_url="https://listings.example.com/nwmls/2231877",
    point=P0,
    score=0.8137,
    office="Solo Realty LLC",
    listing_agent="Jane Solo",
    title="Craftsman near Wallingford Playfield",
    street_address="4821 Kirkwood Pl N",
    owner_name="Dana Example",
    owner_phone="+12065550187",
    owner_email="dana@example.com",
)
# The same lead after its source corrected it: moved inside its cell, rescored inside its
# bucket (A), relisted by another one-listing office, with a new link and contact.
CHANGED = TargetVersion(
    source_ref=ORIGINAL.source_ref,
    source_url="https://listings.example.com/nwmls/2231877?v=2",
    point=P1,
    score=0.9412,
    office="Lone Wolf Homes",
    listing_agent="Pat Lone",
    title="Remodelled craftsman, quiet street",
    street_address="4817 Kirkwood Pl N",
    owner_name="Robin Example",
    owner_phone="+12065550911",
    owner_email="robin@example.com",
)
# The same lead known to its source under another id (a second world is built with it).
RENUMBERED = TargetVersion(
    **{
        **ORIGINAL.__dict__,
        "source_ref": "NWMLS-9900441",
        "source_url": "https://listings.example.com/nwmls/9900441",
    }
)


def target_row(
    settings: Settings, cipher: FieldCipher, version: TargetVersion, policy: PricingPolicy
) -> dict[str, Any]:
    return lead_row(
        settings,
        cipher,
        now=T0,
        source=TARGET_SOURCE,
        source_ref=version.source_ref,
        source_url=version.source_url,
        latitude=version.point[0],
        longitude=version.point[1],
        score=version.score,
        price_cents=lead_price_cents(version.score, policy),
        listing_office=version.office,
        listing_agent=version.listing_agent,
        title=version.title,
        street_address=version.street_address,
        owner_name=version.owner_name,
        owner_phone=version.owner_phone,
        owner_email=version.owner_email,
        asking_price_cents=TARGET_ASKING_CENTS,
        zip_code=TARGET_ZIP,
        bedrooms=4,
        bathrooms=2.5,
        living_area_sqft=2210,
        lot_sqft=4800,
        year_built=1924,
        listed_at=TARGET_LISTED,
        published_at=T0 - timedelta(hours=3),
    )


# --- the other leads -----------------------------------------------------------------------------


def sample_sales() -> list[dict[str, str]]:
    """Every seventh bundled King County sale inside AREA, in file order."""
    with gzip.open(SAMPLE_FILE, "rt", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    min_lon, min_lat, max_lon, max_lat = AREA
    inside = [
        r
        for r in rows
        if min_lat <= float(r["lat"]) <= max_lat and min_lon <= float(r["long"]) <= max_lon
    ]
    return inside[::7]


_SCORES = (0.91, 0.62, 0.33, 0.12, 0.78, 0.56, 0.27, 0.05, None)
# Statuses by row number (i % 37): a few of each, the rest available.
_STATUS = {1: "held", 2: "withdrawn", 3: "expired", 4: "pending", 5: "sold", 6: "new"}
OFFICES = (  # (office, listings): three named (>= 5), two small
    ("Windermere Real Estate", 8),
    ("Redfin", 6),
    ("Compass", 5),
    ("Coldwell Banker Bain", 2),
)
AGENT_ONLY = "Keller Williams agent Sam Lister"  # a listing with an agent and no office


def _score(i: int) -> float | None:
    base = _SCORES[i % len(_SCORES)]
    # Odd steps: a round score could equal a bucket midpoint by chance, not by a leak.
    return None if base is None else round(base + (i % 7) * 0.00317, 5)


def sale_row(
    settings: Settings, cipher: FieldCipher, i: int, rec: dict[str, str], policy: PricingPolicy
) -> dict[str, Any]:
    score = _score(i)
    kind = {3: "for_rent", 7: "fsbo"}.get(i % 10, "for_sale")
    sale = round(float(rec["price"]) * 100)
    minutes = {11: 20, 12: 5}.get(i % 23, 120 + i)  # some inside the basic and pro windows
    status = _STATUS.get(i % 37, "available")
    row = lead_row(
        settings,
        cipher,
        now=T0,
        source="kc_test",
        source_ref=f"kc-{i}-{rec['id']}",
        source_url=f"https://listings.example.com/kc/{rec['id']}",
        latitude=float(rec["lat"]),
        longitude=float(rec["long"]),
        zip_code=rec["zipcode"],
        kind=kind,
        asking_price_cents=round(sale / 25_000) * 100 if kind == "for_rent" else sale,
        bedrooms=int(rec["bedrooms"]),
        bathrooms=float(rec["bathrooms"]),
        living_area_sqft=int(rec["sqft_living"]),
        lot_sqft=int(rec["sqft_lot"]),
        year_built=int(rec["yr_built"]),
        score=score,
        price_cents=lead_price_cents(score, policy),
        status=status,
        listed_at=T0 - timedelta(days=i % 60),
        published_at=T0 - timedelta(minutes=minutes),
        # What only a buyer sees, fixed by row number so that two worlds agree on it.
        title=f"Sale {rec['id']}",
        street_address=f"{1000 + i} Test Ave N",
        owner_name=f"Owner {i}",
        owner_phone=f"+1206555{i:04d}",
        owner_email=f"owner{i}@example.com",
    )
    row["_world_status"] = status  # the factory pops its own marker when inserting
    return row


def _far(row: dict[str, Any]) -> bool:
    lat, lon = h3.cell_to_latlng(h3.latlng_to_cell(row["latitude"], row["longitude"], 8))
    return haversine_m(lat, lon, *CENTRE) >= ISOLATION_M


# --- the world -----------------------------------------------------------------------------------

BUYERS = ("basic", "pro", "enterprise", "other")  # each buys leads; "other" is nobody's caller
PURCHASES = {"basic": 2, "pro": 2, "enterprise": 2, "other": 6}
AGENT_TIERS = {
    "basic": Tier.BASIC,
    "pro": Tier.PRO,
    "enterprise": Tier.ENTERPRISE,
    "other": Tier.ENTERPRISE,
    "buyer": Tier.PRO,
}


@dataclass
class World:
    client: httpx.AsyncClient
    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    cipher: FieldCipher
    rows: list[dict[str, Any]]
    target: dict[str, Any]
    accounts: dict[str, Account]
    headers: dict[str, dict[str, str]]  # basic, pro, enterprise, other, buyer, admin
    bought: dict[str, list[dict[str, Any]]]  # per buyer, the rows it bought
    offices: dict[str, list[dict[str, Any]]]  # office -> its listings
    named: dict[str, uuid.UUID] = field(default_factory=dict)  # lead ids the table opens

    @property
    def target_id(self) -> uuid.UUID:
        return uuid.UUID(str(self.target["public_id"]))

    def row(self, public_id: uuid.UUID) -> dict[str, Any]:
        return next(r for r in self.rows if r["public_id"] == public_id)

    async def upsert_target(self, version: TargetVersion) -> None:
        """Write the target again through the write path, keyed by its source and source_ref."""
        row = target_row(self.settings, self.cipher, version, self.settings.pricing)
        async with transaction(self.sessions) as session:
            await writes.upsert(session, [row], now=T0, cause="test:disclosure")


def _assign_offices(rows: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Listing offices for available far-away leads, each office's listings near one another
    (taken in latitude order), as brokerages' listings are."""
    free = sorted(
        (r for r in rows if _far(r) and r["_world_status"] == "available"),
        key=lambda r: (r["latitude"], r["longitude"]),
    )[::3]
    out: dict[str, list[dict[str, Any]]] = {}
    k = 0
    for office, n in OFFICES:
        out[office] = free[k : k + n]
        for r in out[office]:
            r["listing_office"] = office
            r["listing_agent"] = f"{office} agent"
        k += n
    free[k]["listing_agent"] = AGENT_ONLY
    return out


async def build_world(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    *,
    target: TargetVersion = ORIGINAL,
) -> World:
    """Accounts, leads, offices and purchases, all through the write path and the factories.

    Row order, accounts and purchases do not depend on `target`, so two worlds built with two
    versions of the target differ in nothing else (but the random public ids).
    """
    policy = settings.pricing
    rows = [sale_row(settings, cipher, i, rec, policy) for i, rec in enumerate(sample_sales())]
    offices = _assign_offices(rows)
    trow = target_row(settings, cipher, target, policy)
    everything = [*rows[: len(rows) // 2], trow, *rows[len(rows) // 2 :]]
    await insert_leads(sessions, everything, now=T0)
    accounts: dict[str, Account] = {}
    headers: dict[str, dict[str, str]] = {}
    for name, tier in AGENT_TIERS.items():
        accounts[name] = await make_account(sessions, now=T0, tier=tier)
        headers[name] = await login(client, accounts[name].email)
    admin_account = await make_account(sessions, now=T0, role=Role.ADMIN, tier=Tier.ENTERPRISE)
    headers["admin"] = await login(client, admin_account.email)
    # Purchases: old, available, far-away leads with no office, taken in a fixed order.
    listed = {id(r) for rs in offices.values() for r in rs}
    buyable = [
        r
        for r in rows
        if _far(r)
        and r["_world_status"] == "available"
        and id(r) not in listed
        and r["listing_agent"] is None
        and r["published_at"] <= T0 - timedelta(hours=1)
    ][1::4]
    bought: dict[str, list[dict[str, Any]]] = {}
    k = 0
    for name in BUYERS:
        bought[name] = buyable[k : k + PURCHASES[name]]
        k += PURCHASES[name]
        for r in bought[name]:
            await record_purchase(
                sessions,
                lead_public_id=r["public_id"],
                account=accounts[name],
                now=T0 - timedelta(minutes=30),
                price_cents=r["price_cents"],
            )
    world = World(
        client, sessions, settings, cipher, everything, trow, accounts, headers, bought, offices
    )
    world.named = _named(world)
    return world


def _named(world: World) -> dict[str, uuid.UUID]:
    """The leads the table opens one by one: the target and its cell, every purchase, a lead of
    each status, and leads inside the basic and pro priority windows."""
    rows = world.rows
    named: dict[str, uuid.UUID] = {"target": world.target_id}
    same_cell = [
        r
        for r in rows
        if r is not world.target
        and h3.latlng_to_cell(r["latitude"], r["longitude"], 8) == TARGET_CELL
    ]
    for j, r in enumerate(same_cell):
        named[f"cell-{j}"] = r["public_id"]
    for buyer, rs in world.bought.items():
        for j, r in enumerate(rs):
            named[f"bought-{buyer}-{j}"] = r["public_id"]
    by_status: dict[str, uuid.UUID] = {}
    for r in rows:
        status = r.get("_world_status")
        if status is not None and status != "available" and status not in by_status:
            by_status[status] = r["public_id"]
    named.update({f"status-{k}": v for k, v in by_status.items()})
    for minutes in (20, 5):
        edge = T0 - timedelta(minutes=minutes)
        named[f"window-{minutes}m"] = next(
            r["public_id"] for r in rows if r["published_at"] == edge
        )
    named["office-solo"] = world.target_id
    named["nobody"] = uuid.UUID("00000000-0000-4000-8000-000000000000")
    return named


async def take_holds(world: World) -> None:
    """Holds through the cart: the pro agent holds the target (held, still bought by nobody),
    the basic agent a lead of the target's cell."""
    for who, name in (("pro", "target"), ("basic", "cell-0")):
        res = await world.client.post(
            "/api/v1/cart/holds",
            json={"lead_ids": [str(world.named[name])]},
            headers=world.headers[who],
        )
        assert res.status_code == 200 and res.json()["held"] == 1, res.text


async def align_public_ids(
    sessions: async_sessionmaker[AsyncSession], ids: dict[tuple[str, str], uuid.UUID]
) -> None:
    """Give the leads of a second world the public ids of the first, by (source, source_ref).

    Public ids are random (uuid4) by design, so two worlds never share them; the invariance
    test compares answers byte for byte, including ids and the order they break ties in, so the
    second world takes the first's. This is the one write to `leads` outside the write path, and
    touches nothing but the random id.
    """
    leads = cast(Table, Lead.__table__)
    async with transaction(sessions) as session:
        # Park every id first: two leads may swap ids, and public_id is unique.
        rows = (await session.execute(select(Lead.id, Lead.source, Lead.source_ref))).all()
        for lead_id, *_ in rows:
            await session.execute(
                update(leads).where(leads.c.id == lead_id).values(public_id=uuid.uuid4())
            )
        for lead_id, source, ref in rows:
            await session.execute(
                update(leads).where(leads.c.id == lead_id).values(public_id=ids[(source, ref)])
            )
