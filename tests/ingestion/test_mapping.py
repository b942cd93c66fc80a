"""Any CSV an operator brings, through a TOML mapping (issue 8, item 10): units, date formats,
delimiters, encodings, a kind column, contacts by role; rows the mapping cannot place are
quarantined with the column and the reason; `aiqleads csv suggest` writes a starting mapping."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.db.engine import transaction
from aiqleads.ingestion.documents import Document
from aiqleads.ingestion.mapping import MappingError, builtin_mapping, load_mapping, suggest
from aiqleads.ingestion.pipeline import Pipeline
from aiqleads.ingestion.records import RawRecord, Rejected
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import Lead, Quarantine

EXPORT = (
    "ListingKey;ListPrice;LivingArea;LotAcres;ListDate;PropertyType;UnparsedAddress;City;"
    "PostalCode;OwnerName;OwnerPhone;ListAgentEmail\n"
    "A1;389000;150;0,25;03/11/2024;Residential;7421 Fictional Sage Ave;Las Vegas;89129;"
    "Jane Roe;(702) 555-0142;agent@example.com\n"
    "A2;1650;90;;03/12/2024;Residential Lease;880 Fictional Rose Way;Las Vegas;89102;;;\n"
    "A3;250000;100;;2024-03-13;Residential;1 Fictional Ct;Las Vegas;89102;;;\n"
    "A4;abc;100;;03/14/2024;Residential;2 Fictional Ct;Las Vegas;89102;;;\n"
    "A5;300000;100;;03/15/2024;Farm;3 Fictional Ct;Las Vegas;89102;;;\n"
)
MAPPING = """
source = "lvx_export"
ref = "ListingKey"
delimiter = ";"
encoding = "cp1252"
date_format = "%m/%d/%Y"
kind_column = "PropertyType"

[kinds]
Residential = "for_sale"
"Residential Lease" = "for_rent"

[columns]
price = "ListPrice"
living_area = "LivingArea"
listed_at = "ListDate"
address = "UnparsedAddress"
city = "City"
zip_code = "PostalCode"
owner_name = "OwnerName"
owner_phone = "OwnerPhone"
agent_email = "ListAgentEmail"

[units]
living_area = "sqm"
"""


async def test_an_mls_export_is_read_through_its_mapping(
    sessions: async_sessionmaker[AsyncSession],
    make_pipeline: Callable[..., Pipeline],
    clock: FrozenClock,
    cipher: FieldCipher,
) -> None:
    # Given a semicolon-separated Windows-1252 export and its mapping
    parser = load_mapping(MAPPING).parser()
    data = EXPORT.replace("Fictional Sage", "Fictional Sagé").encode("cp1252")
    document = Document("export.csv", "csv", data, parser=parser)
    # When ingested
    summary = await make_pipeline().run(sessions, [document], metro="las_vegas", now=clock.now())
    # Then the placeable rows are leads, in their units and kinds, with the owner's contact
    async with transaction(sessions) as session:
        leads = {r.source_ref: r for r in (await session.scalars(select(Lead))).all()}
        rows = (await session.scalars(select(Quarantine).order_by(Quarantine.id))).all()
    assert set(leads) == {"A1", "A2", "A4"}
    assert leads["A4"].asking_price_cents is None  # a sale without a price is kept, noted
    sale, lease = leads["A1"], leads["A2"]
    assert (sale.source, sale.kind, sale.living_area_sqft) == ("lvx_export", "for_sale", 1615)
    assert sale.street_address == "7421 Fictional Sagé Ave"
    assert sale.listed_at is not None and sale.listed_at.date().isoformat() == "2024-03-11"
    assert cipher.decrypt(sale.owner_phone_enc) == "+17025550142"
    assert cipher.decrypt(sale.owner_name_enc) == "Jane Roe"
    assert sale.listing_agent_email == "agent@example.com"
    assert (lease.kind, lease.price_period) == ("for_rent", "month")
    assert lease.asking_price_cents == 165_000
    # And each row it cannot place is quarantined naming the column and the reason
    reasons = {r.source_ref: r.reasons[0] for r in rows}
    date = "column 'ListDate': '2024-03-13' does not match the date format %m/%d/%Y"
    assert date in reasons["A3"]
    assert "column 'PropertyType': 'Farm' is none of the mapped kinds" in reasons["A5"]
    assert summary.quarantined == 2 and summary.notes["price_unparseable"] == 1


def test_units_of_price_and_area_are_applied() -> None:
    mapping = load_mapping(
        """
