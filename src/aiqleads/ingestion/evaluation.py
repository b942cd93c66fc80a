"""A labelled pair set for the deduplication rules, built from the real King County sales, and
pairwise precision and recall of `matching.match_rule` on it.

Real pairs: homes of different King County ids within 30 m of each other (townhouses, lots split
in two: different homes the proximity rule must keep apart), and repeat sales of one id (the
same home sold again later: reported on their own, since a new sale is a new lead unless the
price is within the tolerance). Synthetic pairs perturb real records the way two sources or a
repost differ: a point moved by up to 25 m, a price changed, a typo in the street name, another
unit of the same building, the same owner phone with a coarse point, and the facts as another
source states them (`_as_other_source`). Every King County listing carries its bedrooms,
bathrooms, living area, lot area and year built, so the neighbours that still match are those no
fact tells apart.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiqleads.ingestion.matching import Listing, MatchPolicy, match_rule
from aiqleads.ingestion.normalize.lead import NormalizedLead, normalize
from aiqleads.ingestion.records import RawRecord
from aiqleads.kit.distance import haversine_m

_NOW = datetime(2026, 6, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Pair:
    a: Listing
    b: Listing
    duplicate: bool
    category: str


def _listings(path: Path) -> list[tuple[str, Listing]]:
    with gzip.open(path, "rb") as raw:
        rows = list(csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline="")))
    out = []
    for n, r in enumerate(rows):
        key = f"{10 + n % 9000} {('ne 8th st', 'pine st', '45th ave sw')[n % 3]}||{r['zipcode']}"
        out.append(
            (
                r["id"],
                Listing(
                    address_key=key,
                    phone_hmac=f"phone-{r['id']}",
                    latitude=float(r["lat"]),
                    longitude=float(r["long"]),
                    exact=True,
                    bedrooms=int(float(r["bedrooms"])),
                    bathrooms=float(r["bathrooms"]),
                    asking_price_cents=round(float(r["price"]) * 100),
                    living_area_sqft=int(r["sqft_living"]),
                    lot_sqft=int(r["sqft_lot"]),
                    year_built=int(r["yr_built"]),
                ),
            )
        )
    return out


def _move(listing: Listing, metres: float, bearing: float) -> Listing:
    assert listing.latitude is not None and listing.longitude is not None
    dlat = metres * math.cos(bearing) / 111_195
    dlon = metres * math.sin(bearing) / (111_195 * math.cos(math.radians(listing.latitude)))
    return replace(listing, latitude=listing.latitude + dlat, longitude=listing.longitude + dlon)


def _above_grade(path: Path) -> dict[str, int]:
    """King County id → living area above grade (sqft_above: the basement left out)."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        return {r["id"]: int(r["sqft_above"]) for r in csv.DictReader(f)}


def _as_other_source(home: Listing, above_grade_sqft: int, rng: random.Random) -> Listing:
    """The home as another source states its facts: living area as given (70 %), rounded to
    50 sqft (20 %) or above grade only, the basement left out (10 %); the lot in square feet
    (half) or in acres to two decimals; the year built as given (80 %), missing (10 %) or a
    year off (10 %); the price within 4 %. These shares are a model of how listing sites
    differ, not measured ones."""
    assert home.living_area_sqft and home.lot_sqft and home.year_built and home.asking_price_cents
    roll = rng.random()
    if roll < 0.7:
        living = home.living_area_sqft
    elif roll < 0.9:
        living = round(home.living_area_sqft / 50) * 50
    else:
        living = above_grade_sqft
    lot = home.lot_sqft if rng.random() < 0.5 else round(round(home.lot_sqft / 43_560, 2) * 43_560)
    roll = rng.random()
    year = home.year_built if roll < 0.8 else None if roll < 0.9 else home.year_built + 1
    price = round(home.asking_price_cents * rng.uniform(0.96, 1.04))
    return replace(
        home, living_area_sqft=living, lot_sqft=lot, year_built=year, asking_price_cents=price
    )


