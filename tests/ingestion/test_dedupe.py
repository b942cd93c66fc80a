from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.ingestion.conftest import kc_document, reso_document

from aiqleads.db.engine import transaction
from aiqleads.ingestion.evaluation import evaluate, labelled_pairs
from aiqleads.ingestion.matching import Listing, MatchPolicy, match_rule
from aiqleads.ingestion.pipeline import Pipeline
from aiqleads.kit.clock import FrozenClock
from aiqleads.models import Lead, LeadPriceHistory, LeadSource
from aiqleads.sample.sources import KING_COUNTY_SALES

Sessions = async_sessionmaker[AsyncSession]

# The first King County record: 7129300520, 3 bd / 1 ba, $221,900 at (47.5112, -122.257), 98178.
KC_LAT, KC_LON = 47.5112, -122.257


def _reso(key: str, **fields: object) -> dict[str, object]:
    record: dict[str, object] = {
        "ListingKey": key,
        "StandardStatus": "Active",
        "ListPrice": 225000,
        "BedroomsTotal": 3,
        "BathroomsTotalInteger": 1,
        "Latitude": KC_LAT + 0.0001,  # 11 m north
        "Longitude": KC_LON,
        "PostalCode": "98178",
        "ListAgentFullName": "Pat Agent",
    }
    record.update(fields)
    return record


async def test_the_same_home_from_another_source_merges_with_provenance(
    sessions: Sessions, make_pipeline: Callable[..., Pipeline], clock: FrozenClock
) -> None:
    # Given a King County home stored
    pipeline = make_pipeline()
    await pipeline.run(sessions, [kc_document(1)], metro=None, now=clock.now())
    # When a RESO feed lists it 11 m away, same facts, price within 5 %, plus an agent
    summary = await pipeline.run(
        sessions, [reso_document(_reso("R-1"))], metro=None, now=clock.now()
    )
    # Then it is merged, not created: one lead, two sources, the gap filled, identity kept
    assert summary.outcomes["merged"] == 1 and summary.outcomes["created"] == 0
    async with transaction(sessions) as session:
        lead = (await session.scalars(select(Lead))).one()
        provenance = (await session.execute(select(LeadSource.source, LeadSource.match_rule))).all()
        observed = (await session.scalars(select(LeadPriceHistory.source))).all()
    assert lead.source == "king_county_sales" and lead.asking_price_cents == 22_190_000
    assert lead.listing_agent == "Pat Agent"
    assert sorted(provenance) == [("king_county_sales", "source_ref"), ("reso", "proximity")]
    assert sorted(observed) == ["king_county_sales", "reso"]
    # And re-ingesting the feed is a no-op
    again = await pipeline.run(sessions, [reso_document(_reso("R-1"))], metro=None, now=clock.now())
    assert again.outcomes["unchanged"] == 1


async def test_a_neighbour_with_other_facts_is_a_new_lead(
    sessions: Sessions, make_pipeline: Callable[..., Pipeline], clock: FrozenClock
) -> None:
    pipeline = make_pipeline()
    await pipeline.run(sessions, [kc_document(1)], metro=None, now=clock.now())
    neighbour = _reso("R-2", BedroomsTotal=4, ListPrice=400000)
    far = _reso("R-3", Latitude=KC_LAT + 0.001)  # 111 m away, same facts
    summary = await pipeline.run(
        sessions, [reso_document(neighbour, far)], metro=None, now=clock.now()
    )
    assert summary.outcomes["created"] == 2 and summary.outcomes["merged"] == 0


async def test_two_sightings_in_one_batch_merge_by_address(
    sessions: Sessions, make_pipeline: Callable[..., Pipeline], clock: FrozenClock
) -> None:
    address = {
        "UnparsedAddress": "9163 NW 26th Street, Seattle, WA 98117",
        "Latitude": None,
        "Longitude": None,
        "PostalCode": "98117",
    }
    first = _reso("A", **address)
    repost = _reso("B", **{**address, "ListPrice": 260000})  # a repost 15 % dearer
    other_unit = _reso(
        "C", **{**address, "UnparsedAddress": "9163 NW 26th St Apt 2, Seattle, WA 98117"}
    )
    summary = await make_pipeline().run(
        sessions, [reso_document(first, repost, other_unit)], metro=None, now=clock.now()
    )
    assert summary.outcomes["created"] == 2 and summary.outcomes["merged"] == 1
    async with transaction(sessions) as session:
        rules = dict(
            (await session.execute(select(LeadSource.source_ref, LeadSource.match_rule))).all()
        )
        prices = (await session.scalars(select(LeadPriceHistory.asking_price_cents))).all()
    assert rules == {"A": "source_ref", "B": "address", "C": "source_ref"}
    assert 26_000_000 in prices  # the repost's price is kept in the history


