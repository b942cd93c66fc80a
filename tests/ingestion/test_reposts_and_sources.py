"""Duplicates not merged (field cases C02, C12): further shapes. A repost that names its
original (in a CSV scrape's column) continues the original's lead; a repost of a post never
seen is a lead of its own; one home written by an MLS as parts and by a portal as one line is
one lead with both sources' provenance."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.db.engine import transaction
from aiqleads.ingestion.documents import Document
from aiqleads.ingestion.mapping import load_mapping
from aiqleads.ingestion.pipeline import Pipeline
from aiqleads.kit.clock import FrozenClock
from aiqleads.models import Lead, LeadPriceHistory, LeadSource

Sessions = async_sessionmaker[AsyncSession]


SCRAPE = load_mapping(
    """
source = "craigslist"
ref = "id"
kind = "for_rent"
[columns]
repost_of = "repost_of"
price = "price"
zip_code = "zip"
latitude = "lat"
longitude = "lon"
"""
).parser()


def scrape(*rows: tuple[str, str, str]) -> Document:
    """A scraper's CSV of posts with a repost column: (id, repost_of, price)."""
    lines = ["id,repost_of,price,zip,lat,lon"]
    lines += [f'{ref},{repost},"{price}",78705,30.2921,-97.7412' for ref, repost, price in rows]
    return Document("scrape.csv", "csv", "\n".join(lines).encode(), parser=SCRAPE)


async def run(pipeline: Pipeline, sessions: Sessions, clock: FrozenClock, doc: Document) -> Any:
    metro = "austin" if doc.source == "csv" else "las_vegas"
    return await pipeline.run(sessions, [doc], metro=metro, now=clock.now())


async def _leads(sessions: Sessions) -> list[Lead]:
    async with transaction(sessions) as session:
        return list((await session.scalars(select(Lead).order_by(Lead.id))).all())


async def test_a_repost_in_a_scrape_continues_its_original(
    sessions: Sessions, make_pipeline: Callable[..., Pipeline], clock: FrozenClock
) -> None:
    pipeline = make_pipeline()
    await run(pipeline, sessions, clock, scrape(("7000000001", "", "$1,500")))
    clock.advance(timedelta(days=7))
    summary = await run(pipeline, sessions, clock, scrape(("7000000002", "7000000001", "$1,400")))
    assert summary.outcomes["merged"] == 1
    (lead,) = await _leads(sessions)
    assert (lead.source_ref, lead.asking_price_cents) == ("7000000001", 140_000)
    async with transaction(sessions) as session:
        history = (await session.scalars(select(LeadPriceHistory.asking_price_cents))).all()
        pairs = await session.execute(select(LeadSource.source_ref, LeadSource.match_rule))
        rules = {ref: rule for ref, rule in pairs}
    assert sorted(history) == [140_000, 150_000]
    assert rules == {"7000000001": "source_ref", "7000000002": "repost"}


async def test_a_repost_of_a_post_never_seen_is_its_own_lead(
    sessions: Sessions, make_pipeline: Callable[..., Pipeline], clock: FrozenClock
) -> None:
    await run(make_pipeline(), sessions, clock, scrape(("7000000003", "6999999999", "$1,300")))
    (lead,) = await _leads(sessions)
    assert lead.source_ref == "7000000003"


def _reso(**fields: Any) -> Document:
    base = {
        "ListingKey": "LV1",
        "StandardStatus": "Active",
        "PropertyType": "Residential",
        "ListPrice": 425000,
        "StreetNumber": "1909",
        "StreetDirPrefix": "North",
        "StreetName": "Highway 95",
        "City": "Las Vegas",
        "StateOrProvince": "NV",
        "PostalCode": "89124",
        "BedroomsTotal": 3,
    }
    return Document("reso.json", "reso", json.dumps({"value": [{**base, **fields}]}).encode())


def _zillow(street: str) -> Document:
    row = {
        "zpid": "1",
        "statusType": "FOR_SALE",
        "detailUrl": "/homedetails/1_zpid/",
        "price": "$425,000",
        "address": f"{street}, Las Vegas, NV 89124",
        "beds": 3,
    }
    page = {"cat1": {"searchResults": {"listResults": [row]}}}
    return Document("z.json", "zillow", json.dumps(page).encode())


async def test_an_mls_record_in_parts_and_a_portal_line_are_one_home(
    sessions: Sessions, make_pipeline: Callable[..., Pipeline], clock: FrozenClock
) -> None:
    pipeline = make_pipeline()
    await run(pipeline, sessions, clock, _reso())
    await run(pipeline, sessions, clock, _zillow("1909 N Hwy 95"))
    (lead,) = await _leads(sessions)
    async with transaction(sessions) as session:
        sources = sorted((await session.scalars(select(LeadSource.source))).all())
    assert sources == ["reso", "zillow"]
    assert lead.street_address == "1909 N Hwy 95"


async def test_the_other_side_of_the_highway_is_another_home(
    sessions: Sessions, make_pipeline: Callable[..., Pipeline], clock: FrozenClock
) -> None:
    pipeline = make_pipeline()
    await run(pipeline, sessions, clock, _reso())
    await run(pipeline, sessions, clock, _zillow("1909 S Hwy 95"))
    assert len(await _leads(sessions)) == 2