def _typo(key: str, rng: random.Random) -> str:
    street, rest = key.split("|", 1)
    number, name = street.split(" ", 1)
    i = rng.randrange(len(name) - 1)
    swapped = name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    return f"{number} {swapped}|{rest}"


def _real_pairs(homes: list[tuple[str, Listing]]) -> Iterator[Pair]:
    cells: dict[tuple[int, int], list[tuple[str, Listing]]] = defaultdict(list)
    for home in homes:
        assert home[1].latitude is not None and home[1].longitude is not None
        cells[(round(home[1].latitude * 1000), round(home[1].longitude * 1000))].append(home)
    seen: set[tuple[str, str]] = set()
    for (y, x), group in cells.items():
        near = [
            h for dy in (-1, 0, 1) for dx in (-1, 0, 1) for h in cells.get((y + dy, x + dx), ())
        ]
        for id_a, a in group:
            for id_b, b in near:
                key = (min(id_a, id_b), max(id_a, id_b))
                if (
                    id_a == id_b
                    and a is not b
                    and key not in seen
                    and a.asking_price_cents != b.asking_price_cents
                ):
                    seen.add(key)
                    yield Pair(
                        a,
                        replace(b, phone_hmac=a.phone_hmac, address_key=a.address_key),
                        True,
                        "resale_same_home",
                    )
                if id_a >= id_b or key in seen:
                    continue
                assert a.latitude and a.longitude and b.latitude and b.longitude
                if haversine_m(a.latitude, a.longitude, b.latitude, b.longitude) < 30:
                    seen.add(key)
                    yield Pair(a, replace(b, address_key=None), False, "neighbours_within_30m")


def labelled_pairs(path: Path, *, synthetic: int = 2000, seed: int = 7) -> list[Pair]:
    homes = _listings(path)
    rng = random.Random(seed)
    pairs = list(_real_pairs(homes))
    above = _above_grade(path)
    for _ in range(synthetic):
        id_, home = homes[rng.randrange(len(homes))]
        bearing = rng.uniform(0, 2 * math.pi)
        other = replace(home, phone_hmac=None, address_key=None)
        assert home.asking_price_cents is not None and home.address_key is not None
        pairs += [
            Pair(home, _move(other, rng.uniform(1, 25), bearing), True, "moved_point"),
            Pair(
                home,
                replace(
                    _move(other, rng.uniform(1, 20), bearing),
                    asking_price_cents=round(home.asking_price_cents * rng.uniform(0.96, 1.04)),
                ),
                True,
                "moved_point_price_change",
            ),
            Pair(
                home,
                replace(home, asking_price_cents=round(home.asking_price_cents * 1.1)),
                True,
                "repost_price_change",
            ),
            Pair(
                home,
                _move(replace(home, address_key=_typo(home.address_key, rng)), 10, bearing),
                True,
                "street_typo",
            ),
            Pair(
                home,
                _as_other_source(_move(other, rng.uniform(1, 25), bearing), above[id_], rng),
                True,
                "other_source_facts",
            ),
            Pair(
                home,
                replace(
                    home,
                    latitude=home.latitude and round(home.latitude, 1),
                    exact=False,
                    address_key=None,
                ),
                True,
                "same_phone_zip_centroid",
            ),
            Pair(
                replace(home, address_key=home.address_key.replace("||", "|1|")),
                replace(home, address_key=home.address_key.replace("||", "|2|"), phone_hmac=None),
                False,
                "other_unit_same_building",
            ),
            Pair(
                home,
                replace(_move(other, rng.uniform(40, 150), bearing)),
                False,
                "house_40_150m_away",
            ),
        ]
    return pairs


@dataclass(frozen=True, slots=True)
class Scores:
    pairs: int
    precision: float
    recall: float
    by_category: dict[str, dict[str, int]]


