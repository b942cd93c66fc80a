"""Readers of the two public implicit-feedback data sets the evaluator is checked on.

- Inside Airbnb reviews as packaged by Trane (`trane/datasets/data/airbnb_reviews/
  airbnb_reviews.csv`, CC BY 4.0; columns `listing_id,id,date,reviewer_id,location,rating`): a
  review says its reviewer stayed at the listing, the nearest thing to a purchase, so each row
  is a PURCHASE of `listing_id` by `reviewer_id` at midnight UTC of `date`. Rows are ordered
  by (date, id), Trane's time index and primary key, so ties of a day break by review id.
- OTTO's recommender data set sessions (otto-de/recsys-dataset, JSON lines `{"session",
  "events": [{"aid", "ts" (epoch ms), "type"}]}`; CC BY 4.0): a session is the user; clicks,
  carts and orders map to VIEW, HOLD and PURCHASE; `at` = ts / 1000.

Both accept a plain or gzip-compressed file (by the `.gz` suffix). ValueError names the line of
a malformed row.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import numpy as np

from aiqleads.recommend.evaluation.data import Interactions, Kind

OTTO_KINDS = {"clicks": Kind.VIEW, "carts": Kind.HOLD, "orders": Kind.PURCHASE}


@contextmanager
def _text(path: Path) -> Iterator[IO[str]]:
    with (
        gzip.open(path, "rt", encoding="utf-8", newline="")
        if path.suffix == ".gz"
        else path.open(encoding="utf-8", newline="")
    ) as f:
        yield f


def load_airbnb_reviews(path: Path) -> Interactions:
    """Trane's Inside Airbnb reviews as purchases (see the module docstring), in (date, id)
    order."""
    rows: list[tuple[str, int, int, int]] = []
    with _text(path) as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            try:
                rows.append(
                    (row["date"], int(row["id"]), int(row["reviewer_id"]), int(row["listing_id"]))
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path.name} line {line}: not a review row ({exc})") from exc
    rows.sort()
    days: dict[str, float] = {}
    for day, *_ in rows:
        if day not in days:
            try:
                days[day] = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
            except ValueError as exc:
                raise ValueError(f"{path.name}: not a YYYY-MM-DD date: {day!r}") from exc
    return Interactions(
        np.array([r[2] for r in rows], dtype=np.int64),
        np.array([r[3] for r in rows], dtype=np.int64),
        np.full(len(rows), Kind.PURCHASE, dtype=np.int8),
        np.array([days[r[0]] for r in rows], dtype=np.float64),
    )


def load_otto_sessions(path: Path) -> Interactions:
    """OTTO sessions as interactions (see the module docstring), in file order."""
    users: list[int] = []
    items: list[int] = []
    kinds: list[int] = []
    ats: list[float] = []
    with _text(path) as f:
        for line, text in enumerate(f, start=1):
            if not text.strip():
                continue
            try:
                session = json.loads(text)
                for event in session["events"]:
                    users.append(int(session["session"]))
                    items.append(int(event["aid"]))
                    kinds.append(OTTO_KINDS[event["type"]])
                    ats.append(int(event["ts"]) / 1000)
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path.name} line {line}: not an OTTO session ({exc!r})") from exc
    return Interactions(
        np.array(users, dtype=np.int64),
        np.array(items, dtype=np.int64),
        np.array(kinds, dtype=np.int8),
        np.array(ats, dtype=np.float64),
    )
