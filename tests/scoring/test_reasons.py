"""A score's top reasons in words, from its contributions."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from aiqleads.leads import present
from aiqleads.scoring.reasons import PHRASES, Phrase, top_reasons

NAMES = ("has_owner_phone", "price_vs_nbhd", "leads_nearby", "bedrooms", "agents_7d")


def test_the_largest_contributions_with_words_come_first_and_point_features_are_not_previewed() -> (
    None
):
    # Given a lead's values and contributions (the last column is the bias, ignored)
    values = np.array([1.0, -0.12, 14.0, 3.0, 0.0])
    contrib = np.array([0.9, 0.5, -0.7, 2.0, 0.3, -1.0])
    # When its top 3 reasons are asked
    reasons = top_reasons(NAMES, values, contrib)
    # Then bedrooms (no phrase) and agents_7d (no agent: no words) are skipped, the rest come
    # by absolute contribution, and the one made from the exact point is not for previews
    assert reasons == [
        {
            "feature": "has_owner_phone",
            "text": "owner phone on file",
            "direction": "up",
            "preview": True,
            "buyer": True,
        },
        {
            "feature": "leads_nearby",
            "text": "14 other leads nearby",
            "direction": "down",
            "preview": False,
            "buyer": True,
        },
        {
            "feature": "price_vs_nbhd",
            "text": "priced 12 % below the neighbourhood median",
            "direction": "up",
            "preview": True,
            "buyer": True,
        },
    ]


def test_a_zero_contribution_gives_no_reason() -> None:
    assert top_reasons(NAMES, np.ones(5), np.zeros(6)) == []


# Features and values for the shapes below: every phrase has words for its value
SHAPE_NAMES = (
    "leads_nearby",
    "competitors_nearby",
    "cluster_distance_km",
    "has_owner_phone",
    "price_vs_nbhd",
    "freshness_days",
    "holds_30d",
    "agents_7d",
)
SHAPE_VALUES = np.array([6.0, 2.0, 0.4, 1.0, -0.12, 4.0, 2.0, 3.0])
POINT = {n for n in SHAPE_NAMES if not PHRASES[n].preview}
SAFE_ORDER = ["has_owner_phone", "price_vs_nbhd", "freshness_days", "holds_30d", "agents_7d"]
SAFE = {"has_owner_phone": 0.9, "price_vs_nbhd": -0.5, "freshness_days": 0.3}
SAFE.update({"holds_30d": 0.2, "agents_7d": -0.1})


def _contributions(point: dict[str, float]) -> np.ndarray:
    """The shape's contributions: the safe features' fixed, the exact point's as given."""
    return np.array([{**SAFE, **point}.get(n, 0.0) for n in SHAPE_NAMES])


def _read(stored: list[dict[str, Any]], *, bought: bool) -> list[str]:
    return present._reasons(SimpleNamespace(score_reasons=stored), bought=bought)


def _features(stored: list[dict[str, Any]], texts: list[str]) -> list[str]:
    return [next(r["feature"] for r in stored if r["text"] == t) for t in texts]


@pytest.mark.parametrize(
    ("point", "buyer"),
    [
        # an exact-point feature at rank 1, 2 and 3 of all
        ({"leads_nearby": 2.0}, ["leads_nearby", "has_owner_phone", "price_vs_nbhd"]),
        ({"leads_nearby": -0.7}, ["has_owner_phone", "leads_nearby", "price_vs_nbhd"]),
        ({"cluster_distance_km": 0.4}, ["has_owner_phone", "price_vs_nbhd", "cluster_distance_km"]),
        # two of them, and all three
        (
            {"leads_nearby": 1.0, "competitors_nearby": -0.6},
            ["leads_nearby", "has_owner_phone", "competitors_nearby"],
        ),
        (
            {"leads_nearby": 3.0, "competitors_nearby": 2.0, "cluster_distance_km": -1.0},
            ["leads_nearby", "competitors_nearby", "cluster_distance_km"],
        ),
        # none in the top 3 (below every safe one), or no contribution at all
        ({"leads_nearby": 0.05}, ["has_owner_phone", "price_vs_nbhd", "freshness_days"]),
        ({}, ["has_owner_phone", "price_vs_nbhd", "freshness_days"]),
    ],
    ids=["rank1", "rank2", "rank3", "two", "three", "rank6", "none"],
)
def test_the_buyer_reads_the_top_3_and_a_preview_the_top_3_safe_whatever_the_point(
    point: dict[str, float], buyer: list[str]
) -> None:
    # Given a lead whose exact-point features contribute as the shape says
    stored = top_reasons(SHAPE_NAMES, SHAPE_VALUES, _contributions(point))
    # Then its buyer reads the 3 largest contributions of all, in order
    bought = _read(stored, bought=True)
    assert _features(stored, bought) == buyer
    # And a preview the 3 largest of the preview-safe ones, whatever the exact point's
    preview = _read(stored, bought=False)
    assert _features(stored, preview) == SAFE_ORDER[:3]
    assert not POINT & set(_features(stored, preview))
    # And a preview reason at rank 4 or lower of all still shows (the list holds no more than
    # 3 of each reader's)
    assert len(stored) <= 6 and len(set(bought) | set(preview)) == len(stored)


