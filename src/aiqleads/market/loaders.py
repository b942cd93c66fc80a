"""Readers of the published market series files: Zillow Research wide CSVs and Redfin's market
tracker TSV, streamed row by row into `SeriesPoint`s.

Nothing here touches the database: `repository.upsert_points` stores what these yield. Each
reader fills a `LoadReport` as it goes: a row or value it cannot use (no region, a value that is
not a number, a date header or period it cannot read) is counted under its reason, with the first
few examples, never dropped in silence and never a crash. A blank cell is no value, not a bad
one: Zillow leaves the months before a region's series starts empty, Redfin the months it did not
compute.

Formats:
* Zillow Research (https://www.zillow.com/research/data/): one row per region (`RegionName`,
  `RegionType` zip, city, county, msa or country; `State`), then one column per month whose
  header is the month's last day, as `YYYY-MM-DD` or, in files re-saved by a spreadsheet,
  `M/D/YYYY`. The measure (ZHVI, the home value index; ZORI, the observed rent index) is in the
  file's name.
* Redfin Data Center market tracker (https://www.redfin.com/news/data-center/): tab separated,
  one row per region, property type, seasonal adjustment and period (`period_begin`,
  `period_duration` in days), with the measures as columns and their `_mom`/`_yoy` changes
  (not stored: they follow from the levels).
"""

from __future__ import annotations

import csv
import gzip
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO

from aiqleads.kit.textfiles import open_text
from aiqleads.metros import METROS

ZILLOW = "zillow"
REDFIN = "redfin"
ZILLOW_MEASURES = ("zhvi", "zori")
# Redfin's level columns that are stored; the `_mom`/`_yoy` columns next to them are not.
REDFIN_MEASURES = (
    "median_sale_price",
    "median_list_price",
    "median_ppsf",
    "median_list_ppsf",
    "homes_sold",
    "pending_sales",
    "new_listings",
    "inventory",
    "months_of_supply",
    "median_dom",
    "avg_sale_to_list",
    "sold_above_list",
    "price_drops",
    "off_market_in_two_weeks",
)
# Redfin's "All Residential" is the plain measure; other property types add their slug.
REDFIN_ALL_TYPES = "All Residential"
EXAMPLES_PER_REASON = 5

_ZILLOW_KINDS = {"zip": "zip", "city": "city", "county": "county", "msa": "metro"}
_ZILLOW_KINDS |= {"country": "national"}
_REDFIN_KINDS = {"national": "national", "metro": "metro", "zip code": "zip", "zip": "zip"}
_REDFIN_KINDS |= {"county": "county", "place": "city", "city": "city", "state": "state"}


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """One value of one series: the key of `market_series` and its value."""

    source: str
    region_kind: str
    region: str
    measure: str
    month: date
    value: float


@dataclass(slots=True)
class LoadReport:
    """What a reader did with a file: rows read, values given, blank cells, and each reason a
    row or a value was not used (`rejected`), with up to `EXAMPLES_PER_REASON` examples each
    ("line 12: RegionName is empty")."""

    rows: int = 0
    values: int = 0
    blank: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def reject(self, reason: str, where: str) -> None:
        self.rejected[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < EXAMPLES_PER_REASON:
            shown.append(where)

    def as_dict(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "values": self.values,
            "blank": self.blank,
            "rejected": dict(self.rejected),
            "examples": self.examples,
        }


class UnreadableFile(ValueError):
    """A file that is not the format asked for (no header, a column it must have is missing)."""


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def parse_month(text: str) -> date | None:
    """`2015-01-31`, `2015-01-01` or `1/31/2015` → the first day of that month; None when the
    text is no date."""
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return first_of_month(datetime.strptime(text, fmt).date())
        except ValueError:
            continue
    return None


def _number(text: str) -> float | None:
    """The cell as a finite float; None for a value that is not one. Raises nothing."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def _blank(text: str) -> bool:
    return text.strip() in ("", "NA", "NaN", "nan", "null")


def metro_slug(name: str, state: str | None = None) -> str | None:
    """Our metro slug for a source's metro name ("Seattle, WA", "Seattle-Tacoma-Bellevue, WA",
    "Seattle, WA metro area", "Dallas-Fort Worth, TX"), or None when it is none of ours: the
    first city of the name is the metro's principal city and the state matches."""
    city, _, rest = name.partition(",")
    region_state = (state or rest.strip()[:2]).upper()
    principal = re.split(r"[-–]", city)[0].strip().lower()
    for metro in METROS.values():
        ours = re.split(r"[-–]", metro.name)[0].strip().lower()
        if ours == principal and metro.state == region_state:
            return metro.slug
    return None