def test_rules_keep_units_and_neighbours_apart() -> None:
    policy = MatchPolicy()
    home = Listing("12 pine st||98101", "h1", 47.6, -122.3, True, 3, 2.0, 50_000_000)
    assert match_rule(home, home, policy) == "address"
    unit = Listing("12 pine st|2|98101", None, 47.6, -122.3, True, 3, 2.0, 50_000_000)
    assert (
        match_rule(
            Listing("12 pine st|1|98101", None, 47.6, -122.3, True, 3, 2.0, 50_000_000),
            unit,
            policy,
        )
        is None
    )
    next_door = Listing("14 pine st||98101", None, 47.6001, -122.3, True, 3, 2.0, 50_000_000)
    assert match_rule(home, next_door, policy) is None
    typo = Listing("12 pnie st||98101", None, 47.6001, -122.3, True, 3, 2.0, 51_000_000)
    assert match_rule(home, typo, policy) == "proximity"
    centroid = Listing(None, "h1", 47.0, -122.0, False, 3, 2.0, 49_000_000)
    assert match_rule(home, centroid, policy) == "phone"
    assert (
        match_rule(home, Listing(None, None, 47.6, -122.3, False, 3, 2.0, 50_000_000), policy)
        is None
    )


def test_pairwise_precision_and_recall_on_the_labelled_set() -> None:
    # Measured 2026-11-30: precision 0.9834, recall 0.9936 on 18,499 pairs. The false merges
    # left are King County neighbours within 30 m that no fact tells apart (rows of identical
    # townhouses: same plan, year and lot, often the same rounded point), which the stage leaves
    # unmerged when it sees more than one of them; the misses are another source's living area
    # that leaves out a finished basement.
    scores = evaluate(labelled_pairs(KING_COUNTY_SALES), MatchPolicy())
    assert scores.pairs > 18_000
    assert scores.precision >= 0.98
    assert scores.recall >= 0.99
    assert scores.by_category["other_unit_same_building"]["matched"] == 0
    assert scores.by_category["house_40_150m_away"]["matched"] == 0
    assert scores.by_category["neighbours_within_30m"]["matched"] <= 210


_ROW = {"ListPrice": 450000, "LivingArea": 1620, "LotSizeSquareFeet": 1200, "YearBuilt": 2014}


async def test_a_pin_between_identical_townhouses_merges_into_neither(
    sessions: Sessions, make_pipeline: Callable[..., Pipeline], clock: FrozenClock
) -> None:
    # Given two stored townhouses of one row: the same plan, price and year, 8 m apart
    pipeline = make_pipeline()
    townhouses = [
        _reso(
            f"T-{number}",
            **_ROW,
            UnparsedAddress=f"{number} NE 8th St, Seattle, WA 98178",
            Latitude=KC_LAT + offset,
        )
        for number, offset in ((1201, 0.0), (1203, 0.00007))
    ]
    first = await pipeline.run(sessions, [reso_document(*townhouses)], metro=None, now=clock.now())
    assert first.outcomes["created"] == 2
    # When a listing without address is pinned between them, agreeing with both
    pin = _reso("P-1", **_ROW, Latitude=KC_LAT + 0.00004)
    summary = await pipeline.run(sessions, [reso_document(pin)], metro=None, now=clock.now())
    # Then it is a lead of its own, and the run says why it was not merged
    assert summary.outcomes["created"] == 1 and summary.outcomes["merged"] == 0
    assert summary.notes["dedupe_ambiguous"] == 1


async def test_a_pin_by_one_townhouse_merges_and_a_bigger_neighbour_does_not(
    sessions: Sessions, make_pipeline: Callable[..., Pipeline], clock: FrozenClock
) -> None:
    # Given one stored townhouse with its living area, lot and year
    pipeline = make_pipeline()
    stored = _reso("T-1", **_ROW, UnparsedAddress="1201 NE 8th St, Seattle, WA 98178")
    await pipeline.run(sessions, [reso_document(stored)], metro=None, now=clock.now())
    # When two pins arrive 4 m away: the same home, and the end unit with 300 sqft more
    same = _reso("P-1", **_ROW, Latitude=KC_LAT + 0.00004)
    bigger = _reso("P-2", **{**_ROW, "LivingArea": 1920}, Latitude=KC_LAT + 0.00004)
    summary = await pipeline.run(
        sessions, [reso_document(same, bigger)], metro=None, now=clock.now()
    )
    # Then the first merges by proximity and the second is a lead of its own
    assert summary.outcomes["merged"] == 1 and summary.outcomes["created"] == 1
    async with transaction(sessions) as session:
        rules = dict(
            (await session.execute(select(LeadSource.source_ref, LeadSource.match_rule))).all()
        )
    assert rules == {"T-1": "source_ref", "P-1": "proximity", "P-2": "source_ref"}
