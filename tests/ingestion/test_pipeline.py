from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.ingestion.conftest import COPIED, kc_document, reso_document

from aiqleads.config import IngestSettings
from aiqleads.db.engine import transaction
from aiqleads.ingestion.batch import Batch, Item
from aiqleads.ingestion.documents import Document
from aiqleads.ingestion.parsers.registry import get_parser
from aiqleads.ingestion.payloads import unseal
from aiqleads.ingestion.pipeline import Pipeline
from aiqleads.ingestion.records import RawRecord
from aiqleads.ingestion.rows import content_hash
from aiqleads.ingestion.stages.normalize import NormalizeStage
from aiqleads.ingestion.stages.store import StoreStage
from aiqleads.ingestion.summary import IngestSummary
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.leads import versions
from aiqleads.leads.pricing import price_factors
from aiqleads.leads.scores import score_bucket
from aiqleads.models import DataVersion, Lead, LeadPriceHistory, LeadSource, Quarantine

MakePipeline = Callable[..., Pipeline]
Sessions = async_sessionmaker[AsyncSession]


async def _count(sessions: Sessions, model: Any) -> int:
    async with transaction(sessions) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# Leads (id, source_ref, updated_at, asking_price_cents, score); data versions (scope, version);
# price history ids.
Snapshot = tuple[
    list[tuple[int, str, datetime, int | None, float | None]], list[tuple[str, int]], list[int]
]


async def _snapshot(sessions: Sessions) -> Snapshot:
    async with transaction(sessions) as session:
        leads = (await session.execute(select(Lead).order_by(Lead.id))).scalars().all()
        rows = [(x.id, x.source_ref, x.updated_at, x.asking_price_cents, x.score) for x in leads]
        dv = (await session.execute(select(DataVersion.scope, DataVersion.version))).all()
        hist = (await session.scalars(select(LeadPriceHistory.id))).all()
        return rows, sorted((scope, version) for scope, version in dv), list(hist)


async def test_king_county_slice_creates_leads_and_rerun_changes_nothing(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock
) -> None:
    # Given 300 real King County sales
    pipeline = make_pipeline(batch_size=120)
    # When ingested
    first = await pipeline.run(sessions, [kc_document(300)], metro="seattle", now=clock.now())
    # Then every record is a lead or a merge, each with provenance and a first price
    assert first.read == 300
    assert first.outcomes["created"] + first.outcomes["merged"] == 300
    assert await _count(sessions, Lead) == first.outcomes["created"]
    assert await _count(sessions, LeadSource) == 300
    assert await _count(sessions, LeadPriceHistory) > 0
    async with transaction(sessions) as session:
        assert await versions.current(session, "seattle") > 0
    before = await _snapshot(sessions)
    # When the same file is ingested again, later
    clock.advance(timedelta(hours=1))
    again = await pipeline.run(sessions, [kc_document(300)], metro="seattle", now=clock.now())
    # Then nothing changed: no row, no timestamp, no data version
    assert again.outcomes["unchanged"] == 300
    assert again.outcomes["created"] == again.outcomes["updated"] == 0
    assert await _snapshot(sessions) == before


async def test_a_price_change_updates_the_lead_and_lands_in_history(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock
) -> None:
    pipeline = make_pipeline()
    await pipeline.run(sessions, [kc_document(5)], metro=None, now=clock.now())

    def cheaper(lines: list[str]) -> None:  # the first home's price 221900 → 199000
        lines[1] = lines[1].replace(",221900,", ",199000,")

    clock.advance(timedelta(days=1))
    summary = await pipeline.run(
        sessions, [kc_document(5, edit=cheaper)], metro=None, now=clock.now()
    )
    assert summary.outcomes["updated"] == 1 and summary.outcomes["unchanged"] == 4
    async with transaction(sessions) as session:
        lead = await session.scalar(select(Lead).where(Lead.source_ref.like("7129300520:%")))
        assert lead is not None and lead.asking_price_cents == 19_900_000
        prices = (
            await session.scalars(
                select(LeadPriceHistory.asking_price_cents)
                .where(LeadPriceHistory.lead_id == lead.id)
                .order_by(LeadPriceHistory.observed_at)
            )
        ).all()
    assert list(prices) == [22_190_000, 19_900_000]