def zillow_measure(path: Path) -> str | None:
    """ "zhvi" or "zori" from a Zillow file's name (zillow_Zip_zori_uc_sfrcondomfr_sm_month.csv),
    None when its name says neither."""
    words = set(re.split(r"[_.\-]", path.name.lower()))
    found = [m for m in ZILLOW_MEASURES if m in words]
    return found[0] if len(found) == 1 else None


def _cell(report: LoadReport, text: str, where: str) -> float | None:
    """One series value, counted in `report`: a number; None for a blank cell (counted as blank)
    or text that is no number (rejected with `where`)."""
    if _blank(text):
        report.blank += 1
        return None
    value = _number(text)
    if value is None:
        report.reject("non-numeric value", f"{where}: {text!r}")
        return None
    report.values += 1
    return value


def _zillow_region(row: dict[str, str]) -> tuple[str, str] | str:
    """(region_kind, region) of a Zillow row, or the reason it has none."""
    name = (row.get("RegionName") or "").strip()
    if not name:
        return "missing region"
    kind = _ZILLOW_KINDS.get((row.get("RegionType") or "").strip().lower())
    if kind is None:
        return "unknown RegionType"
    state = (row.get("State") or row.get("StateName") or "").strip()
    if kind == "zip":
        if not name.isdigit() or len(name) > 5:
            return "bad ZIP"
        return kind, name.zfill(5)  # ZIPs saved as numbers lose their leading zeros
    if kind == "metro":
        return kind, metro_slug(name) or name
    if kind in ("city", "county") and state:
        return kind, f"{name}, {state}"
    return kind, name


def read_zillow(stream: IO[str], measure: str, report: LoadReport) -> Iterator[SeriesPoint]:
    """Stream a Zillow Research wide CSV as points of `measure` (see the module's docstring).

    Raises UnreadableFile when the header has no RegionName or no month column; a date header
    that is not a date is reported (`bad date header`, once) and its column skipped."""
    reader = csv.reader(stream)
    header = next(reader, None)
    if header is None or "RegionName" not in header:
        raise UnreadableFile("not a Zillow Research CSV: no RegionName column in the header")
    months: list[tuple[int, date]] = []
    region_columns = {"RegionID", "SizeRank", "RegionName", "RegionType", "StateName", "State"}
    region_columns |= {"City", "Metro", "CountyName", "StateCodeFIPS", "MunicipalCodeFIPS"}
    for i, name in enumerate(header):
        if name in region_columns:
            continue
        month = parse_month(name)
        if month is None:
            report.reject("bad date header", f"column {i + 1}: {name!r}")
        else:
            months.append((i, month))
    if not months:
        raise UnreadableFile("not a Zillow Research CSV: no month columns in the header")
    for line, cells in enumerate(reader, start=2):
        report.rows += 1
        if len(cells) != len(header):
            report.reject("wrong number of columns", f"line {line}")
            continue
        row = dict(zip(header, cells, strict=True))
        region = _zillow_region(row)
        if isinstance(region, str):
            report.reject(region, f"line {line}: {row.get('RegionName', '')!r}")
            continue
        kind, name = region
        for i, month in months:
            value = _cell(report, cells[i], f"line {line}, {header[i]}")
            if value is not None:
                yield SeriesPoint(ZILLOW, kind, name, measure, month, value)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def redfin_measure(base: str, property_type: str, seasonally_adjusted: bool) -> str:
    """`median_sale_price` for all residential, not seasonally adjusted;
    `median_sale_price:condo_co_op` for a property type; `…:sa` when seasonally adjusted."""
    name = base if property_type in ("", REDFIN_ALL_TYPES) else f"{base}:{_slug(property_type)}"
    return f"{name}:sa" if seasonally_adjusted else name


