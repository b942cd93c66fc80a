"""Profiles and drift, on made-up counts (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aiqleads.config import SourceMonitorSettings
from aiqleads.sources.profile import Profile, build, compare

T = datetime(2026, 6, 1, tzinfo=UTC)
MONITOR = SourceMonitorSettings(min_records=10)


def profile(
    *,
    leads: int = 100,
    phones: int = 80,
    zip_only: int = 5,
    prices: list[int] | None = None,
    quarantine: dict[str, int] | None = None,
) -> Profile:
    return build(
        "craigslist",
        computed_at=T,
        window_start=T,
        leads=leads,
        present={"owner_phone": phones, "asking_price": leads},
        zip_only=zip_only,
        prices_cents=prices if prices is not None else [100_000 * (i + 1) for i in range(leads)],
        quarantined_by_reason=quarantine or {},
    )


def test_a_profile_counts_shares_percentiles_and_reasons() -> None:
    p = profile(leads=10, phones=4, zip_only=1, quarantine={"price_missing": 5, "no_address": 5})
    assert p.fields["owner_phone"] == 0.4
    assert p.fields["zip_only"] == 0.1
    assert p.fields["quarantined"] == 0.5
    assert p.fields["quarantine:price_missing"] == 0.25
    # numpy's linear percentiles of 1..10 (x 100,000 cents): p50 = 5.5
    assert p.fields["price_p50"] == 550_000
    assert p.coverage["asking_price"] == 1.0 and p.coverage["owner_email"] == 0.0


def test_the_same_profile_does_not_drift() -> None:
    report = compare(profile(), profile(), MONITOR)
    assert report.sufficient and not report.drifted
    assert all(d.drift == 0 for d in report.drifts)


@pytest.mark.parametrize(
    ("changed", "field"),
    [
        (profile(phones=40), "owner_phone"),
        (profile(zip_only=60), "zip_only"),
        (profile(prices=[200_000 * (i + 1) for i in range(100)]), "price_p50"),
        (profile(quarantine={"price_missing": 50}), "quarantine:price_missing"),
    ],
)
def test_each_key_field_drifts_past_its_threshold(changed: Profile, field: str) -> None:
    report = compare(changed, profile(), MONITOR)
    assert report.drifted
    assert field in {d.field for d in report.drifts if d.exceeded}


def test_prices_drift_by_ratio_either_way() -> None:
    base = profile()
    halved = compare(profile(prices=[50_000 * (i + 1) for i in range(100)]), base, MONITOR)
    a_bit = compare(profile(prices=[120_000 * (i + 1) for i in range(100)]), base, MONITOR)
    [p50] = [d for d in halved.drifts if d.field == "price_p50"]
    assert p50.exceeded and p50.drift == pytest.approx(1.0)  # log2(2): halved
    assert not a_bit.drifted  # 1.2 times is within 1.5


def test_nothing_is_judged_without_a_baseline_or_on_too_few_leads() -> None:
    assert not compare(profile(), None, MONITOR).drifted
    few = compare(profile(leads=5, phones=0, prices=[1]), profile(), MONITOR)
    assert few.sufficient and not few.drifted  # lead fields need 10 leads
    thin_base = compare(profile(phones=0), profile(leads=5, phones=5), MONITOR)
    assert not thin_base.sufficient and not thin_base.drifted