async def test_real_fixtures_end_to_end(
    sessions: Sessions,
    make_pipeline: MakePipeline,
    clock: FrozenClock,
) -> None:
    # Given real saved pages and feeds from four sources
    documents = [
        Document(p.name, "craigslist", p.read_bytes())
        for p in sorted((COPIED / "craigslist").glob("*.htm*"))
    ] + [
        Document(
            "jsonsearch",
            "craigslist",
            (COPIED / "craigslist" / "apa_seattle_2014_jsonsearch.json").read_bytes(),
        ),
        Document(
            "zillow search",
            "zillow",
            (COPIED / "scrapfly" / "zillow_search.json").read_bytes(),
        ),
        Document(
            "spark",
            "reso",
            (COPIED / "reso" / "spark_listings_multiple.json").read_bytes(),
        ),
    ]
    pipeline = make_pipeline()
    # When ingested
    summary = await pipeline.run(sessions, documents, metro=None, now=clock.now())
    # Then every record is accounted for, and each source produced leads
    stored = summary.outcomes["created"] + summary.outcomes["merged"]
    assert (
        stored + summary.quarantined == summary.read + summary.quarantined_by_reason["parse_error"]
    )
    async with transaction(sessions) as session:
        by_source = dict(
            (await session.execute(select(Lead.source, func.count()).group_by(Lead.source))).all()
        )
    assert by_source.keys() >= {"craigslist", "zillow", "reso"}, by_source
    assert sum(by_source.values()) == summary.outcomes["created"]
    # And a second run is a no-op
    again = await pipeline.run(sessions, documents, metro=None, now=clock.now())
    assert again.outcomes["unchanged"] == stored
    assert await _count(sessions, Quarantine) == summary.quarantined


@pytest.mark.parametrize(
    ("source", "body", "reason"),
    [
        ("reso", b"", "parse_error"),
        ("reso", b'{"value": [{"ListingKey": "1", "ListPrice"', "parse_error"),
        ("zillow", b"<html>not a search page</html>", "parse_error"),
        ("king_county_sales", b"id,date,price\n1,2", "parse_error"),
        ("craigslist", b"\x00\xff\xfe garbage", "parse_error"),
    ],
)
async def test_malformed_truncated_and_empty_documents_are_quarantined(
    sessions: Sessions,
    make_pipeline: MakePipeline,
    clock: FrozenClock,
    cipher: FieldCipher,
    source: str,
    body: bytes,
    reason: str,
) -> None:
    summary = await make_pipeline().run(
        sessions, [Document("bad", source, body)], metro=None, now=clock.now()
    )
    assert summary.quarantined_by_reason == {reason: 1}
    async with transaction(sessions) as session:
        row = (await session.scalars(select(Quarantine))).one()
    assert row.stage == "parse" and row.source == source
    assert set(row.raw) == {"sealed"}  # stored encrypted
    raw = unseal(cipher, row.raw)
    assert raw["document"]["size"] == len(body) and row.reasons[0].startswith(reason)


async def test_bad_records_inside_a_good_document_are_quarantined_with_reasons(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock
) -> None:
    def damage(lines: list[str]) -> None:
        lines[2] = "1,2,3\n"  # too few columns: the parser rejects it
        lines[3] = lines[3].replace(",47.", ",0.").replace(",-122.", ",0.")  # (0, 0) point
        lines[3] = lines[3].replace(",98", ",00")  # and no usable ZIP: cannot be placed

    summary = await make_pipeline().run(
        sessions, [kc_document(10, edit=damage)], metro="seattle", now=clock.now()
    )
    assert summary.read == 10
    assert summary.quarantined == 2
    assert summary.quarantined_by_reason["parse_rejected"] == 1
    assert summary.outcomes["created"] + summary.outcomes["merged"] == 8
    assert await _count(sessions, Quarantine) == 2


class _DiesAfter(StoreStage):
    """A store that commits `n` batches and then fails, like a process killed mid-run."""

    batches_left = 2

    async def process(self, batch: Batch, session: AsyncSession) -> None:
        await super().process(batch, session)
        self.batches_left -= 1
        if self.batches_left < 0:
            raise RuntimeError("killed")