def evaluate(pairs: list[Pair], policy: MatchPolicy) -> Scores:
    tp = fp = fn = 0
    cats: dict[str, Counter[str]] = defaultdict(Counter)
    for pair in pairs:
        predicted = match_rule(pair.a, pair.b, policy) is not None
        cats[pair.category]["pairs"] += 1
        cats[pair.category]["matched"] += predicted
        tp += predicted and pair.duplicate
        fp += predicted and not pair.duplicate
        fn += pair.duplicate and not predicted
    return Scores(
        pairs=len(pairs),
        precision=round(tp / (tp + fp), 4) if tp + fp else 1.0,
        recall=round(tp / (tp + fn), 4) if tp + fn else 1.0,
        by_category={k: dict(v) for k, v in sorted(cats.items())},
    )


# --- addresses written differently across sources ---------------------------------------------

# Street names, suffixes and highway forms as US listings write them; the pairs below write one
# home the way two sources do (one as parts, one as a one-line address), through normalize.
_NAMES = (
    "Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park",
    "Sunset", "Lincoln", "Jackson", "Highland", "Rainbow", "Desert Rose", "Kimball",
    "Las Vegas", "Vickery", "Sage", "Willow", "Meadow", "Ridge", "Canyon", "Summit",
)  # fmt: skip
_SUFFIXES = (("Street", "St"), ("Avenue", "Ave"), ("Boulevard", "Blvd"), ("Drive", "Dr"),
             ("Road", "Rd"), ("Lane", "Ln"), ("Court", "Ct"), ("Parkway", "Pkwy"),
             ("Circle", "Cir"), ("Place", "Pl"), ("Terrace", "Ter"), ("Way", "Way"))  # fmt: skip
_DIRECTIONS = (("North", "N"), ("South", "S"), ("East", "E"), ("West", "W"),
               ("Northwest", "NW"), ("Southeast", "SE"))  # fmt: skip
_HIGHWAYS = (
    ("Highway {n}", "Hwy {n}"), ("State Route {n}", "SR-{n}"), ("US Highway {n}", "US-{n}"),
    ("Farm to Market Road {n}", "FM {n}"), ("County Road {n}", "CR {n}"),
    ("State Highway {n}", "SH {n}"), ("Interstate {n}", "IH-{n}"),
)  # fmt: skip
_UNITS = (("Apartment {u}", "#{u}"), ("Unit {u}", "Apt {u}"), ("Suite {u}", "Ste {u}"),
          ("#{u}", "Unit {u}"))  # fmt: skip
_CITY = ("Las Vegas", "NV", "89102")


def _written_pair(rng: random.Random) -> tuple[str, str, str]:
    """One street written two ways, and what differs ("suffix", "directional", …)."""
    number = str(rng.randint(10, 19999))
    what = rng.choice(("suffix", "directional_position", "highway", "unit", "case"))
    name = rng.choice(_NAMES)
    long_suffix, short_suffix = rng.choice(_SUFFIXES)
    long_dir, short_dir = rng.choice(_DIRECTIONS)
    if what == "suffix":
        return f"{number} {name} {long_suffix}", f"{number} {name} {short_suffix}", what
    if what == "directional_position":
        a = f"{number} {long_dir} {name} {long_suffix}"
        return a, f"{number} {name} {short_suffix} {short_dir}", what
    if what == "highway":
        n = rng.randint(1, 999)
        long_form, short_form = rng.choice(_HIGHWAYS)
        return f"{number} {long_form.format(n=n)}", f"{number} {short_form.format(n=n)}", what
    if what == "unit":
        u = rng.choice((str(rng.randint(1, 2400)), f"{rng.randint(1, 30)}{rng.choice('ABCD')}"))
        long_unit, short_unit = rng.choice(_UNITS)
        base = f"{number} {short_dir} {name} {short_suffix}"
        return f"{base} {long_unit.format(u=u)}", f"{base} {short_unit.format(u=u)}", what
    upper = f"{number} {short_dir}. {name} {long_suffix}".upper()
    return upper, f"{number} {short_dir} {name} {short_suffix}", what


