"""Assignment by the documented hash: deterministic, the same in another process, traffic
shares as configured, independent across salts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pytest

from aiqleads.experiments.assignment import Variant, assign, bucket, choose, shares
from aiqleads.experiments.stats import sample_ratio_check

VARIANTS = [Variant("control", 50), Variant("nearest", 30), Variant("model", 20)]


def test_the_bucket_is_the_documented_sha256_formula() -> None:
    # Given the formula int(SHA-256("salt-1:42")[0:8], big-endian) / 2**64, worked out once
    # with hashlib: 0x d2 7b ... → 0.8221917925089473
    # When the module computes it
    # Then it is that number, whatever the process
    assert bucket("salt-1", 42) == 0.8221917925089473
    assert bucket("salt-1", 42) == bucket("salt-1", "42")


def test_an_agent_keeps_its_variant_on_every_call() -> None:
    # Given an experiment's salt and variants
    # When each of 1,000 agents is assigned twice
    first = [assign("exp-a", VARIANTS, i).name for i in range(1000)]
    second = [assign("exp-a", VARIANTS, i).name for i in range(1000)]
    # Then each gets the same variant both times
    assert first == second


def test_another_process_assigns_alike() -> None:
    # Given the assignments of 2,000 agents in this process
    here = [assign("exp-a", VARIANTS, i).name for i in range(2000)]
    # When a fresh interpreter, with another hash seed, assigns them
    code = (
        "import json; from aiqleads.experiments.assignment import Variant, assign;"
        "v=[Variant('control',50),Variant('nearest',30),Variant('model',20)];"
        "print(json.dumps([assign('exp-a', v, i).name for i in range(2000)]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    # Then they agree
    assert json.loads(out.stdout) == here


def test_traffic_shares_hold_over_100k_agents() -> None:
    # Given weights 50/30/20
    # When 100,000 agent ids are assigned
    counts = Counter(assign("shares-check", VARIANTS, i).name for i in range(100_000))
    # Then each variant's share is within 1 point of its weight's share (the binomial's
    # standard deviation is at most 0.16 point here: 1 point is over 6 of them)
    for v, share in zip(VARIANTS, shares(VARIANTS), strict=True):
        assert abs(counts[v.name] / 100_000 - share) < 0.01, counts
    # And the sample-ratio check finds no mismatch in them
    check = sample_ratio_check([counts[v.name] for v in VARIANTS], shares(VARIANTS))
    assert not check.flagged


def test_two_salts_assign_independently() -> None:
    # Given two 50/50 experiments with different salts
    halves = [Variant("a", 1), Variant("b", 1)]
    # When 100,000 agents are assigned in both
    pairs = Counter(
        (assign("first", halves, i).name, assign("second", halves, i).name) for i in range(100_000)
    )
    # Then each of the four combinations holds about a quarter of them
    assert all(abs(n / 100_000 - 0.25) < 0.01 for n in pairs.values()), pairs
    assert len(pairs) == 4


def test_variants_take_consecutive_slices_of_the_unit_interval() -> None:
    # Given weights 1:1:2 (slices [0, .25), [.25, .5), [.5, 1))
    variants = [Variant("a", 1), Variant("b", 1), Variant("c", 2)]
    # Then the edges fall where the shares say
    assert [choose(variants, u).name for u in (0.0, 0.2499, 0.25, 0.4999, 0.5, 0.9999)] == [
        "a",
        "a",
        "b",
        "b",
        "c",
        "c",
    ]


@pytest.mark.parametrize("weight", [0.0, -1.0, float("nan"), float("inf")])
def test_a_weight_that_is_not_a_positive_number_is_refused(weight: float) -> None:
    with pytest.raises(ValueError, match="weight must be a positive number"):
        shares([Variant("a", 1), Variant("b", weight)])
