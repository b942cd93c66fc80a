"""Listing status: every source's status word → RESO StandardStatus, on the real fixtures too."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests import shared_data
from tests.shared_data import SharedPath, fixture_path

from aiqleads.ingestion.normalize.lead import NormalizedLead, normalize
from aiqleads.ingestion.normalize.reasons import Reason
from aiqleads.ingestion.normalize.status import parse_listing_status
from aiqleads.ingestion.parsers.registry import get_parser
from aiqleads.ingestion.records import RawRecord
from aiqleads.models.enums import ListingStatus as S
from aiqleads.sample.sources import SAMPLE_DATA

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def test_values_are_the_data_dictionary_standard_status_lookups(shared_path: SharedPath) -> None:
    # given the RESO Data Dictionary 2.0 metadata report
    path = shared_path("reso", "data-dictionary", "RESODataDictionary-2.0.metadata-report.json")
    lookups = [
        lookup
        for lookup in json.loads(path.read_bytes())["lookups"]
        if lookup["lookupName"] == "org.reso.metadata.enums.StandardStatus"
    ]
    names = {
        lookup["lookupValue"]: next(
            a["value"]
            for a in lookup["annotations"]
            if a["term"] == "RESO.OData.Metadata.StandardName"
        )
        for lookup in lookups
    }
    # then the enum stores exactly the display names
    assert {s.value for s in S} == set(names.values())
    # and both the OData member name ("ActiveUnderContract") and the display name map to it
    for member, display in names.items():
        assert parse_listing_status(member) == S(display)
        assert parse_listing_status(display) == S(display)


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        # Zillow homeStatus / statusType
        ("FOR_SALE", S.ACTIVE),
        ("FOR_RENT", S.ACTIVE),
        ("COMING_SOON", S.COMING_SOON),
        ("PENDING", S.PENDING),
        ("RECENTLY_SOLD", S.CLOSED),
        ("SOLD", S.CLOSED),
        ("OFF_MARKET", S.WITHDRAWN),
        # the Zillow FSBO tracker's own states
        ("active", S.ACTIVE),
        ("watched", S.ACTIVE),
        ("under_contract", S.PENDING),
        ("sold", S.CLOSED),
        ("gone", S.EXPIRED),
        ("removed", S.EXPIRED),
        ("expired", S.EXPIRED),
        # Redfin mlsStatus / "Mls Status" (MLS local words) and rental units
        ("Active", S.ACTIVE),
        ("Coming Soon", S.COMING_SOON),
        ("Contingent", S.ACTIVE_UNDER_CONTRACT),
        ("Pending", S.PENDING),
        ("Sold", S.CLOSED),
        ("available", S.ACTIVE),
        ("upcoming", S.COMING_SOON),
        # Realtor.com status
        ("for_sale", S.ACTIVE),
        ("ready_to_build", S.ACTIVE),
        ("new_community", S.ACTIVE),
        ("for_rent", S.ACTIVE),
        ("pending", S.PENDING),
        ("contingent", S.ACTIVE_UNDER_CONTRACT),
        ("off_market", S.WITHDRAWN),
        # RESO MlsStatus, local words with a standard meaning
        ("Active Option Contract", S.ACTIVE_UNDER_CONTRACT),
        ("Active Contingent", S.ACTIVE_UNDER_CONTRACT),
        ("Under Contract - Showing", S.ACTIVE_UNDER_CONTRACT),
        ("Under Contract", S.PENDING),
        ("under contract", S.PENDING),
        ("Back on Market", S.ACTIVE),
        ("Price Change", S.ACTIVE),
        ("Temporarily Off Market", S.HOLD),
        ("Temporarily No Showings", S.HOLD),
        ("Cancelled", S.CANCELED),
        ("Terminated", S.CANCELED),
        ("Leased", S.CLOSED),
        ("Rented", S.CLOSED),
        ("withdrawn", S.WITHDRAWN),
        # spelling does not matter
        ("  active under-contract ", S.ACTIVE_UNDER_CONTRACT),
        ("For Sale", S.ACTIVE),
    ],
)
def test_each_source_vocabulary_maps_to_the_standard_status(raw: str, status: S) -> None:
    assert parse_listing_status(raw) == status


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (None, "listing_status_missing"),
        ("", "listing_status_missing"),
        ("N/A", "listing_status_missing"),
        ("OTHER", "listing_status_missing"),  # Zillow, Realtor.com: no status to report
        ("missing", "listing_status_missing"),  # FSBO tracker: not seen lately, maybe still on sale
        ("FORECLOSED", "listing_status_unknown"),
        ("Auction", "listing_status_unknown"),
        ("This listing is active and the seller is motivated to close", "listing_status_unknown"),
        (3, "listing_status_unknown"),
    ],
)
def test_no_status_or_an_unknown_word_is_a_reason(raw: object, code: str) -> None:
    result = parse_listing_status(raw)
    assert isinstance(result, Reason)
    assert result.code == code


def _raw(**fields: Any) -> RawRecord:
    return RawRecord(source="zillow", source_ref="1", payload={}, zip_code="98101", **fields)


def test_normalize_sets_the_listing_status() -> None:
    result = normalize(_raw(status="RECENTLY_SOLD"), metro="seattle", now=NOW)
    assert isinstance(result, NormalizedLead)
    assert result.listing_status == S.CLOSED
    assert result.notes == ()


def test_an_unknown_status_is_none_with_a_note() -> None:
    result = normalize(_raw(status="FORECLOSED"), metro="seattle", now=NOW)
    assert isinstance(result, NormalizedLead)
    assert result.listing_status is None
    assert result.notes == ("listing_status_unknown: 'FORECLOSED'",)


@pytest.mark.parametrize("status", [None, "OTHER"])
def test_no_status_is_none_without_a_note(status: str | None) -> None:
    result = normalize(_raw(status=status), metro="seattle", now=NOW)
    assert isinstance(result, NormalizedLead)
    assert result.listing_status is None
    assert result.notes == ()


# Real files, each read by its source's parser: the statuses they hold, mapped. Copies in
# tests/fixtures/listings and files bundled in the package always run; files only in
# ../shared/data (no licence stated, or MLS data terms) are marked and skip without it.
_SCRAPFLY = ("listings", "scrapfly")
_ZILLOW_ETL = (
    "listing_fixtures",
    "zillow",
    "mcastro1822-zillow-etl",
    "tests",
    "assets",
    "response",
)


def _copied(source: str, parts: tuple[str, ...], expected: dict[S, int]) -> Any:
    return pytest.param(source, fixture_path(*parts), expected, id="/".join(parts))


def _bundled(source: str, name: str, expected: dict[S, int]) -> Any:
    return pytest.param(source, SAMPLE_DATA / name, expected, id=f"sample_data/{name}")


def _shared(source: str, parts: tuple[str, ...], expected: dict[S, int]) -> Any:
    return pytest.param(source, parts, expected, id="/".join(parts), marks=pytest.mark.shared_data)


@pytest.mark.parametrize(
    ("source", "where", "expected"),
    [
        _shared("zillow", (*_ZILLOW_ETL, "first_page.json"), {S.ACTIVE: 41}),
        _shared("zillow", (*_ZILLOW_ETL, "listing.html"), {S.ACTIVE: 1}),
        _copied("zillow", (*_SCRAPFLY, "zillow_search.json"), {S.ACTIVE: 380}),
        _copied("zillow", (*_SCRAPFLY, "zillow_property.json"), {S.ACTIVE: 1}),
        _shared(
            "zillow",
            ("listing_fixtures", "fsbo", "jnewg4-coder-fsbo-tracker", "fsbo_latest.json"),
            {S.ACTIVE: 86},
        ),
        _bundled("redfin", "redfin_seattle_search.json.gz", {S.ACTIVE: 89}),
        _copied("redfin", (*_SCRAPFLY, "redfin_properties_for_sale.json"), {S.ACTIVE: 3}),
        _copied(
            "redfin",
            (*_SCRAPFLY, "redfin_properties_for_rent.json"),
            {S.ACTIVE: 150, S.COMING_SOON: 25},
        ),
        _copied("realtor", (*_SCRAPFLY, "realtorcom_property.json"), {S.CLOSED: 1}),
        _shared("reso", ("reso", "mlsgrid_mred_property_top1.json"), {S.CLOSED: 1}),
    ],
)
def test_real_source_files_get_their_standard_status(
    source: str, where: Path | tuple[str, ...], expected: dict[S, int]
) -> None:
    # given a saved page or feed (a copy, a bundled file, or a shared one) read by the real parser
    path = where if isinstance(where, Path) else shared_data.shared_path(*where)
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    records = [item for item in get_parser(source)(data) if isinstance(item, RawRecord)]
    # when each record's status is mapped
    statuses = [parse_listing_status(r.status) for r in records]
    # then every record has a standard status, as many of each as the file holds
    assert Counter(statuses) == expected


def test_a_real_closed_mls_record_normalises_as_closed(shared_path: SharedPath) -> None:
    # given MLS Grid's real MRED record (StandardStatus "Closed", Wauconda IL 60084)
    data = shared_path("reso", "mlsgrid_mred_property_top1.json").read_bytes()
    (record,) = [r for r in get_parser("reso")(data) if isinstance(r, RawRecord)]
    # when normalized / then the lead says the listing closed
    result = normalize(record, now=NOW)
    assert isinstance(result, NormalizedLead)
    assert result.listing_status == S.CLOSED
    assert not [n for n in result.notes if n.startswith("listing_status")]