async def test_a_run_killed_mid_batch_is_completed_by_a_rerun(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock
) -> None:
    # Given a run that dies in its third batch of 50
    full = make_pipeline(batch_size=50)
    dying = Pipeline(
        full.settings, [*full.stages[:-1], _DiesAfter(full.settings, full.stages[-1].cipher)]
    )
    with pytest.raises(RuntimeError, match="killed"):
        await dying.run(sessions, [kc_document(200)], metro=None, now=clock.now())
    assert await _count(sessions, LeadSource) == 100  # two batches committed, the third not
    # When the run is repeated
    summary = await full.run(sessions, [kc_document(200)], metro=None, now=clock.now())
    # Then it completes exactly the full set
    assert summary.outcomes["unchanged"] == 100
    assert await _count(sessions, LeadSource) == 200
    async with transaction(sessions) as session:
        refs = (await session.scalars(select(LeadSource.source_ref))).all()
    assert len(set(refs)) == 200


class _CountsNormalized(NormalizeStage):
    done: list[str]

    def apply(self, batch: Batch, items: list[Item]) -> None:
        super().apply(batch, items)
        self.done.extend(i.raw.source_ref for i in items)


class _LooksAhead(StoreStage):
    """A store that, before storing, gives the event loop many turns (as a database's replies
    do) and notes how many records of later batches were normalised meanwhile."""

    normalized: list[str]
    ahead: list[int]

    async def process(self, batch: Batch, session: AsyncSession) -> None:
        for _ in range(500):
            await asyncio.sleep(0)
        mine = {i.raw.source_ref for i in batch.items}
        later = [ref for ref in self.normalized[-len(mine) :] if ref not in mine]
        self.ahead.append(len(later))
        await super().process(batch, session)


async def test_the_next_batch_is_normalised_while_one_is_stored_and_the_result_is_the_same(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock
) -> None:
    # Given a pipeline whose store gives the event loop turns before it writes, with batches
    # of 50
    plain = make_pipeline(batch_size=50)
    normalize = _CountsNormalized(plain.settings, plain.stages[0].cipher)
    store = _LooksAhead(plain.settings, plain.stages[-1].cipher)
    normalize.done = store.normalized = []
    store.ahead = []
    watched = Pipeline(plain.settings, [normalize, *plain.stages[1:-1], store], clock=clock)
    assert plain.stage_names == watched.stage_names
    # When it ingests 200 sales
    summary = await watched.run(sessions, [kc_document(200)], metro=None, now=clock.now())
    # Then while each batch but the last was stored, the next one was normalised whole
    assert store.ahead == [50, 50, 50, 0]
    # And the run stored what it would have without the overlap
    assert summary.read == 200
    assert summary.outcomes["created"] + summary.outcomes["merged"] == 200
    assert await _count(sessions, LeadSource) == 200
    again = await plain.run(sessions, [kc_document(200)], metro=None, now=clock.now())
    assert again.outcomes["unchanged"] == 200


@pytest.mark.parametrize(
    ("stages", "ahead"),
    [
        (["parse", "normalize", "validate", "dedupe", "screen", "enrich", "store"], True),
        # enrich reads no stored row, so it runs before the store's lookup of what is stored:
        # the fingerprints wait for that lookup
        (["parse", "normalize", "enrich", "store"], False),
    ],
)
async def test_a_batch_is_fingerprinted_ahead_when_the_next_stage_reads_what_is_stored(
    make_pipeline: MakePipeline, clock: FrozenClock, stages: list[str], ahead: bool
) -> None:
    # Given a batch of 30 sales and a pipeline of these stages
    pipeline = make_pipeline(stages=stages)
    document = kc_document(30)
    items = [
        Item(r) for r in get_parser(document.source)(document.read()) if isinstance(r, RawRecord)
    ]
    batch = Batch(items, clock.now(), None)
    # When its pure stages run ahead, as they do while the previous batch is stored
    await pipeline._prepare(batch, IngestSummary())
    # Then its records carry their content hashes only when no stage can change them before
    # they are compared with what is stored
    live = batch.live()
    assert len(live) == 30
    if ahead:
        assert all(i.content_hash == content_hash(i.lead) for i in live if i.lead is not None)
    else:
        assert {i.content_hash for i in live} == {None}


