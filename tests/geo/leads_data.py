"""Real point sets as leads in the test database: King County sales and Craigslist rentals.

The King County sales and the Seattle rentals are bundled (see tests/geo/conftest.py); the Dallas
rentals come from ../shared/data, and a test using them must carry the `shared_data` mark
(`RENTAL_SETS` does), since reading them skips the test when the folder is absent.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.kit.crypto import FieldCipher
from aiqleads.sample.sources import KING_COUNTY_SALES
from tests.factories import insert_leads, lead_row
from tests.geo.points import dallas_rental_rows, seattle_rental_posts

BATCH = 2000


def king_county_rows(
    settings: Settings,
    cipher: FieldCipher,
    *,
    now: datetime,
    every: int = 1,
    limit: int | None = None,
    **overrides: Any,
) -> list[dict[str, Any]]:
    """Every `every`-th real sale (file order) as an available for-sale lead at its point."""
    with gzip.open(KING_COUNTY_SALES, "rt", newline="", encoding="utf-8") as fh:
        raw = list(csv.DictReader(fh))[::every][:limit]
    return [
        lead_row(
            settings,
            cipher,
            now=now,
            source="kc_test",
            source_ref=f"kc-{i}-{r['id']}",  # ids repeat when a house sold twice
            latitude=float(r["lat"]),
            longitude=float(r["long"]),
            zip_code=r["zipcode"],
            asking_price_cents=round(float(r["price"]) * 100),  # "1.23E+06" included
            **overrides,
        )
        for i, r in enumerate(raw)
    ]


def _rental_row(
    settings: Settings,
    cipher: FieldCipher,
    *,
    now: datetime,
    ref: str,
    city: str,
    state: str,
    lat: str,
    lon: str,
    rent: str,
    **overrides: Any,
) -> dict[str, Any]:
    rent = rent.replace("$", "").replace(",", "").strip()
    return lead_row(
        settings,
        cipher,
        now=now,
        source="cl_test",
        source_ref=f"cl-{ref}",
        kind="for_rent",
        city=city,
        state=state,
        zip_code=None,
        latitude=float(lat),
        longitude=float(lon),
        asking_price_cents=None if rent in {"", "NA"} else round(float(rent) * 100),
        **overrides,
    )


def seattle_rental_rows(
    settings: Settings, cipher: FieldCipher, *, now: datetime, **overrides: Any
) -> list[dict[str, Any]]:
    """The 69 geocoded Seattle Craigslist posts of June 2014 as for-rent leads (monthly rent)."""
    return [
        _rental_row(
            settings,
            cipher,
            now=now,
            ref=str(p["PostingID"]),
            city="Seattle",
            state="WA",
            lat=str(p["Latitude"]),
            lon=str(p["Longitude"]),
            rent=str(p["Ask"]),
            **overrides,
        )
        for p in seattle_rental_posts()
    ]


def dallas_rows(
    settings: Settings, cipher: FieldCipher, *, now: datetime, **overrides: Any
) -> list[dict[str, Any]]:
    """The real Dallas Craigslist rental posts as for-rent leads (price = monthly rent).
    Reads ../shared/data: skips the calling test when it is absent."""
    return [
        _rental_row(
            settings,
            cipher,
            now=now,
            ref=r["post_id"],
            city="Dallas",
            state="TX",
            lat=r["latitude"],
            lon=r["longitude"],
            rent=r["price"],
            **overrides,
        )
        for r in dallas_rental_rows()
        if r["latitude"] not in {"", "NA"} and r["longitude"] not in {"", "NA"}
    ]


@dataclass(frozen=True)
class RentalSet:
    """A set of real rental posts, the metro they are from, how many of them lie in that metro's
    box (counted from the file), and a box inside it that holds some of them
    (min_lon,min_lat,max_lon,max_lat)."""

    name: str
    metro: str
    in_metro: int
    bbox: str

    def rows(
        self, settings: Settings, cipher: FieldCipher, *, now: datetime, **overrides: Any
    ) -> list[dict[str, Any]]:
        read = seattle_rental_rows if self.name == "seattle_2014" else dallas_rows
        return read(settings, cipher, now=now, **overrides)


# Seattle: 68 of the 69 posts (one is in Olympia); Dallas: 429 of the 431.
SEATTLE_2014 = RentalSet("seattle_2014", "seattle", 68, "-122.36,47.58,-122.28,47.65")
DALLAS_2022 = RentalSet("dallas_2022", "dallas", 429, "-97.2,32.6,-96.5,33.1")

RENTALS = {s.name: s for s in (SEATTLE_2014, DALLAS_2022)}

# For @pytest.mark.parametrize: the bundled set, and the shared one marked as such.
RENTAL_SETS = [
    pytest.param(SEATTLE_2014, id="seattle_2014"),
    pytest.param(DALLAS_2022, id="dallas_2022", marks=pytest.mark.shared_data),
]


async def load(sessions: async_sessionmaker[AsyncSession], rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        await insert_leads(sessions, rows[start : start + BATCH])
