"""The field cases of issue 8 (tests/fixtures/field_cases, fictional inputs in real source
formats), each through the whole pipeline on the test database: the right result, and a second
ingestion of the same input that changes nothing.

Further shapes of each kind of fault, written for these tests, live beside the module that
fixes the kind: contacts (normalize/test_contacts.py), rent periods and money
(normalize/test_money_periods.py), what is a sellable US lead (normalize/test_sellable.py),
matching (normalize/test_usps_matching.py, test_reposts_and_sources.py), approximate points
(geo/test_approximate_points.py), layouts (parsers/test_layout_drift.py), streaming
(test_streaming.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.shared_data import FIXTURES

from aiqleads.db.engine import transaction
from aiqleads.ingestion.documents import Document
from aiqleads.ingestion.payloads import unseal
from aiqleads.ingestion.pipeline import Pipeline
from aiqleads.ingestion.summary import IngestSummary
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import Lead, LeadPriceHistory, LeadSource, Quarantine

CASES = FIXTURES / "field_cases"
Sessions = async_sessionmaker[AsyncSession]
MakePipeline = Callable[..., Pipeline]


def doc(name: str, source: str) -> Document:
    path = CASES / name
    return Document(str(path), source, Path(path).read_bytes())


async def ingest(
    pipeline: Pipeline,
    sessions: Sessions,
    clock: FrozenClock,
    *docs: Document,
    metro: str | None = None,
) -> IngestSummary:
    return await pipeline.run(sessions, list(docs), metro=metro, now=clock.now())


async def leads(sessions: Sessions) -> list[Lead]:
    async with transaction(sessions) as session:
        return list((await session.scalars(select(Lead).order_by(Lead.id))).all())


async def quarantine(sessions: Sessions) -> list[Quarantine]:
    async with transaction(sessions) as session:
        return list((await session.scalars(select(Quarantine).order_by(Quarantine.id))).all())


async def snapshot(sessions: Sessions) -> list[tuple[Any, ...]]:
    rows = await leads(sessions)
    return [(r.id, r.source_ref, r.updated_at, r.asking_price_cents, r.status) for r in rows]


async def twice(
    pipeline: Pipeline,
    sessions: Sessions,
    clock: FrozenClock,
    *docs: Document,
    metro: str | None = None,
) -> IngestSummary:
    """Ingest, then ingest again an hour later and check that nothing changed."""
    first = await ingest(pipeline, sessions, clock, *docs, metro=metro)
    before = (await snapshot(sessions), len(await quarantine(sessions)))
    clock.advance(timedelta(hours=1))
    again = await ingest(pipeline, sessions, clock, *docs, metro=metro)
    assert again.outcomes["created"] == again.outcomes["updated"] == 0
    assert (await snapshot(sessions), len(await quarantine(sessions))) == before
    return first


def contacts(cipher: FieldCipher, lead: Lead) -> list[dict[str, str]]:
    plain = cipher.decrypt(lead.contacts_enc)
    return [] if plain is None else json.loads(plain)


async def test_c01_craigslist_rendered_search_layout_is_read(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock, cipher: FieldCipher
) -> None:
    # Given the search page Craigslist serves since 2023, saved after its scripts ran
    summary = await twice(
        make_pipeline(),
        sessions,
        clock,
        doc("C01_craigslist_2023_rendered_search.html", "craigslist"),
        metro="las_vegas",
    )
    # Then its three results are read (not one "unrecognised page"), and like any search row
    # without a location each is quarantined for that, with its fields kept
    assert summary.read == 3
    rows = await quarantine(sessions)
    assert [r.source_ref for r in rows] == ["7701000101", "7701000102", "7701000103"]
    assert {r.reason for r in rows} == {"location_missing"}
    records = [unseal(cipher, r.raw)["record"] for r in rows]
    assert [r["price"] for r in records] == ["$1,395", "$995", "$2,150"]
    assert [r["bedrooms"] for r in records] == ["2", "0", "3"]
    assert [r["kind"] for r in records] == ["for_rent"] * 3


async def test_c02_a_repost_merges_into_its_original_keeping_the_price_history(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock
) -> None:
    pipeline = make_pipeline()
    await ingest(pipeline, sessions, clock, doc("C02a_craigslist_original_post.json", "craigslist"))
    clock.advance(timedelta(days=18))
    summary = await twice(
        pipeline, sessions, clock, doc("C02b_craigslist_repost_price_drop.json", "craigslist")
    )
    assert summary.outcomes["merged"] == 1
    (lead,) = await leads(sessions)
    assert (lead.source_ref, lead.asking_price_cents, lead.living_area_sqft) == (
        "7702000201",
        125_000,
        1050,
    )
    async with transaction(sessions) as session:
        history = (
            await session.scalars(
                select(LeadPriceHistory.asking_price_cents).order_by(LeadPriceHistory.observed_at)
            )
        ).all()
        refs = sorted((await session.scalars(select(LeadSource.source_ref))).all())
    assert list(history) == [139_500, 125_000]
    assert refs == ["7702000201", "7702000299"]


async def test_c02_the_original_and_its_repost_in_one_file_make_one_lead(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock, tmp_path: Path
) -> None:
    both = [
        *json.loads((CASES / "C02a_craigslist_original_post.json").read_text()),
        *json.loads((CASES / "C02b_craigslist_repost_price_drop.json").read_text()),
    ]
    document = Document("both.json", "craigslist", json.dumps(both).encode())
    await twice(make_pipeline(), sessions, clock, document)
    (lead,) = await leads(sessions)
    assert (lead.source_ref, lead.asking_price_cents) == ("7702000201", 125_000)


async def test_c03_a_phone_spelled_in_words_is_the_owners(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock, cipher: FieldCipher
) -> None:
    await twice(
        make_pipeline(),
        sessions,
        clock,
        doc("C03_craigslist_posting_phone_in_words.html", "craigslist"),
        metro="las_vegas",
    )
    (lead,) = await leads(sessions)
    assert cipher.decrypt(lead.owner_phone_enc) == "+17025550142"
    (phone,) = [c for c in contacts(cipher, lead) if c["kind"] == "phone"]
    assert phone["role"] == "owner" and phone["origin"] == "text:description"
    assert phone["note"] == "digits spelled as words"
    assert (lead.kind, lead.price_period, lead.asking_price_cents) == ("fsbo", "sale", 38_900_000)


async def test_c04_an_email_written_with_at_and_dot_is_the_owners(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock, cipher: FieldCipher
) -> None:
    await twice(
        make_pipeline(),
        sessions,
        clock,
        doc("C04_craigslist_posting_email_at_dot.html", "craigslist"),
        metro="las_vegas",
    )
    (lead,) = await leads(sessions)
    assert cipher.decrypt(lead.owner_email_enc) == "dana.seller@example.com"
    (email,) = contacts(cipher, lead)
    assert (email["role"], email["note"]) == ("owner", "written with at/dot")


async def test_c06_canadian_rentals_are_not_sold_as_us_leads(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock
) -> None:
    # Given two Vancouver rentals priced in CAD, ingested without --metro
    summary = await twice(
        make_pipeline(), sessions, clock, doc("C06_craigslist_vancouver_cad.json", "craigslist")
    )
    # Then neither is a lead; each is quarantined with a reason an operator can query
    assert await leads(sessions) == []
    assert summary.quarantined_by_reason == {"outside_us": 2}
    for row in await quarantine(sessions):
        assert row.reasons[0].startswith("outside_us: (49.2")  # the point, then the site
        assert "outside_us: country 'CA'" in row.reasons
        assert any(r.startswith("currency_not_usd: CAD") for r in row.reasons)


async def test_c07_weekly_rents_are_converted_and_nightly_rates_are_short_term(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock
) -> None:
    summary = await twice(
        make_pipeline(),
        sessions,
        clock,
        doc("C07_craigslist_asl7168_weekly_daily_rent.csv", "craigslist_csv_asl7168"),
        metro="dallas",
    )
    stored = {r.source_ref: r for r in await leads(sessions)}
    weekly, studio, monthly = stored["7707000701"], stored["7707000702"], stored["7707000704"]
    # $339 a week is $1,469 a month, kept with its period and the price as listed
    assert (weekly.price_period, weekly.listed_price_cents, weekly.asking_price_cents) == (
        "week",
        33_900,
        146_900,
    )
    assert (studio.price_period, studio.listed_price_cents) == ("week", 42_100)
    assert studio.asking_price_cents == 182_433
    assert studio.street_address == "2544 Fictional US Hwy 67"  # not "Us-67"
    assert (monthly.price_period, monthly.asking_price_cents) == ("month", 125_000)
    assert summary.notes["price_converted"] == 2
    # the nightly rate is a short-term rental, said so, not an "implausible price"
    (row,) = await quarantine(sessions)
    assert row.source_ref == "7707000703"
    assert row.reason == "short_term_rental"
    assert "nightly rate $43.00 a night" in row.reasons[0]


async def test_c08_a_builder_community_card_is_not_a_lead(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock
) -> None:
    await twice(
        make_pipeline(),
        sessions,
        clock,
        doc("C08_zillow_search_builder_community_placeholder.json", "zillow"),
        metro="las_vegas",
    )
    assert await leads(sessions) == []
    (row,) = await quarantine(sessions)
    assert row.source_ref == "2050000801"
    assert "builder community or plan card" in row.reasons[0]


async def test_c10_owner_of_record_and_the_agents_contact_are_not_owner_contact(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock, cipher: FieldCipher
) -> None:
    await twice(
        make_pipeline(),
        sessions,
        clock,
        doc("C10_reso_mlsgrid_owner_of_record.json", "reso"),
        metro="las_vegas",
    )
    (lead,) = await leads(sessions)
    assert cipher.decrypt(lead.owner_name_enc) is None  # "OF RECORD" is no name
    assert cipher.decrypt(lead.owner_phone_enc) == "+17025550177"  # from OwnerPhone
    assert cipher.decrypt(lead.owner_email_enc) is None  # the agent's is not the owner's
    assert lead.listing_agent == "Alex Example"
    assert lead.listing_agent_email == "listing.agent@example.com"
    assert lead.listing_office_phone == "+17025550100"
    roles = {(c["value"], c["role"], c["origin"]) for c in contacts(cipher, lead)}
    assert roles == {
        ("+17025550177", "owner", "field:OwnerPhone"),
        ("listing.agent@example.com", "listing_agent", "field:ListAgentEmail"),
        ("+17025550100", "office", "field:ListAgentOfficePhone"),
        ("+17025550101", "office", "field:ListOfficePhone"),
    }


async def test_c10_the_score_does_not_rise_for_contact_that_is_not_the_owners(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock, tmp_path: Path
) -> None:
    # Given the C10 listing without its OwnerPhone: only agent and office contact remain
    data = json.loads((CASES / "C10_reso_mlsgrid_owner_of_record.json").read_text())
    record = data["value"][0]
    bare = {k: v for k, v in record.items() if not k.startswith(("List", "Owner"))}
    bare.update(ListingKey="BARE", ListPrice=record["ListPrice"], StreetNumber="5512")
    agent = {k: v for k, v in record.items() if k != "OwnerPhone"}
    agent.update(ListingKey="AGENT")
    document = Document("c10.json", "reso", json.dumps({"value": [bare, agent]}).encode())
    await ingest(make_pipeline(), sessions, clock, document, metro="las_vegas")
    by_ref = {r.source_ref: r for r in await leads(sessions)}
    # Then agent contact scores and prices the lead exactly as no contact at all
    assert by_ref["AGENT"].score == by_ref["BARE"].score
    assert by_ref["AGENT"].price_cents == by_ref["BARE"].price_cents


async def test_c11_reso_quirks_stay_right(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock, cipher: FieldCipher
) -> None:
    await twice(
        make_pipeline(),
        sessions,
        clock,
        doc("C11_reso_webapi_quirks.json", "reso"),
        metro="las_vegas",
    )
    by_ref = {r.source_ref: r for r in await leads(sessions)}
    contract, lease, coming = by_ref["LVX00001101"], by_ref["LVX00001102"], by_ref["LVX00001103"]
    assert (contract.zip_code, contract.unit, contract.status) == ("89101", "#2B", "pending")
    assert contract.latitude == 36.17912 and contract.geocode_precision == "exact"
    assert contract.asking_price_cents is None  # ListPrice 0 is no price
    assert (lease.kind, lease.price_period, lease.asking_price_cents) == (
        "for_rent",
        "month",
        165_000,
    )
    assert coming.geocode_precision == "zip_centroid"  # (0, 0) is no point
    # the agent's phone is listing-agent data, never the owner's
    assert all(cipher.decrypt(r.owner_phone_enc) is None for r in by_ref.values())
    assert lease.listing_agent_phone == "+17025550110"


async def test_c12_one_home_written_two_ways_by_two_sources_is_one_lead(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock
) -> None:
    pipeline = make_pipeline()
    await ingest(
        pipeline,
        sessions,
        clock,
        doc("C12a_zillow_search_address_variant_A.json", "zillow"),
        metro="las_vegas",
    )
    summary = await twice(
        pipeline,
        sessions,
        clock,
        doc("C12b_realtor_search_address_variant_B.json", "realtor"),
        metro="las_vegas",
    )
    assert summary.outcomes["merged"] == 2
    stored = await leads(sessions)
    assert len(stored) == 2
    async with transaction(sessions) as session:
        pairs = (await session.execute(select(LeadSource.lead_id, LeadSource.source))).all()
    assert sorted((lead_id, source) for lead_id, source in pairs) == sorted(
        [(r.id, s) for r in stored for s in ("realtor", "zillow")]
    )


async def test_c12_realtor_search_rows_are_for_sale(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock
) -> None:
    await ingest(
        make_pipeline(),
        sessions,
        clock,
        doc("C12b_realtor_search_address_variant_B.json", "realtor"),
        metro="las_vegas",
    )
    assert {r.kind for r in await leads(sessions)} == {"for_sale"}


async def test_c14_entities_and_unicode_stay_right(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock
) -> None:
    await twice(
        make_pipeline(),
        sessions,
        clock,
        doc("C14_craigslist_posting_unicode_entities.html", "craigslist"),
        metro="las_vegas",
    )
    (lead,) = await leads(sessions)
    assert lead.title == '🏡 2BR & 2BA – Pool/Spa ✨ "No Deposit" Café nearby'
    assert (lead.asking_price_cents, lead.bedrooms, lead.bathrooms) == (147_500, 2, 2.0)
    assert lead.living_area_sqft == 980


async def test_c16_listings_known_only_to_their_zip_are_stored_as_approximate(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock
) -> None:
    await twice(
        make_pipeline(),
        sessions,
        clock,
        doc("C16_reso_mlsgrid_no_latlong_same_zip.json", "reso"),
        metro="las_vegas",
    )
    stored = await leads(sessions)
    assert len(stored) == 8
    assert {(r.geocode_precision, r.zip_code) for r in stored} == {("zip_centroid", "89110")}
