"""A labelled pair set for the deduplication rules, built from the real King County sales, and
pairwise precision and recall of `matching.match_rule` on it.

Real pairs: homes of different King County ids within 30 m of each other (townhouses, lots split
in two: different homes the proximity rule must keep apart), and repeat sales of one id (the
same home sold again later: reported on their own, since a new sale is a new lead unless the
price is within the tolerance). Synthetic pairs perturb real records the way two sources or a
repost differ: a point moved by up to 25 m, a price changed, a typo in the street name, another
unit of the same building, the same owner phone with a coarse point.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from aiqleads.ingestion.matching import Listing, MatchPolicy, match_rule
from aiqleads.kit.distance import haversine_m


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
                ),
            )
        )
    return out


def _move(listing: Listing, metres: float, bearing: float) -> Listing:
    assert listing.latitude is not None and listing.longitude is not None
    dlat = metres * math.cos(bearing) / 111_195
    dlon = metres * math.sin(bearing) / (111_195 * math.cos(math.radians(listing.latitude)))
    return replace(listing, latitude=listing.latitude + dlat, longitude=listing.longitude + dlon)


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
    for _ in range(synthetic):
        _, home = homes[rng.randrange(len(homes))]
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
