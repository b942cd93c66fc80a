"""Scam and spam signals: named features, each with its evidence, pure.

Rental and sale scams on classified sites follow a few patterns (the FTC's and the FBI IC3's
warnings about rental listing scams name them: a price far below the going rate, payment by wire
or gift card, an owner who is abroad and cannot show the home, contact only by e-mail, the same
ad reposted with another city). Each pattern is one signal here, with a weight from the settings;
the screening stage adds the weights of the signals a lead shows, and at or above the threshold
the lead is withheld from sale with its signals as the reasons, until an admin releases it.
No single signal reaches the default threshold: it takes two of them.

Signals and their evidence:

* `price_far_below_median`: the price (per month for rents) is under `price_ratio` × the median
  of at least `min_comparables` leads of its kind (rent or sale) in its H3 resolution-7 cell;
* `payment_wire_or_gift_card`: the text asks for a wire transfer, Western Union, MoneyGram, gift
  cards or crypto;
* `owner_abroad`: the text says the owner is abroad or overseas, or will mail the keys;
* `email_only_free_provider`: no phone; the only contact is an e-mail at a free provider;
* `phone_on_many_listings`: the same owner phone is on listings in `phone_min_cities` cities;
* `copied_text_across_cities`: the same description (fingerprint) is on a listing in another
  city.
"""

from __future__ import annotations

import bisect
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from aiqleads.config import ScreeningSettings

_WIRE_RE = re.compile(
    r"\b(?:wire\s+transfer|wire\s+(?:me\s+)?(?:the\s+)?(?:money|funds|deposit|payment|rent)|"
    r"western\s+union|money\s*gram|gift\s*cards?|itunes\s+cards?|google\s+play\s+cards?|"
    r"steam\s+cards?|bitcoin|btc|cryptocurrency|crypto\s+payment|"
    r"cashier'?s\s+check\s+(?:by\s+mail|overnight)|pay\s+(?:the\s+)?deposit\s+before\s+"
    r"(?:viewing|seeing|the\s+showing))\b",
    re.IGNORECASE,
)
_ABROAD_RE = re.compile(
    r"\b(?:(?:i|we)\s*(?:am|'m|are|'re)\s+(?:currently\s+|now\s+)?(?:out\s+of\s+the\s+country|"
    r"abroad|overseas|on\s+(?:a\s+)?(?:mission|missionary\s+trip)|deployed|working\s+"
    r"(?:abroad|overseas|offshore))|(?:relocated|moved|transferred)\s+(?:abroad|overseas|out\s+"
    r"of\s+the\s+country)|missionary\s+work|keys?\s+(?:will\s+be\s+)?(?:mailed|shipped|sent|"
    r"couriered)\s+to\s+you|can(?:not|'t)\s+show\s+(?:you\s+)?the\s+(?:house|home|property|"
    r"apartment|unit))\b",
    re.IGNORECASE,
)
FREE_MAIL = frozenset(
    (
        "gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "rocketmail.com",
        "hotmail.com", "outlook.com", "live.com", "msn.com", "aol.com", "icloud.com",
        "me.com", "mail.com", "gmx.com", "gmx.us", "protonmail.com", "proton.me",
        "zoho.com", "yandex.com", "inbox.com", "hushmail.com",
    )
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Signal:
    name: str
    weight: float
    evidence: str

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "weight": self.weight, "evidence": self.evidence}


@dataclass(frozen=True, slots=True)
class Subject:
    """What screening looks at in one lead."""

    kind: str
    price_cents: int | None  # per month for rents
    texts: tuple[str, ...]  # title, description
    phones: int  # how many phones any role (a listing with a phone is reachable by phone)
    emails: tuple[str, ...]  # addresses of every role


def _comparable_kind(kind: str) -> str:
    return "rent" if kind == "for_rent" else "sale"


