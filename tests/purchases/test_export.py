"""GET /api/v1/purchases/export.csv: the CRM columns, RFC 4180, UTF-8 with a BOM, a filename,
and no cell a spreadsheet would run as a formula (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.kit.clock import FrozenClock
from aiqleads.purchases.export import COLUMNS, dollars, neutralise, phone_cell
from tests.factories import admin, agent
from tests.purchases.conftest import EXPORT, BuyMore, MakeBuyer

HEADER = [
    "First Name",
    "Last Name",
    "Phone",
    "Email",
    "Street",
    "City",
    "State",
    "ZIP",
    "Source",
    "Source Link",
    "Purchase Date",
    "Price Paid",
]


def _parse(res: httpx.Response) -> list[list[str]]:
    """The answer as a spreadsheet would read it: UTF-8 after the BOM, RFC 4180 records."""
    assert res.content.startswith(b"\xef\xbb\xbf"), res.content[:10]
    text = res.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


async def test_the_export_has_the_crm_columns_and_one_row_per_purchase(
    client: httpx.AsyncClient, clock: FrozenClock, buyer: MakeBuyer
) -> None:
    # Given a buyer of a lead with a full owner record, at $20
    b = await buyer(
        1,
        owner_name="Ludwig van Beethoven",
        owner_phone="+12065550123",
        owner_email="ludwig@example.com",
        street_address="123 MAIN ST",
        unit="APT 4",
        city="Seattle",
        state="WA",
        zip_code="98101",
        source_url="https://listings.example.com/ludwig",
    )
    # When it exports its purchases
    res = await client.get(EXPORT, headers=b.headers)
    # Then a UTF-8 CSV file named for the day comes back
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("text/csv")
    assert "charset=utf-8" in res.headers["content-type"]
    assert (
        res.headers["content-disposition"]
        == f'attachment; filename="aiqleads-purchases-{clock.now().date().isoformat()}.csv"'
    )
    # With the CRM header and the purchase's values, each record ending in CRLF
    rows = _parse(res)
    assert rows[0] == HEADER == list(COLUMNS)
    assert rows[1:] == [
        [
            "Ludwig",
            "van Beethoven",
            "(206) 555-0123",
            "ludwig@example.com",
            "123 MAIN ST APT 4",
            "Seattle",
            "WA",
            "98101",
            "test",
            "https://listings.example.com/ludwig",
            clock.now().date().isoformat(),
            "20.00",
        ]
    ]
    assert res.content.count(b"\r\n") == 2 and b"\n" not in res.content.replace(b"\r\n", b"")


async def test_cells_that_start_like_a_formula_are_neutralised(
    client: httpx.AsyncClient, buyer: MakeBuyer
) -> None:
    # Given a lead whose source gave hostile values (and a quote, a comma, a line break and
    # accents, which CSV must carry unchanged)
    b = await buyer(
        1,
        owner_name='=HYPERLINK("http://evil.example") @SUM(A1)',
        owner_phone="+442079460000",
        owner_email="-2+3@example.com",
        street_address='12 "Quoted", Ave\nBldg 2',
        unit=None,
        city="\tÎle-de-Café",
        state="WA",
        zip_code="98101",
        source_url="\rcmd|' /C calc'!A0",
    )
    # When it exports
    [header, row] = _parse(await client.get(EXPORT, headers=b.headers))
    # Then no cell starts with a formula character, each dangerous one now starts with '
    cells = dict(zip(header, row, strict=True))
    for value in row:
        assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    assert cells["First Name"] == '\'=HYPERLINK("http://evil.example")'
    assert cells["Last Name"] == "'@SUM(A1)"
    assert cells["Phone"] == "'+442079460000"  # not a US number: E.164, neutralised
    assert cells["Email"] == "'-2+3@example.com"
    assert cells["City"] == "'\tÎle-de-Café"
    assert cells["Source Link"] == "'\rcmd|' /C calc'!A0"
    # And quotes, commas and line breaks inside a cell survive the round trip
    assert cells["Street"] == '12 "Quoted", Ave\nBldg 2'


async def test_since_and_scope_choose_the_rows(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    buyer: MakeBuyer,
    buy_more: BuyMore,
) -> None:
    # Given a buyer with a purchase now and two more two days later, and another buyer
    b = await buyer(1)
    clock.advance(timedelta(days=2))
    later = await buy_more(b, 2)
    other = await buyer(1)
    # When it exports everything, or only since yesterday
    everything = _parse(await client.get(EXPORT, headers=b.headers))
    since = (clock.now() - timedelta(days=1)).date().isoformat()
    recent = _parse(await client.get(EXPORT, params={"since": since}, headers=b.headers))
    # Then one row per purchase, and since= keeps the later ones
    assert len(everything) == 1 + 3
    assert len(recent) == 1 + 2
    assert {r[9] for r in recent[1:]} == {r["source_url"] for r in later}
    # And never another account's rows: an agent naming one is refused, an admin may
    assert other.rows[0]["source_url"] not in {r[9] for r in everything}
    refused = await client.get(
        EXPORT, params={"account": str(other.account.public_id)}, headers=b.headers
    )
    assert refused.status_code == 403
    ops = await admin(client, sessions, clock)
    theirs = _parse(
        await client.get(EXPORT, params={"account": str(other.account.public_id)}, headers=ops)
    )
    assert [r[9] for r in theirs[1:]] == [other.rows[0]["source_url"]]
    # And an agent that bought nothing gets the header alone
    _, nobody = await agent(client, sessions, clock)
    assert _parse(await client.get(EXPORT, headers=nobody)) == [HEADER]
    # And a since= that is not a date is a 422 naming it
    bad = await client.get(EXPORT, params={"since": "yesterday"}, headers=b.headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "since"


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=1", "a=1"),
        (" =1", " =1"),
        ("", ""),
        ("Seattle", "Seattle"),
    ],
)
def test_neutralise_quotes_only_formula_starts(cell: str, shown: str) -> None:
    assert neutralise(cell) == shown


def test_phones_and_amounts_as_crms_import_them() -> None:
    assert phone_cell("+12065550123") == "(206) 555-0123"
    assert phone_cell("+442079460000") == "+442079460000"
    assert phone_cell(None) == "" and phone_cell("") == ""
    assert phone_cell("not a number") == "not a number"
    assert [dollars(c) for c in (0, 5, 1700, 123456)] == ["0.00", "0.05", "17.00", "1234.56"]