source = "assessor"
ref = "pin"
kind = "for_sale"
[columns]
price = "value_cents"
lot_area = "lot_acres"
zip_code = "zip"
[units]
price = "cents"
lot_area = "acres"
"""
    )
    (record,) = mapping.parser()(b"pin,value_cents,lot_acres,zip\n7,25000000,0.5,89110\n")
    assert isinstance(record, RawRecord)
    assert (record.price, record.lot_area, record.kind) == ("250000.0", "0.5 acres", "for_sale")


def test_a_number_that_is_none_in_a_converted_column_is_refused_with_the_column() -> None:
    mapping = load_mapping(
        'source = "x"\nref = "id"\n[columns]\nprice = "p"\n[units]\nprice = "thousands"\n'
    )
    (item,) = mapping.parser()(b"id,p\n1,n/a-ish\n")
    assert isinstance(item, Rejected)
    assert "column 'p': 'n/a-ish' is not a number of thousands" in item.reason


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('ref = "id"\n[columns]\nprice = "p"\n', "source must be a slug"),
        ('source = "x"\nref = "id"\n[columns]\ncolour = "c"\n', "no lead fields"),
        ('source = "x"\nref = "id"\n[columns]\nprice = "p"\n[units]\nprice = "euros"\n', "units"),
        ('source = "x"\nref = "id"\nkind = "castle"\n[columns]\nprice = "p"\n', "kind"),
        ('source = "x"\nref = "id"\nhas_header = false\n[columns]\nprice = "p"\n', "column_names"),
        ('source = "x"\nref = "id"\nmystery = 1\n[columns]\nprice = "p"\n', "unknown keys"),
        ("source = ", "not TOML"),
    ],
)
def test_a_bad_mapping_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(MappingError, match=message):
        load_mapping(text)


def test_the_built_in_sources_are_mappings() -> None:
    assert builtin_mapping("king_county_sales").ref == ("id", "date")
    assert builtin_mapping("craigslist_csv_asl7168").columns["price_period"] == "rent_period"
    assert not builtin_mapping("craigslist_csv_irahorecka").has_header


def test_suggest_maps_reso_names_and_synonyms(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(EXPORT.splitlines()[0].replace(";", ",") + ",lat,lng,beds\n")
    text = suggest(path)
    mapping = load_mapping(text.replace('kind = "for_sale"', 'kind = "for_sale"'))
    assert mapping.ref == "ListingKey"
    assert mapping.columns["price"] == "ListPrice"
    assert mapping.columns["latitude"] == "lat" and mapping.columns["longitude"] == "lng"
    assert mapping.columns["bedrooms"] == "beds"
    assert mapping.columns["owner_phone"] == "OwnerPhone"
    assert "# columns not mapped: LotAcres" in text


def test_suggest_sniffs_the_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "export.tsv"
    path.write_text("id\tprice\tzip\n1\t100\t89110\n")
    assert 'delimiter = "\t"' in suggest(path)


def test_the_commands(tmp_path: Path) -> None:
    from aiqleads.cli import main

    csv_path = tmp_path / "export.csv"
    csv_path.write_text("ListingKey,ListPrice,PostalCode\n1,100000,89110\n")
    runner = CliRunner()
    suggested = runner.invoke(main, ["csv", "suggest", str(csv_path)])
    assert suggested.exit_code == 0 and 'price = "ListPrice"' in suggested.output
    missing = runner.invoke(main, ["ingest", str(csv_path), "--source", "csv"])
    assert missing.exit_code == 2 and "--mapping" in missing.output
    bad = tmp_path / "bad.toml"
    bad.write_text('source = "x"\n')
    refused = runner.invoke(
        main, ["ingest", str(csv_path), "--source", "csv", "--mapping", str(bad)]
    )
    assert refused.exit_code == 2 and "[columns]" in refused.output
    assert json.loads(json.dumps({"ok": True}))  # the commands never touched a database
