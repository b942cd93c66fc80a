"""The CRM export of a buyer's purchases: one CSV row per purchase.

The file is RFC 4180 CSV (comma-separated, fields with a comma, quote or line break quoted,
quotes doubled, CRLF line ends), UTF-8 with a byte-order mark first so spreadsheets (Excel in
particular) read the accents right, and a header row with the column names CRMs map on import.

Cells that a spreadsheet would run as a formula are neutralised as OWASP's "CSV Injection"
page advises: a cell beginning with =, +, -, @, a tab or a carriage return gets a single quote
in front, which spreadsheets show as text. So that phone numbers need no such quote (a CRM
would import it as part of the number), a US number is written in its national form,
"(206) 555-0101"; any other number in E.164, then neutralised like every cell.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from aiqleads.kit.clock import as_utc
from aiqleads.purchases.names import split_name

BOM = "\ufeff"
COLUMNS = (
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
)
MEDIA_TYPE = "text/csv; charset=utf-8; header=present"  # RFC 4180 section 3
# OWASP CSV Injection: the first characters that make a spreadsheet read a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """The cell as text a spreadsheet will not run: a leading quote when it starts like a
    formula (OWASP), else unchanged."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def phone_cell(e164: str | None) -> str:
    """A stored E.164 number as a CRM imports it: national form for US numbers ("(206)
    555-0101", extensions as " ext. 12"), E.164 otherwise; "" for none."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(number) == "US":
        return str(phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL))
    return e164


def dollars(cents: int) -> str:
    """Integer cents as a plain decimal amount ("17.00"), which spreadsheets read as a number."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def street_cell(street: str | None, unit: str | None) -> str:
    """The street line with its unit, as USPS writes it ("123 MAIN ST APT 4")."""
    return " ".join(p for p in (street, unit) if p)


def purchase_row(
    *,
    owner_name: str | None,
    owner_phone: str | None,
    owner_email: str | None,
    street: str | None,
    unit: str | None,
    city: str | None,
    state: str | None,
    zip_code: str | None,
    source: str,
    source_url: str | None,
    purchased_at: datetime,
    paid_cents: int,
) -> list[str]:
    """One purchase as the export's cells, in `COLUMNS` order, each neutralised. The purchase
    date is the UTC calendar date (YYYY-MM-DD, ISO 8601), which every spreadsheet reads."""
    first, last = split_name(owner_name)
    cells = [
        first,
        last,
        phone_cell(owner_phone),
        owner_email or "",
        street_cell(street, unit),
        city or "",
        state or "",
        zip_code or "",
        source,
        source_url or "",
        as_utc(purchased_at).date().isoformat(),
        dollars(paid_cents),
    ]
    return [neutralise(c) for c in cells]


def encode(rows: Iterable[Sequence[str]]) -> str:
    """Rows as RFC 4180 text (CRLF line ends, minimal quoting)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerows(rows)
    return buffer.getvalue()


def preamble() -> str:
    """What the file starts with: the byte-order mark and the header row."""
    return BOM + encode([COLUMNS])