def price_signal(
    subject: Subject, comparables: list[int], rules: ScreeningSettings
) -> Signal | None:
    """The price signal against these comparables (the subject's own price not among them)."""
    if subject.price_cents is None or len(comparables) < rules.min_comparables:
        return None
    return price_signal_of_median(subject, statistics.median(comparables), len(comparables), rules)


def median_without(ordered: Sequence[int], value: int | None) -> tuple[float, int]:
    """The median of `ordered` (ascending, not empty after the removal) with one occurrence of
    `value` left out when it is there, and how many values that median is of: what
    `statistics.median` gives for the list without it (the middle value, or the mean of the two
    middle ones), in O(log n) instead of a copy and a sort per lead."""
    n = len(ordered)
    if n == 0 or (n == 1 and ordered[0] == value):
        return 0.0, 0
    k = n if value is None else bisect.bisect_left(ordered, value)
    if k < n and ordered[k] == value:
        m = n - 1

        def at(i: int) -> int:  # the list without position k
            return ordered[i] if i < k else ordered[i + 1]
    else:
        m = n

        def at(i: int) -> int:
            return ordered[i]

    if m % 2:
        return at(m // 2), m
    return (at(m // 2 - 1) + at(m // 2)) / 2, m


def price_signal_of_median(
    subject: Subject, median: float, count: int, rules: ScreeningSettings
) -> Signal | None:
    """The price signal of a subject whose comparables (`count` of them) have this median: a
    price below `rules.price_ratio` × the median, with at least `rules.min_comparables`."""
    if subject.price_cents is None or count < rules.min_comparables:
        return None
    if median <= 0 or subject.price_cents >= rules.price_ratio * median:
        return None
    per = " a month" if subject.kind == "for_rent" else ""
    return Signal(
        "price_far_below_median",
        rules.weights.price_far_below_median,
        f"${subject.price_cents / 100:,.0f}{per} is {subject.price_cents / median:.0%} of the "
        f"median ${median / 100:,.0f} of {count} {_comparable_kind(subject.kind)} "
        "leads in its neighbourhood (H3 cell, resolution 7)",
    )


def text_signals(subject: Subject, rules: ScreeningSettings) -> list[Signal]:
    out: list[Signal] = []
    text = "\n".join(subject.texts)
    wire = _WIRE_RE.search(text)
    if wire is not None:
        out.append(
            Signal(
                "payment_wire_or_gift_card",
                rules.weights.payment_wire_or_gift_card,
                f"the text says {wire.group(0)!r}",
            )
        )
    abroad = _ABROAD_RE.search(text)
    if abroad is not None:
        out.append(
            Signal("owner_abroad", rules.weights.owner_abroad, f"the text says {abroad.group(0)!r}")
        )
    if subject.phones == 0 and subject.emails:
        domains = {e.rpartition("@")[2].lower() for e in subject.emails}
        if domains <= FREE_MAIL:
            out.append(
                Signal(
                    "email_only_free_provider",
                    rules.weights.email_only_free_provider,
                    f"no phone; e-mail only at {', '.join(sorted(domains))}",
                )
            )
    return out


def phone_signal(listings: int, cities: int, rules: ScreeningSettings) -> Signal | None:
    if cities < rules.phone_min_cities:
        return None
    return Signal(
        "phone_on_many_listings",
        rules.weights.phone_on_many_listings,
        f"the same phone is on {listings} listings in {cities} cities",
    )


def copied_text_signal(listings: int, other_cities: int, rules: ScreeningSettings) -> Signal | None:
    if other_cities < 1:
        return None
    return Signal(
        "copied_text_across_cities",
        rules.weights.copied_text_across_cities,
        f"the same description is on {listings} other listings in {other_cities} other "
        f"{'city' if other_cities == 1 else 'cities'}",
    )


@dataclass(frozen=True, slots=True)
class Verdict:
    signals: tuple[Signal, ...]
    score: float
    blocked: bool


def verdict(signals: list[Signal], rules: ScreeningSettings) -> Verdict:
    score = round(sum(s.weight for s in signals), 4)
    return Verdict(tuple(signals), score, bool(signals) and score >= rules.threshold)
