"""Behaviour values on hand-computed events: windows, decay, sessions, recency, defaults."""

from __future__ import annotations

import math

import pytest

from aiqleads.config import FeatureSettings, Settings
from aiqleads.features.behaviour import BehaviourParams, behaviour_names, behaviour_values

NAMES = behaviour_names("agents")
PARAMS = BehaviourParams.of(FeatureSettings())  # half-life 72 h, gap 72 h, horizon 365 d


def _values(events: list[tuple[str, float, int | None]]) -> dict[str, float]:
    return dict(zip(NAMES, behaviour_values(events, PARAMS), strict=True))


def test_windows_count_events_younger_than_the_window() -> None:
    # Given views at 0 h, just under 24 h, exactly 24 h, just under 7 d, exactly 7 d, 29 d, 30 d
    ages = [0.0, 23.99, 24.0, 167.99, 168.0, 29 * 24.0, 30 * 24.0]
    # When counted
    v = _values([("view", a, 1) for a in ages])
    # Then a window holds the events strictly younger than it (an event exactly 24 h old is
    # not in the last 24 h; one at `now` is)
    assert v["views_24h"] == 2
    assert v["views_7d"] == 4
    assert v["views_30d"] == 6
    assert v["holds_24h"] == v["purchases_30d"] == 0


def test_counterparts_are_distinct_agents_and_ignore_events_no_agent_made() -> None:
    # Given agent 1 twice today, agent 2 three days ago, and an expiry made by no agent
    v = _values([("view", 1.0, 1), ("hold", 2.0, 1), ("view", 72.0, 2), ("expire", 5.0, None)])
    # Then the distinct agents per window are counted
    assert (v["agents_24h"], v["agents_7d"], v["agents_30d"]) == (1, 2, 2)
    assert v["expires_24h"] == 1


def test_engagement_halves_every_half_life() -> None:
    # Given a view now, a hold one half-life (72 h) ago and a purchase two half-lives ago
    v = _values([("view", 0.0, 1), ("hold", 72.0, 1), ("purchase", 144.0, 1)])
    # Then engagement = 1×1 + 4×½ + 8×¼ (weights view 1, hold 4, purchase 8)
    assert v["engagement"] == pytest.approx(1.0 + 2.0 + 2.0)


def test_a_return_counts_against_engagement() -> None:
    v = _values([("purchase", 0.0, 1), ("return", 0.0, 1)])
    assert v["engagement"] == pytest.approx(8.0 - 4.0)


def test_a_new_session_starts_after_a_gap_of_72_hours() -> None:
    # Given events at ages 0, 71.9 (gap 71.9: same session), 143.9 (gap 72: new session),
    # 300 (gap 156.1: new session), in any order
    v = _values([("view", a, 1) for a in (300.0, 0.0, 143.9, 71.9)])
    # Then three sessions
    assert v["sessions"] == 3


def test_recency_is_hours_since_the_newest_event() -> None:
    v = _values([("view", 30.5, 1), ("hold", 7.25, 2)])
    assert v["recency_hours"] == 7.25


def test_no_events_give_the_documented_defaults() -> None:
    # Given an entity with no events
    v = _values([])
    # Then counts, engagement and sessions are 0, recency is the horizon (365 d in hours)
    assert v["recency_hours"] == 365 * 24.0
    assert all(v[n] == 0.0 for n in NAMES if n != "recency_hours")
    assert all(math.isfinite(x) for x in v.values())


def test_an_event_outside_the_horizon_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        behaviour_values([("view", -1.0, 1)], PARAMS)
    with pytest.raises(ValueError, match="outside"):
        behaviour_values([("view", 365 * 24.0, 1)], PARAMS)


def test_half_life_and_gap_come_from_the_settings() -> None:
    # Given a half-life of 24 h and a session gap of 10 h
    p = BehaviourParams.of(FeatureSettings(half_life_hours=24.0, session_gap_hours=10.0))
    v = dict(zip(NAMES, behaviour_values([("view", 24.0, 1), ("view", 12.0, 1)], p), strict=True))
    # Then a view a day old counts half, and a 12 h gap splits sessions
    assert v["engagement"] == pytest.approx(0.5 + 0.5**0.5)
    assert v["sessions"] == 2


def test_weights_are_settings_and_a_return_is_named_as_its_kind() -> None:
    # Given settings as the environment would give them (AIQ_FEATURES__WEIGHTS__RETURN=-2)
    s = Settings(features={"weights": {"return": "-2", "view": "0.5"}})
    p = BehaviourParams.of(s.features)
    # When a view and a return are weighed now
    v = dict(zip(NAMES, behaviour_values([("view", 0.0, 1), ("return", 0.0, 1)], p), strict=True))
    # Then the weights given are used, the others keep their defaults
    assert v["engagement"] == pytest.approx(0.5 - 2.0)
    assert p.weights["purchase"] == 8.0


def test_an_unknown_event_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event kind 'like'"):
        behaviour_values([("like", 1.0, 1)], PARAMS)