async def test_each_new_lead_is_priced_by_its_own_score_bucket(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock
) -> None:
    # Given a pipeline (whose enrich stage works out each bucket's price once)
    pipeline = make_pipeline()
    # When 60 old sales and 20 fresh owner listings with contacts (other score buckets) are
    # ingested
    owners = [
        {
            "ListingKey": f"OWN-{n}",
            "StandardStatus": "Active",
            "ListPrice": 400_000 + 1_000 * n,
            "BedroomsTotal": 3,
            "BathroomsTotalInteger": 2,
            "LivingArea": 1_500,
            "YearBuilt": 1990,
            "Latitude": 47.60 + 0.01 * n,
            "Longitude": -122.33,
            "PostalCode": "98101",
            "OwnerName": "Dana Owner",
            "OwnerPhone": f"206-555-{1000 + n}",
            "ListingContractDate": clock.now().date().isoformat(),
        }
        for n in range(20)
    ]
    documents = [kc_document(60), reso_document(*owners)]
    await pipeline.run(sessions, documents, metro=None, now=clock.now())
    async with transaction(sessions) as session:
        rows = (
            await session.execute(select(Lead.score, Lead.price_cents, Lead.price_factors))
        ).all()
    # Then every lead's price and factors are those of its own bucket
    policy = pipeline.settings.pricing
    buckets = {score_bucket(r.score) for r in rows}
    assert len(buckets) >= 2
    for r in rows:
        expected = price_factors(score_bucket(r.score), policy)
        assert (r.price_cents, r.price_factors) == (expected.cents, expected.as_dict())


async def test_two_concurrent_ingests_of_one_file_leave_no_duplicates(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock
) -> None:
    a, b = make_pipeline(batch_size=40), make_pipeline(batch_size=40)
    await asyncio.gather(
        a.run(sessions, [kc_document(120)], metro=None, now=clock.now()),
        b.run(sessions, [kc_document(120)], metro=None, now=clock.now()),
    )
    assert await _count(sessions, LeadSource) == 120
    async with transaction(sessions) as session:
        pairs = (await session.execute(select(Lead.source, Lead.source_ref))).all()
    assert len(pairs) == len(set(pairs))
    alone = await make_pipeline().run(sessions, [kc_document(120)], metro=None, now=clock.now())
    assert alone.outcomes["unchanged"] == 120


async def test_switched_off_stages_still_store_leads(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock
) -> None:
    pipeline = make_pipeline(stages=["parse", "normalize", "store"])
    assert pipeline.stage_names == ["normalize", "store"]
    summary = await pipeline.run(sessions, [kc_document(20)], metro=None, now=clock.now())
    assert summary.outcomes["created"] == 20  # no cross-source dedupe: every record a lead
    async with transaction(sessions) as session:
        scores = (await session.scalars(select(Lead.score))).all()
    assert set(scores) == {None}  # enrich off: no score, the base price


@pytest.mark.parametrize(
    "stages",
    [
        ["normalize", "parse", "store"],
        ["parse", "normalize"],
        ["parse", "normalize", "validate", "validate", "store"],
        ["parse", "normalize", "teleport", "store"],
        ["parse", "dedupe", "normalize", "store"],
    ],
)
def test_stage_orders_that_cannot_work_are_refused(stages: list[str]) -> None:
    with pytest.raises(ValidationError):
        IngestSettings(stages=stages)


async def test_prices_in_scientific_notation_are_read_at_their_value(
    sessions: Sessions, make_pipeline: MakePipeline, clock: FrozenClock
) -> None:
    # Given the bundled King County sales written like "1.23E+06" (every sale of $1M or more)
    def only_exponent_prices(lines: list[str]) -> None:
        header, rows = lines[0], [x for x in lines[1:] if "E+" in x.split(",")[2]]
        lines[:] = [header, *rows]

    document = kc_document(2000, edit=only_exponent_prices)
    assert document.body is not None  # kc_document keeps the file in memory
    n = document.body.count(b"\n") - 1
    assert n >= 50
    # When ingested
    summary = await make_pipeline().run(sessions, [document], metro="seattle", now=clock.now())
    # Then every one is a lead with its asking price, a million dollars or more
    assert summary.quarantined == 0
    async with transaction(sessions) as session:
        prices = (await session.scalars(select(Lead.asking_price_cents))).all()
    assert len(prices) == summary.outcomes["created"] > 0
    assert all(p is not None and p >= 1_000_000_00 for p in prices)
