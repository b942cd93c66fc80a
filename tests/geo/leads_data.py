"""Real point sets as leads in the test database: King County sales and Dallas rentals."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.kit.crypto import FieldCipher
from tests.factories import insert_leads, lead_row

BATCH = 2000


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def king_county_rows(
    shared_data: Path,
    settings: Settings,
    cipher: FieldCipher,
    *,
    now: datetime,
    every: int = 1,
    limit: int | None = None,
    **overrides: Any,
) -> list[dict[str, Any]]:
    """Every `every`-th real sale (file order) as an available for-sale lead at its point."""
    raw = _read(shared_data / "tabular" / "kc_house_data.csv")[::every][:limit]
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
            asking_price_cents=round(float(r["price"]) * 100),
            **overrides,
        )
        for i, r in enumerate(raw)
    ]


def dallas_rows(
    shared_data: Path, settings: Settings, cipher: FieldCipher, *, now: datetime, **overrides: Any
) -> list[dict[str, Any]]:
    """The real Dallas Craigslist rental posts as for-rent leads (price = monthly rent)."""
    raw = _read(shared_data / "tabular" / "craigslist_housing_asl7168" / "dallas_complete.csv")
    out = []
    for r in raw:
        if r["latitude"] in {"", "NA"} or r["longitude"] in {"", "NA"}:
            continue
        rent = r["price"].replace("$", "").replace(",", "").strip()
        out.append(
            lead_row(
                settings,
                cipher,
                now=now,
                source="cl_test",
                source_ref=f"cl-{r['post_id']}",
                kind="for_rent",
                city="Dallas",
                state="TX",
                zip_code=None,
                latitude=float(r["latitude"]),
                longitude=float(r["longitude"]),
                asking_price_cents=None if rent in {"", "NA"} else round(float(rent) * 100),
                **overrides,
            )
        )
    return out


async def load(sessions: async_sessionmaker[AsyncSession], rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        await insert_leads(sessions, rows[start : start + BATCH])
