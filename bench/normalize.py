"""Normalization throughput on one core (DESIGN §7: ≥ 2,000 leads/s end to end).

Runs `normalize` over the King County sales (21,613 real rows, parts and coordinates given) and a
synthetic set that exercises the slow paths (one-line addresses through usaddress, phones in free
text, e-mails, no coordinates → ZIP centroid), then times each function on its own inputs.
Prints one JSON object. Usage: .venv/bin/python bench/normalize.py [--shared-data PATH]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiqleads.ingestion.normalize import address, coordinates, email, facts, money, phone
from aiqleads.ingestion.normalize.lead import NormalizedLead, normalize
from aiqleads.ingestion.records import RawRecord
from aiqleads.kit.h3cells import cells_for

NOW = datetime(2025, 6, 1, tzinfo=UTC)
DEFAULT_SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def king_county(path: Path) -> list[RawRecord]:
    with path.open(newline="") as f:
        return [
            RawRecord(
                source="kc_house_data",
                source_ref=row["id"] + ":" + row["date"],
                payload=row,
                kind="for_sale",
                price=row["price"],
                bedrooms=row["bedrooms"],
                bathrooms=row["bathrooms"],
                living_area=row["sqft_living"],
                lot_area=row["sqft_lot"],
                year_built=row["yr_built"],
                zip_code=row["zipcode"],
                state="WA",
                latitude=row["lat"],
                longitude=row["long"],
                listed_at=row["date"],
            )
            for row in csv.DictReader(f)
        ]


_STREETS = ["Main", "Oak", "Pine", "Cedar", "Elm", "Maple", "Lake", "Hill", "Sunset", "Park"]
_TYPES = ["Street", "Ave", "Road", "Drive", "Blvd", "Lane", "Court", "Way", "Pl", "Terrace"]
_DIRS = ["", "N.", "S.", "E.", "W.", "N.W.", "Northeast"]
_AREA_CODES = [206, 253, 360, 425, 564]
_ZIPS = ["98101", "98103", "98105", "98115", "98118", "98122", "98133", "98144", "98178"]


def synthetic(n: int, seed: int = 7) -> list[RawRecord]:
    """Craigslist/FSBO-like records: one-line address, phones in text, an e-mail, no point."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        line = (
            f"{rng.randint(1, 29999)} {rng.choice(_DIRS)} {rng.randint(1, 150)}th "
            f"{rng.choice(_TYPES)}{' Apt ' + str(rng.randint(1, 40)) if i % 4 == 0 else ''}, "
            f"Seattle, WA {rng.choice(_ZIPS)}"
        ).replace("  ", " ")
        # Seattle-area codes, and one in ten numbers with an area code that does not exist.
        area = rng.choice(_AREA_CODES) if i % 10 else rng.choice([111, 555, 999])
        mid = rng.randint(200, 999)
        records.append(
            RawRecord(
                source="synthetic",
                source_ref=str(i),
                payload={},
                kind="fsbo" if i % 3 else "for_rent",
                title=f"{rng.randint(1, 5)}br house by owner",
                description=f"Call or text {area}.{mid}.{rng.randint(1000, 9999)} / "
                f"{rng.choice(['tony', 'ann', 'li'])}{i}@example.com, no agents",
                price=f"${rng.randint(200, 2000) * 1000:,}"
                if i % 3
                else f"${rng.randint(9, 40)}00/mo",
                bedrooms=f"{rng.randint(1, 5)}br",
                bathrooms=f"{rng.randint(1, 4)}ba",
                living_area=f"{rng.randint(500, 4000)}ft2",
                address=line,
                phones=[f"({area}) {mid}-{rng.randint(1000, 9999)}"] if i % 2 else [],
                emails=[f"{rng.choice(['tony', 'ann'])}.{i}@Example.COM"]
                if i % 5
                else [f"abc{i}@hous.craigslist.org"],
                listed_at="2025-05-01 12:00",
            )
        )
    return records


def _time(fn: Callable[[Any], object], inputs: Iterable[Any]) -> dict[str, float]:
    items = list(inputs)
    start = time.perf_counter()
    for item in items:
        fn(item)
    seconds = time.perf_counter() - start
    return {
        "rows": len(items),
        "seconds": round(seconds, 4),
        "rows_per_s": round(len(items) / seconds),
    }


def _run(records: list[RawRecord], metro: str) -> dict[str, Any]:
    start = time.perf_counter()
    results = [normalize(r, metro=metro, now=NOW) for r in records]
    seconds = time.perf_counter() - start
    ok = sum(isinstance(r, NormalizedLead) for r in results)
    return {
        "rows": len(records),
        "accepted": ok,
        "rejected": len(records) - ok,
        "seconds": round(seconds, 4),
        "rows_per_s": round(len(records) / seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared-data", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--synthetic", type=int, default=20_000)
    args = parser.parse_args()

    start = time.perf_counter()
    coordinates.zip_centroid("98101")  # the one-off ZIP table load, reported on its own
    zip_load = time.perf_counter() - start

    kc = king_county(args.shared_data / "tabular" / "kc_house_data.csv")
    syn = synthetic(args.synthetic)
    # Distinct inputs for the per-function timings, so caches do not flatter them.
    distinct_phones = [f"(206) {200 + i % 800}-{i:04d}" for i in range(10_000)]
    distinct_emails = [f"user.{i}@example{i % 97}.com" for i in range(10_000)]
    distinct_lines = [r.address for r in synthetic(2_000, seed=11) if r.address is not None]

    report = {
        "zip_table_load_seconds": round(zip_load, 3),
        "overall": {
            "king_county": _run(kc, "seattle"),
            "synthetic_cold": _run(syn, "seattle"),
            "synthetic_warm_caches": _run(syn, "seattle"),
        },
        "functions": {
            "phone.to_e164 (distinct)": _time(phone.to_e164, distinct_phones),
            "phone.phones_in_text": _time(
                phone.phones_in_text, [r.description for r in syn[:5000]]
            ),
            "email.normalize_email (distinct)": _time(email.normalize_email, distinct_emails),
            "address.parse_address (distinct, commas)": _time(
                address.parse_address, distinct_lines
            ),
            "address.parse_address (distinct, usaddress)": _time(
                address.parse_address, [line.replace(",", "") + " " for line in distinct_lines]
            ),
            "address.normalize_street": _time(
                address.normalize_street, [f"{i} N.W. {i % 200}th Street" for i in range(10_000)]
            ),
            "money.parse_price": _time(money.parse_price, [r.price for r in kc]),
            "facts.parse_living_area": _time(facts.parse_living_area, [r.living_area for r in syn]),
            "coordinates.check_coordinates": _time(
                lambda r: coordinates.check_coordinates(r.latitude, r.longitude), kc
            ),
            "coordinates.zip_centroid": _time(coordinates.zip_centroid, [r.zip_code for r in kc]),
            # The cells the write path derives (leads.writes.derived_location).
            "h3cells.cells_for": _time(
                lambda r: cells_for(float(r.latitude), float(r.longitude)), kc
            ),
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
