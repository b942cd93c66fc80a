"""Real point sets for the geo tests, read from bundled copies (and one from ../shared/data).

- `read_king_county`: the 21,613 King County sales bundled in the package (2014-15, CC0).
- `read_seattle_rentals`, `read_dallas_rentals`: real rental posts of two differently shaped
  cities: the 69 geocoded Seattle Craigslist posts of June 2014 copied in
  tests/fixtures/listings/craigslist (MIT; most within a few km of downtown, one in Olympia,
  outside the metro), and the 431 Dallas Craigslist posts of 2022 from ../shared/data (spread over
  the DFW counties; no licence stated, so not copied: reading them skips the calling test when
  the folder is absent).
"""

from __future__ import annotations

import csv
import gzip
import json
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from aiqleads.sample.sources import KING_COUNTY_SALES
from tests import shared_data

SEATTLE_RENTALS = ("listings", "craigslist", "apa_seattle_2014_jsonsearch.json")
DALLAS_RENTALS = ("tabular", "craigslist_housing_asl7168", "dallas_complete.csv")


@dataclass(frozen=True)
class Points:
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    price: NDArray[np.float64]  # NaN where the record gives none
    zipcode: list[str]


def _number(text: str) -> float:
    cleaned = text.replace("$", "").replace(",", "").strip()
    return float(cleaned) if cleaned not in {"", "NA"} else float("nan")


def read_king_county() -> Points:
    with gzip.open(KING_COUNTY_SALES, "rt", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return Points(
        lat=np.array([float(r["lat"]) for r in rows]),
        lon=np.array([float(r["long"]) for r in rows]),
        # Sales of $1M or more are written like 1.23E+06 in this file: float() reads them.
        price=np.array([_number(r["price"]) for r in rows]),
        zipcode=[r["zipcode"] for r in rows],
    )


def seattle_rental_posts() -> list[dict[str, object]]:
    """The posting rows of the 2014 /jsonsearch/apa response; the other rows are geoclusters,
    which carry no asking rent."""
    items, _meta = json.loads(shared_data.fixture_path(*SEATTLE_RENTALS).read_bytes())
    posts: list[dict[str, object]] = [item for item in items if "Ask" in item]
    return posts


def read_seattle_rentals() -> Points:
    posts = seattle_rental_posts()
    return Points(
        lat=np.array([float(str(p["Latitude"])) for p in posts]),
        lon=np.array([float(str(p["Longitude"])) for p in posts]),
        price=np.array([_number(str(p["Ask"])) for p in posts]),
        zipcode=[],
    )


def dallas_rental_rows() -> list[dict[str, str]]:
    """The Dallas posts from ../shared/data; skips the test when that file is absent."""
    path = shared_data.shared_path(*DALLAS_RENTALS)
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def read_dallas_rentals() -> Points:
    rows = dallas_rental_rows()
    return Points(
        lat=np.array([float(r["latitude"]) for r in rows]),
        lon=np.array([float(r["longitude"]) for r in rows]),
        price=np.array([_number(r["price"]) for r in rows]),
        zipcode=[],
    )
