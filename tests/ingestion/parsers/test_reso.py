from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from aiqleads.ingestion.parsers import reso
from aiqleads.ingestion.records import ParseError, RawRecord, Rejected

Reader = Callable[[str], bytes]


def test_mlsgrid_page_reads_data_dictionary_fields(shared_file: Reader) -> None:
    # given the real MLS Grid response (README-reso-leads-interactions.md 1a)
    data = shared_file("reso/mlsgrid_mred_property_top1.json")

    (rec,) = reso.parse(data)

    assert isinstance(rec, RawRecord)
    assert rec.source_ref == "MRD05253841"
    assert (rec.price, rec.status, rec.kind) == (184500, "Closed", "other")
    assert rec.street == "551 KIMBALL AVENUE"
    assert (rec.city, rec.state, rec.zip_code) == ("WAUCONDA", "IL", "60084")
    assert rec.address == "551 KIMBALL AVENUE, WAUCONDA, IL 60084"  # no UnparsedAddress
    assert (rec.bedrooms, rec.bathrooms, rec.living_area) == (3, 1, 0)
    assert (rec.latitude, rec.longitude) == (None, None)
    assert rec.listing_office == "Baird & Warner"
    assert rec.listing_agent == "REDACTED REDACTED"  # first + last: no ListAgentFullName
    assert rec.property_type == "Residential"
    assert rec.listed_at == "2005-10-04T05:00:00.000Z"
    assert rec.payload["ModificationTimestamp"] == "2021-05-04T20:27:18.208Z"
    assert reso.next_link(data) == "https://api.mlsgrid.com/v2/Property?$top=1&$skip=1"


def test_expanded_page_keeps_media_and_rooms_in_payload(shared_file: Reader) -> None:
    data = shared_file("reso/mlsgrid_mred_property_top1_expand_media_rooms_unittypes.json")

    (rec,) = reso.parse(data)

    assert isinstance(rec, RawRecord)
    assert len(rec.payload["Rooms"]) == 7 and len(rec.payload["Media"]) == 1
    assert reso.next_link(data) == (
        "https://api.mlsgrid.com/v2/Property?$top=1&$expand=Media%2CRooms%2CUnitTypes&$skip=1"
    )


def test_spark_listings_response_gives_two_listings(listing_fixture: Reader) -> None:
    data = listing_fixture("reso/spark_listings_multiple.json")

    items = list(reso.parse(data))

    assert len(items) == 2 and all(isinstance(i, RawRecord) for i in items)
    first = items[0]
    assert isinstance(first, RawRecord)
    assert first.source_ref == "20060725224713296297000000"
    assert (first.price, first.zip_code, first.bedrooms) == ("50000.0", "83805", 3)
    assert (first.latitude, first.longitude) == ("48.7001", "-116.3237")
    assert (first.living_area, first.bathrooms) == ("924.0", "1.0")
    assert first.listing_office == "Century 21 On The Lake"
    assert reso.next_link(data) is None


def test_full_record_with_lease_status_and_parts() -> None:
    record = {
        "ListingKey": "K1",
        "ListPrice": 2500,
        "UnparsedAddress": "1307 Southport Dr B, Austin TX 78704",
        "StandardStatus": "Active",
        "PropertyType": "ResidentialLease",
        "BathroomsFull": 2,
        "BathroomsHalf": 1,
        "LotSizeArea": 0.2,
        "LotSizeUnits": "Acres",
        "ListAgentFullName": "Pat Agent",
        "ListAgentDirectPhone": "512-555-0100",
        "ListAgentEmail": "pat@example.com",
        "ListingContractDate": "2024-01-02",
        "Latitude": 30.24,
        "Longitude": -97.77,
    }
    data = json.dumps({"@odata.context": "x", "value": [record]}).encode()

    (rec,) = reso.parse(data)

    assert isinstance(rec, RawRecord)
    assert (rec.kind, rec.bathrooms, rec.lot_area) == ("for_rent", 2.5, "0.2 Acres")
    assert rec.address == "1307 Southport Dr B, Austin TX 78704"
    assert (rec.phones, rec.emails) == ([], [])  # the remarks give none
    assert [(c.value, c.role, c.origin) for c in rec.contacts] == [
        ("512-555-0100", "listing_agent", "field:ListAgentDirectPhone"),
        ("pat@example.com", "listing_agent", "field:ListAgentEmail"),
    ]
    assert (rec.listing_agent, rec.listed_at) == ("Pat Agent", "2024-01-02")


@pytest.mark.parametrize(
    ("status", "kind"), [("Expired", "expired"), ("Withdrawn", "expired"), ("Pending", "for_sale")]
)
def test_standard_status_maps_to_kind(status: str, kind: str) -> None:
    data = json.dumps({"value": [{"ListingKey": "1", "StandardStatus": status}]}).encode()

    (rec,) = reso.parse(data)

    assert isinstance(rec, RawRecord) and rec.kind == kind


def test_record_without_listing_key_is_rejected() -> None:
    items = list(reso.parse(b'{"value": [{"ListPrice": 1}, 7]}'))

    assert [type(i) for i in items] == [Rejected, Rejected]
    assert isinstance(items[0], Rejected) and "ListingKey" in items[0].reason


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b'{"value": [{"ListingKey": "1"', "truncated"),
        (b'{"error": {"message": "bad token"}}', "bad token"),
        (b'{"D": {"Results": [], "Success": false, "Message": "denied"}}', "denied"),
        (b"[1]", "neither"),
    ],
)
def test_bad_documents_are_parse_errors(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        list(reso.parse(data))


def test_next_link_of_a_truncated_page_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        reso.next_link(b'{"value": [')