def _different(street: str, what: str, rng: random.Random) -> str:
    """Another home on the same street: the next house number, another unit, or the other
    side of the street's origin."""
    number, rest = street.split(" ", 1)
    if what == "unit" and any(m in rest for m in ("#", "Apt", "Unit", "Ste", "Suite")):
        return re.sub(r"(\d+)([A-D]?)$", lambda m: str(int(m.group(1)) + 1) + m.group(2), street)
    if rng.random() < 0.5:
        return f"{int(number) + 2} {rest}"
    for long_dir, short_dir in _DIRECTIONS:
        for word in (f" {short_dir} ", f" {long_dir} ", f" {short_dir}. ".upper()):
            if word in f" {rest} ":
                other = "S" if short_dir != "S" else "N"
                return f"{number} {f' {rest} '.replace(word, f' {other} ', 1).strip()}"
    return f"{int(number) + 2} {rest}"


def _listing_from(street: str, *, one_line: bool, source: str) -> Listing | None:
    city, state, zip5 = _CITY
    if one_line:
        record = RawRecord(source, "1", {}, address=f"{street}, {city}, {state} {zip5}")
    else:
        record = RawRecord(source, "1", {}, street=street, city=city, state=state, zip_code=zip5)
    lead = normalize(record, now=_NOW)
    if not isinstance(lead, NormalizedLead):
        return None
    return Listing(lead.address_key, None, None, None, False, 3, 2.0, 40_000_000)


def address_pairs(*, n: int = 2000, seed: int = 11) -> list[Pair]:
    """Pairs of one home written two ways by two sources (duplicates, by what differs) and of
    two homes on one street (not duplicates), each side through `normalize` as its source
    would give it (one as street/city/state/ZIP fields, one as a one-line address)."""
    rng = random.Random(seed)
    out: list[Pair] = []
    for _ in range(n):
        a_text, b_text, what = _written_pair(rng)
        a = _listing_from(a_text, one_line=False, source="zillow")
        b = _listing_from(b_text, one_line=True, source="realtor")
        other = _listing_from(_different(b_text, what, rng), one_line=True, source="realtor")
        if a is not None and b is not None:
            out.append(Pair(a, b, True, f"same_home_{what}"))
        if a is not None and other is not None:
            out.append(Pair(a, other, False, f"other_home_{what}"))
    return out


def field_case_pairs(folder: Path) -> list[Pair]:
    """The field cases' pairs across sources (C12: Zillow and Realtor.com write two homes
    differently), through the real parsers and `normalize`."""
    from aiqleads.ingestion.parsers import realtor, zillow

    def listings(parse: Any, name: str) -> list[Listing]:
        out = []
        for record in parse((folder / name).read_bytes()):
            lead = normalize(record, metro="las_vegas", now=_NOW)
            if isinstance(lead, NormalizedLead):
                out.append(
                    Listing(
                        lead.address_key,
                        None,
                        lead.latitude,
                        lead.longitude,
                        lead.geocode_precision == "exact",
                        lead.bedrooms,
                        lead.bathrooms,
                        lead.asking_price_cents,
                        lead.living_area_sqft,
                        lead.lot_sqft,
                        lead.year_built,
                    )
                )
        return out

    a = listings(zillow.parse, "C12a_zillow_search_address_variant_A.json")
    b = listings(realtor.parse, "C12b_realtor_search_address_variant_B.json")
    pairs = [Pair(x, y, True, "field_case_c12") for x, y in zip(a, b, strict=True)]
    pairs += [Pair(a[0], b[1], False, "field_case_c12_other_home")]
    pairs += [Pair(a[1], b[0], False, "field_case_c12_other_home")]
    return pairs
