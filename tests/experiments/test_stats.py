"""The report's statistics against numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from aiqleads.experiments.stats import (
    cuped_test,
    ratio_test,
    sample_ratio_check,
    two_proportion_test,
    wilson_interval,
)


def test_the_two_proportion_test_matches_the_hand_computed_example() -> None:
    # Given a control with 2 of 10 agents converting and a variant with 6 of 10:
    #   p1 = 0.2, p2 = 0.6, difference 0.4; pooled p = 8/20 = 0.4
    #   z = 0.4 / sqrt(0.4 * 0.6 * (1/10 + 1/10)) = 0.4 / sqrt(0.048) = 1.8257418583505538
    #   p-value = 2 (1 - Φ(1.8257…)) = 0.06788915486182899
    #   unpooled se = sqrt(0.2 * 0.8 / 10 + 0.6 * 0.4 / 10) = sqrt(0.04) = 0.2
    #   95 % CI = 0.4 ± 1.959963984540054 * 0.2 = [0.008007203, 0.791992797]
    # When tested
    t = two_proportion_test(2, 10, 6, 10)
    # Then
    assert t.control_rate == pytest.approx(0.2)
    assert t.variant_rate == pytest.approx(0.6)
    assert t.difference == pytest.approx(0.4)
    assert t.z == pytest.approx(1.8257418583505538, rel=1e-12)
    assert t.p_value == pytest.approx(0.06788915486182899, rel=1e-9)
    assert t.ci_low == pytest.approx(0.4 - 0.3919927969080108, rel=1e-9)
    assert t.ci_high == pytest.approx(0.4 + 0.3919927969080108, rel=1e-9)
    assert t.relative_lift == pytest.approx(2.0)
    assert not t.significant  # p > 0.05 although the CI excludes 0: Wald vs pooled z


def test_equal_extreme_rates_give_no_evidence() -> None:
    # Given no conversions anywhere
    t = two_proportion_test(0, 50, 0, 40)
    # Then the difference is 0, z 0, p 1, and the lift is undefined
    assert (t.difference, t.z, t.p_value, t.relative_lift) == (0.0, 0.0, 1.0, None)


@pytest.mark.parametrize(
    ("args", "reason"),
    [((0, 0, 1, 10), "control: no trials"), ((1, 10, 11, 10), "variant: 11 successes of 10")],
)
def test_impossible_counts_are_refused(args: tuple[int, int, int, int], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        two_proportion_test(*args)


def test_a_sample_ratio_mismatch_is_detected() -> None:
    # Given 600 and 400 agents where 50/50 was configured:
    #   chi2 = (100² + 100²) / 500 = 40, p = P(chi2_1 > 40) = 2.54e-10 < 0.001
    check = sample_ratio_check([600, 400], [0.5, 0.5])
    # Then the mismatch is flagged
    assert check.chi2 == pytest.approx(40.0)
    assert check.p_value == pytest.approx(2.5396285894708634e-10, rel=1e-6)
    assert check.flagged
    # While 510 / 490 is chance (chi2 0.4, p 0.527)
    fine = sample_ratio_check([510, 490], [0.5, 0.5])
    assert fine.p_value == pytest.approx(0.5270892568655381, rel=1e-9)
    assert not fine.flagged


def test_the_sample_ratio_check_uses_the_configured_shares() -> None:
    # Given 3 variants at 50/30/20 and 1,000 agents split exactly so
    check = sample_ratio_check([500, 300, 200], [0.5, 0.3, 0.2])
    # Then nothing is flagged, and the expected counts are the shares of the total
    assert check.chi2 == pytest.approx(0.0)
    assert check.expected == pytest.approx([500.0, 300.0, 200.0])
    assert not check.flagged
    # And with no agents at all, nothing can be said
    assert sample_ratio_check([0, 0, 0], [0.5, 0.3, 0.2]).p_value == 1.0


def test_the_wilson_interval_matches_the_hand_computed_example() -> None:
    # Given 2 of 10 (z = 1.959964, z² = 3.841459):
    #   centre = (0.2 + 3.841459/20) / (1 + 3.841459/10) = 0.392073 / 1.384146 = 0.283260
    #   half = z sqrt(0.016 + 3.841459/400) / 1.384146 = 1.959964 * 0.160011 / 1.384146
    #        = 0.226578, so [0.056682, 0.509838] (tables give 0.057 to 0.510)
    low, high = wilson_interval(2, 10)
    assert low == pytest.approx(0.056682, abs=1e-5)
    assert high == pytest.approx(0.509838, abs=1e-5)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_cuped_matches_the_hand_computed_example() -> None:
    # Given 4 agents per group, converted (y) or not, with their events before the start (x):
    #   control y = 0 0 1 1, x = 0 1 1 2; variant y = 0 1 1 1, x = 0 0 1 2
    #   mean x = 7/8, cov(x, y) = 1.625/7, var(x) = 4.875/7, so theta = 1/3
    #   adjusted control y - (x - 7/8)/3 = .291667 -.041667 .958333 .625, mean .458333
    #   adjusted variant = .291667 1.291667 .958333 .625, mean .791667: difference 1/3
    #   (unadjusted 0.25); each adjusted group's sample variance .185185, so
    #   se = sqrt(2 × .185185 / 4) = .304290, z = 1.095445;
    #   raw se² = (1/3)/4 + (1/4)/4 = .145833: variance removed 1 - .0925926/.145833 = .365079
    t = cuped_test([0, 0, 1, 1], [0, 1, 1, 2], [0, 1, 1, 1], [0, 0, 1, 2])
    assert t.theta == pytest.approx(1 / 3)
    assert t.difference == pytest.approx(1 / 3)
    assert t.z == pytest.approx(1.0954451, abs=1e-6)
    assert t.p_value == pytest.approx(0.2733217, abs=1e-6)
    assert t.variance_reduction == pytest.approx(0.3650794, abs=1e-6)
    assert t.ci_high - t.difference == pytest.approx(1.959964 * 0.3042903, abs=1e-5)


def test_cuped_narrows_the_interval_only_with_a_covariate_that_predicts() -> None:
    # Given 2,000 agents per group whose conversion follows their activity before the start,
    # with a lift of 5 points for the variant, and a second covariate of pure noise
    rng = np.random.default_rng(3)
    x_c, x_v = rng.poisson(2.0, 2000), rng.poisson(2.0, 2000)
    y_c = (rng.random(2000) < 0.1 + 0.1 * np.minimum(x_c, 5)).astype(float)
    y_v = (rng.random(2000) < 0.15 + 0.1 * np.minimum(x_v, 5)).astype(float)
    plain = two_proportion_test(int(y_c.sum()), 2000, int(y_v.sum()), 2000)
    # When tested with CUPED on the activity, and on the noise
    fitted = cuped_test(list(y_c), list(x_c), list(y_v), list(x_v))
    noise = cuped_test(
        list(y_c), list(rng.poisson(2.0, 2000)), list(y_v), list(rng.poisson(2.0, 2000))
    )
    # Then the activity removes some of the variance, the interval is narrower and still
    # holds the lift; the noise removes next to none
    assert fitted.variance_reduction > 0.05  # 0.085 with this seed: rho² of y and x
    assert fitted.ci_high - fitted.ci_low < plain.ci_high - plain.ci_low
    assert fitted.ci_low < 0.05 < fitted.ci_high
    assert abs(noise.variance_reduction) < 0.01


def test_cuped_needs_two_units_a_side_and_a_covariate_each() -> None:
    with pytest.raises(ValueError, match="at least two units"):
        cuped_test([1], [0], [0, 1], [0, 1])
    with pytest.raises(ValueError, match="one covariate per unit"):
        cuped_test([1, 0], [0], [0, 1], [0, 1])


def test_the_per_list_ratio_test_matches_the_hand_computed_example() -> None:
    # Given 3 agents a side, each with (lists with a click, lists served):
    #   control (1, 2) (2, 4) (0, 2): R = 1 / (8/3) = 0.375; s²_Y = 1, s²_N = 4/3, s_YN = 1
    #     Var = (1 - 2 × .375 × 1 + .375² × 4/3) / (3 × (8/3)²) = .4375 / 21.333 = .0205078
    #   variant (2, 2) (3, 4) (1, 2): R = 2 / (8/3) = 0.75; s²_Y = 1, s_YN = 1
    #     Var = (1 - 1.5 + .5625 × 4/3) / 21.333 = .25 / 21.333 = .0117188
    #   z = .375 / sqrt(.0322266) = .375 / .179518 = 2.08893, p = 0.036714
    t = ratio_test([1, 2, 0], [2, 4, 2], [2, 3, 1], [2, 4, 2])
    assert (t.control_rate, t.variant_rate) == (0.375, 0.75)
    assert t.z == pytest.approx(2.0889319, abs=1e-6)
    assert t.p_value == pytest.approx(0.0367139, abs=1e-6)
    assert t.ci_low == pytest.approx(0.375 - 1.959964 * 0.1795176, abs=1e-5)
    assert t.significant


def test_the_ratio_test_refuses_what_it_cannot_estimate() -> None:
    with pytest.raises(ValueError, match="at least two units"):
        ratio_test([1], [2], [1, 1], [2, 2])
    with pytest.raises(ValueError, match="denominators sum to 0"):
        ratio_test([0, 0], [0, 0], [1, 1], [2, 2])
