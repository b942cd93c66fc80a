"""Outcomes joined to exposures: the window, last touch, the exposed agent's own events on the
leads it was served, returns of counted purchases."""

from __future__ import annotations

from datetime import timedelta

from aiqleads.experiments.outcomes import Event, Exposure, join
from tests.conftest import T0

WEEK = timedelta(days=7)


def test_only_the_exposed_agents_events_on_served_leads_within_the_window_count() -> None:
    # Given agent 1 served leads 10 and 11 under "a" at T0
    exposures = [Exposure(1, "a", [10, 11], T0, 12.0)]
    events = [
        Event(1, 10, "view", T0 + timedelta(minutes=5)),  # counts
        Event(1, 10, "view", T0 + timedelta(minutes=9)),  # counts as a second event
        Event(1, 11, "view", T0 - timedelta(minutes=1)),  # before the exposure
        Event(1, 11, "hold", T0 + WEEK),  # at the window's end: outside
        Event(1, 12, "purchase", T0 + timedelta(hours=1)),  # a lead not served
        Event(2, 10, "purchase", T0 + timedelta(hours=1)),  # another agent
        Event(1, 10, "release", T0 + timedelta(hours=1)),  # not an outcome
    ]
    # When joined
    out = join(exposures, events, window=WEEK, variants=["a", "b"])
    # Then agent 1 clicked once or more, through its one exposure, and nothing else counts
    a = out["a"]
    assert (a.agents, a.exposures, a.leads_served, a.latencies_ms) == ({1}, 1, 2, [12.0])
    assert {m: len(s) for m, s in a.converted.items()} == {"click": 1, "hold": 0, "purchase": 0}
    assert a.events == {"click": 2, "hold": 0, "purchase": 0}
    # And the unexposed variant is there, empty
    assert out["b"].agents == set() and out["b"].exposures == 0


def test_an_event_counts_once_for_the_latest_exposure_that_served_the_lead() -> None:
    # Given lead 10 served to agent 1 at T0 and again a day later
    exposures = [
        Exposure(1, "a", [10], T0),
        Exposure(1, "a", [10, 11], T0 + timedelta(days=1)),
    ]
    # When the agent holds it two days after the first exposure
    out = join(
        exposures, [Event(1, 10, "hold", T0 + timedelta(days=2))], window=WEEK, variants=["a"]
    )
    # Then one event counts, for the second exposure (index 1) only
    assert out["a"].events["hold"] == 1
    assert out["a"].exposures_with["hold"] == {1}
    # And per agent: two lists, one of them with a hold
    assert (out["a"].lists_of, out["a"].lists_with_of["hold"]) == ({1: 2}, {1: 1})


def test_a_return_counts_when_it_follows_a_counted_purchase() -> None:
    # Given two agents served lead 10 and 11 who each bought theirs, and returned it 6 days
    # later (after the 1-day window: returns are not held to it); agent 3 returns a lead it
    # was never served
    day = timedelta(days=1)
    exposures = [Exposure(1, "a", [10], T0), Exposure(2, "a", [11], T0)]
    events = [
        Event(1, 10, "purchase", T0 + timedelta(hours=2)),
        Event(1, 10, "return", T0 + 6 * day),
        Event(2, 11, "purchase", T0 + timedelta(hours=3)),
        Event(3, 12, "return", T0 + 6 * day),
    ]
    # When joined with a one-day window
    out = join(exposures, events, window=day, variants=["a"])
    # Then two purchases count, one of them returned
    assert out["a"].purchases == {(1, 10), (2, 11)}
    assert out["a"].returned == {(1, 10)}