def _redfin_region(row: dict[str, str]) -> tuple[str, str] | str:
    raw_kind = (row.get("region_type") or "").strip().lower()
    kind = _REDFIN_KINDS.get(raw_kind)
    if kind is None:
        return "unknown region_type"
    name = (row.get("region") or "").strip()
    if not name:
        return "missing region"
    if kind == "national":
        return kind, "United States"
    if kind == "zip":
        digits = name.removeprefix("Zip Code:").strip()
        return (kind, digits) if digits.isdigit() and len(digits) == 5 else "bad ZIP"
    if kind == "metro":
        return kind, metro_slug(name.removesuffix(" metro area")) or name
    return kind, name


def read_redfin(
    stream: IO[str], report: LoadReport, measures: Iterable[str] = REDFIN_MEASURES
) -> Iterator[SeriesPoint]:
    """Stream a Redfin market tracker TSV (see the module's docstring) as monthly points.

    Only monthly periods (`period_duration` 28 to 31 days) are series months; a row of another
    period (Redfin's weekly and 90-day files) is reported as `not a monthly period`. Raises
    UnreadableFile when `period_begin` or `region_type` is missing from the header."""
    reader = csv.reader(stream, delimiter="\t")
    header = next(reader, None)
    if header is None or not {"period_begin", "region_type"} <= set(header):
        raise UnreadableFile("not a Redfin market tracker: no period_begin or region_type column")
    wanted = [m for m in measures if m in header]
    for line, cells in enumerate(reader, start=2):
        report.rows += 1
        if len(cells) != len(header):
            report.reject("wrong number of columns", f"line {line}")
            continue
        row = dict(zip(header, cells, strict=True))
        month = parse_month(row["period_begin"])
        if month is None:
            report.reject("bad date", f"line {line}: period_begin {row['period_begin']!r}")
            continue
        duration = _number(row.get("period_duration") or "30")
        if duration is None or not 28 <= duration <= 31:
            report.reject("not a monthly period", f"line {line}: {row.get('period_duration')!r}")
            continue
        region = _redfin_region(row)
        if isinstance(region, str):
            report.reject(region, f"line {line}: {row.get('region', '')!r}")
            continue
        kind, name = region
        adjusted = (row.get("is_seasonally_adjusted") or "").strip().lower() in ("t", "true")
        property_type = (row.get("property_type") or "").strip()
        for base in wanted:
            value = _cell(report, row[base], f"line {line}, {base}")
            if value is None:
                continue
            measure = redfin_measure(base, property_type, adjusted)
            yield SeriesPoint(REDFIN, kind, name, measure, month, value)


def read_file(
    path: Path, fmt: str, report: LoadReport, measure: str | None = None
) -> Iterator[SeriesPoint]:
    """Stream `path` in format `fmt` ("zillow" or "redfin"), plain or gzip-compressed. For Zillow
    the measure is `measure` ("zhvi" or "zori") or, when None, the one the file's name gives.
    Raises UnreadableFile for an unknown format or measure, a Zillow file whose measure is
    neither given nor in its name, and a file that is not UTF-8 text (a spreadsheet, a corrupt
    archive)."""
    if fmt not in (ZILLOW, REDFIN):
        raise UnreadableFile(f"unknown format {fmt!r}: zillow or redfin")
    chosen = None
    if fmt == ZILLOW:
        if measure is not None and measure not in ZILLOW_MEASURES:
            raise UnreadableFile(f"unknown measure {measure!r}: zhvi or zori")
        chosen = measure or zillow_measure(path)
        if chosen is None:
            raise UnreadableFile(
                f"{path.name}: the name says neither zhvi nor zori; give --measure"
            )
    try:
        with open_text(path) as stream:
            if chosen is not None:
                yield from read_zillow(stream, chosen, report)
            else:
                yield from read_redfin(stream, report)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            f"{path.name}: not UTF-8 text (byte {exc.start}); a {fmt} file is a plain or"
            " gzip-compressed CSV/TSV"
        ) from exc
    except (gzip.BadGzipFile, EOFError, csv.Error) as exc:
        raise UnreadableFile(f"{path.name}: cannot be read as a {fmt} file ({exc})") from exc
