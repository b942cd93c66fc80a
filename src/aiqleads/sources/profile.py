"""A source's profile and its drift from a baseline: pure functions, no database.

A profile describes the records a source gave in a window: how many leads it stored or changed
and how many records went to the quarantine; the coverage of each lead field (the share of
leads that have it); and the key fields whose movement betrays a changed layout or a parser
fault:

* `owner_phone`: share of leads with an owner phone (what is sold);
* `zip_only`: share of leads located only by their ZIP's centroid (coordinates lost);
* `price_p10`, `price_p50`, `price_p90`: asking-price percentiles in cents (linear
  interpolation between closest ranks, numpy's default), any period;
* `quarantined`: share of the source's records put in the quarantine, and
  `quarantine:<reason>` the share per reason code.

Drift (`compare`) is, for a share, the absolute difference from the baseline (0-1); for a price
percentile, |log2(latest / baseline)| (1.0: doubled or halved). A field drifted when that
exceeds its threshold: `share_threshold`, or log2(`price_ratio_threshold`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from aiqleads.config import SourceMonitorSettings

# Lead fields whose coverage a profile reports (name → what it counts).
COVERAGE_FIELDS = (
    "asking_price",
    "bedrooms",
    "bathrooms",
    "living_area_sqft",
    "street_address",
    "zip_code",
    "exact_location",
    "owner_name",
    "owner_phone",
    "owner_email",
    "listed_at",
)
PRICE_FIELDS = ("price_p10", "price_p50", "price_p90")
SHARE_FIELDS = ("owner_phone", "zip_only", "quarantined")
QUARANTINE_PREFIX = "quarantine:"


@dataclass(frozen=True)
class Profile:
    source: str
    computed_at: datetime
    window_start: datetime
    leads: int  # leads stored or changed by the source in the window
    quarantined: int  # the source's records quarantined in the window
    fields: dict[str, float | None]  # key fields (see the module docstring)
    coverage: dict[str, float] = field(default_factory=dict)  # COVERAGE_FIELDS → share

    @property
    def records(self) -> int:
        return self.leads + self.quarantined


@dataclass(frozen=True)
class FieldDrift:
    field: str
    baseline: float | None
    latest: float | None
    drift: float | None  # None: one side has no value (no prices at all, say)
    threshold: float
    exceeded: bool


@dataclass(frozen=True)
class SourceReport:
    source: str
    latest: Profile
    baseline: Profile | None
    drifts: list[FieldDrift]
    # False when either profile has fewer than `min_records` records: nothing is judged.
    sufficient: bool

    @property
    def drifted(self) -> bool:
        return any(d.exceeded for d in self.drifts)

    def as_dict(self) -> dict[str, Any]:
        def profile(p: Profile | None) -> dict[str, Any] | None:
            if p is None:
                return None
            return {
                "computed_at": p.computed_at.isoformat(),
                "window_start": p.window_start.isoformat(),
                "leads": p.leads,
                "quarantined": p.quarantined,
                "fields": p.fields,
                "coverage": p.coverage,
            }

        return {
            "source": self.source,
            "drifted": self.drifted,
            "sufficient": self.sufficient,
            "latest": profile(self.latest),
            "baseline": profile(self.baseline),
            "drifts": [d.__dict__ for d in self.drifts],
        }


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def build(
    source: str,
    *,
    computed_at: datetime,
    window_start: datetime,
    leads: int,
    present: Mapping[str, int],
    zip_only: int,
    prices_cents: list[int],
    quarantined_by_reason: Mapping[str, int],
) -> Profile:
    """The profile of `leads` leads of which `present[f]` have coverage field f, `zip_only`
    are located by ZIP centroid, with these asking prices, plus the quarantined records by
    reason code."""
    quarantined = sum(quarantined_by_reason.values())
    records = leads + quarantined
    fields: dict[str, float | None] = {
        "owner_phone": _share(present.get("owner_phone", 0), leads),
        "zip_only": _share(zip_only, leads),
        "quarantined": _share(quarantined, records),
    }
    if prices_cents:
        p10, p50, p90 = np.percentile(np.asarray(prices_cents, dtype=float), [10, 50, 90])
        fields.update(price_p10=float(p10), price_p50=float(p50), price_p90=float(p90))
    else:
        fields.update(price_p10=None, price_p50=None, price_p90=None)
    for reason, count in sorted(quarantined_by_reason.items()):
        fields[QUARANTINE_PREFIX + reason] = _share(count, records)
    coverage = {name: present.get(name, 0) / leads if leads else 0.0 for name in COVERAGE_FIELDS}
    return Profile(source, computed_at, window_start, leads, quarantined, fields, coverage)


def _drift(
    name: str, base: float | None, latest: float | None, settings: SourceMonitorSettings
) -> FieldDrift:
    if name in PRICE_FIELDS:
        threshold = math.log2(settings.price_ratio_threshold)
        drift = (
            abs(math.log2(latest / base))
            if base is not None and latest is not None and base > 0 and latest > 0
            else None
        )
    else:
        threshold = settings.share_threshold
        # A reason one side never saw counts as a share of 0 there.
        if name.startswith(QUARANTINE_PREFIX):
            base, latest = base or 0.0, latest or 0.0
        drift = abs(latest - base) if base is not None and latest is not None else None
    return FieldDrift(name, base, latest, drift, threshold, drift is not None and drift > threshold)


def compare(
    latest: Profile, baseline: Profile | None, settings: SourceMonitorSettings
) -> SourceReport:
    """Each key field of `latest` against `baseline`.

    Nothing is judged without a baseline of at least `settings.min_records` records, nor on a
    latest profile without any record. The lead fields (owner phone, ZIP-only, prices) need
    `min_records` leads in the latest profile too; the quarantine shares need only a record, so
    a layout change that sends the source's whole file to the quarantine (one record: the
    document) is seen at once."""
    if baseline is None:
        return SourceReport(latest.source, latest, None, [], sufficient=False)
    sufficient = baseline.records >= settings.min_records and latest.records > 0
    leads_enough = latest.leads >= settings.min_records
    names = [*SHARE_FIELDS, *PRICE_FIELDS]
    names += sorted(
        {n for n in (*latest.fields, *baseline.fields) if n.startswith(QUARANTINE_PREFIX)}
    )
    drifts = []
    for name in names:
        d = _drift(name, baseline.fields.get(name), latest.fields.get(name), settings)
        judged = sufficient and (
            leads_enough or name == "quarantined" or name.startswith(QUARANTINE_PREFIX)
        )
        if not judged and d.exceeded:
            d = FieldDrift(d.field, d.baseline, d.latest, d.drift, d.threshold, False)
        drifts.append(d)
    return SourceReport(latest.source, latest, baseline, drifts, sufficient)