def test_no_contribution_of_the_exact_point_changes_a_preview() -> None:
    # Given the same lead with many contributions of its exact-point features (each within
    # the range a model gives, either sign, on either side of every safe one)
    rng = np.random.default_rng(7)
    previews = set()
    for _ in range(200):
        point = {n: float(rng.normal(0, 1.5)) for n in POINT}
        stored = top_reasons(SHAPE_NAMES, SHAPE_VALUES, _contributions(point))
        previews.add(tuple(_read(stored, bought=False)))
        # (the buyer still reads exactly 3, the largest of all)
        assert len(_read(stored, bought=True)) == 3
    # Then the preview reads the same reasons every time
    assert len(previews) == 1


def test_a_feature_not_for_previews_never_takes_a_preview_place_whatever_its_source() -> None:
    # Given phrases where a contact-derived feature is not for previews (as a phrase about the
    # contact itself would be) and a lead where it contributes most
    phrases = {
        **PHRASES,
        "owner_relisted": Phrase(lambda v: "the owner listed before", False),
    }
    names = ("owner_relisted", "has_owner_phone", "freshness_days", "holds_30d")
    values = np.array([1.0, 0.0, 30.0, 1.0])
    stored = top_reasons(names, values, np.array([2.0, -0.4, 0.3, 0.2]), phrases=phrases)
    # Then the buyer reads it first, and the preview the three others
    assert _read(stored, bought=True) == [
        "the owner listed before",
        "no owner phone on file",
        "listed 30 days ago",
    ]
    assert _read(stored, bought=False) == [
        "no owner phone on file",
        "listed 30 days ago",
        "held once this month",
    ]


def test_a_smaller_limit_and_skipped_features_keep_both_counts() -> None:
    # Given a limit of 1 and a safe feature with no words for its value (no agent looked)
    names = ("leads_nearby", "agents_7d", "holds_30d")
    stored = top_reasons(names, np.array([4.0, 0.0, 2.0]), np.array([1.0, 0.8, 0.1]), limit=1)
    # Then the buyer reads the nearby count alone and the preview the next safe one with words
    assert _read(stored, bought=True) == ["4 other leads nearby"]
    assert _read(stored, bought=False) == ["held 2 times this month"]


def test_reasons_stored_before_previews_had_their_own_are_read_as_then() -> None:
    # Given reasons stored in the earlier form: the top 3 of all, safe ones marked, no "buyer"
    stored: list[dict[str, Any]] = [
        {"feature": "leads_nearby", "text": "6 other leads nearby", "preview": False},
        {"feature": "has_owner_phone", "text": "owner phone on file", "preview": True},
        {"feature": "freshness_days", "text": "listed 4 days ago"},
    ]
    # Then the buyer reads all three, and a preview the one marked safe (unmarked: not safe)
    assert _read(stored, bought=True) == [
        "6 other leads nearby",
        "owner phone on file",
        "listed 4 days ago",
    ]
    assert _read(stored, bought=False) == ["owner phone on file"]
    assert _read([], bought=False) == _read([], bought=True) == []
