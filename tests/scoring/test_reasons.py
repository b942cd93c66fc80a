"""A score's top reasons in words, from its contributions."""

from __future__ import annotations

import numpy as np

from aiqleads.scoring.reasons import top_reasons

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
        },
        {
            "feature": "leads_nearby",
            "text": "14 other leads nearby",
            "direction": "down",
            "preview": False,
        },
        {
            "feature": "price_vs_nbhd",
            "text": "priced 12 % below the neighbourhood median",
            "direction": "up",
            "preview": True,
        },
    ]


def test_a_zero_contribution_gives_no_reason() -> None:
    assert top_reasons(NAMES, np.ones(5), np.zeros(6)) == []
