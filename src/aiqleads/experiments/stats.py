"""The report's statistics: two-proportion tests, Wilson intervals and the sample-ratio check.

Pure functions of counts (scipy for the normal and chi-square distributions, imported by the
functions that use it: scipy.stats is ~30 MB that a process serving only the catalog never
needs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class ProportionTest:
    """A variant's rate against the control's.

    `difference` = variant_rate − control_rate, with its (1 − alpha) confidence interval
    [`ci_low`, `ci_high`]; `relative_lift` = difference / control_rate (None when the control's
    rate is 0); `z` and the two-sided `p_value` of the test of equal rates; `significant` when
    p_value < alpha.
    """

    control_successes: int
    control_trials: int
    variant_successes: int
    variant_trials: int
    control_rate: float
    variant_rate: float
    difference: float
    ci_low: float
    ci_high: float
    relative_lift: float | None
    z: float
    p_value: float
    significant: bool


def two_proportion_test(
    control_successes: int,
    control_trials: int,
    variant_successes: int,
    variant_trials: int,
    *,
    alpha: float = 0.05,
) -> ProportionTest:
    """The two-proportion z-test and the Wald interval of the difference.

    With p1 = x1/n1 (control), p2 = x2/n2 (variant) and the pooled p = (x1 + x2)/(n1 + n2):
    z = (p2 − p1) / sqrt(p (1 − p) (1/n1 + 1/n2)), p-value = 2 (1 − Φ(|z|)); the interval is
    (p2 − p1) ± z_{1−alpha/2} sqrt(p1 (1 − p1)/n1 + p2 (1 − p2)/n2). (Agresti, Categorical Data
    Analysis, 3rd ed., 2013, sections 3.1.2 and 3.1.5; statsmodels' `proportions_ztest` and
    `confint_proportions_2indep(method="wald")` give the same.) When both groups have rate 0 or
    both 1, z is 0 and the p-value 1. Raises ValueError when a group has no trials or more
    successes than trials.
    """
    from scipy import stats as _stats

    for name, x, n in (
        ("control", control_successes, control_trials),
        ("variant", variant_successes, variant_trials),
    ):
        if n <= 0:
            raise ValueError(f"{name}: no trials")
        if not 0 <= x <= n:
            raise ValueError(f"{name}: {x} successes of {n} trials")
    p1 = control_successes / control_trials
    p2 = variant_successes / variant_trials
    diff = p2 - p1
    pooled = (control_successes + variant_successes) / (control_trials + variant_trials)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / control_trials + 1 / variant_trials))
    z = diff / se0 if se0 > 0 else 0.0
    p_value = float(2 * _stats.norm.sf(abs(z)))
    se = math.sqrt(p1 * (1 - p1) / control_trials + p2 * (1 - p2) / variant_trials)
    half = float(_stats.norm.ppf(1 - alpha / 2)) * se
    return ProportionTest(
        control_successes=control_successes,
        control_trials=control_trials,
        variant_successes=variant_successes,
        variant_trials=variant_trials,
        control_rate=p1,
        variant_rate=p2,
        difference=diff,
        ci_low=diff - half,
        ci_high=diff + half,
        relative_lift=diff / p1 if p1 > 0 else None,
        z=z,
        p_value=p_value,
        significant=p_value < alpha,
    )


def wilson_interval(successes: int, trials: int, *, alpha: float = 0.05) -> tuple[float, float]:
    """The Wilson score interval of one rate (Wilson, JASA 1927): sensible near 0 and 1 and
    for small n, where the Wald interval is not. (0, 1) when there are no trials."""
    from scipy import stats as _stats

    if trials <= 0:
        return (0.0, 1.0)
    z = float(_stats.norm.ppf(1 - alpha / 2))
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True, slots=True)
class SampleRatio:
    """Pearson's chi-square test of the units counted per variant against the configured
    shares: `expected` counts, the statistic, its p-value (k − 1 degrees of freedom) and
    `flagged` when p < alpha (a sample-ratio mismatch: assignment or logging is broken, and
    the experiment's comparisons cannot be trusted)."""

    observed: list[int]
    expected: list[float]
    chi2: float
    p_value: float
    alpha: float
    flagged: bool


def sample_ratio_check(
    observed: Sequence[int], shares: Sequence[float], *, alpha: float = 0.001
) -> SampleRatio:
    """The sample-ratio-mismatch check (Fabijan et al., "Diagnosing Sample Ratio Mismatch in
    Online Controlled Experiments", KDD 2019). `shares` sum to 1. No units: chi2 0, p 1."""
    from scipy import stats as _stats

    if len(observed) != len(shares):
        raise ValueError("one observed count per share is needed")
    total = sum(observed)
    expected = [total * s for s in shares]
    if total == 0:
        return SampleRatio(list(observed), expected, 0.0, 1.0, alpha, False)
    chi2 = math.fsum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))
    p_value = float(_stats.chi2.sf(chi2, len(observed) - 1))
    return SampleRatio(list(observed), expected, chi2, p_value, alpha, p_value < alpha)


@dataclass(frozen=True, slots=True)
class CupedTest:
    """The variant-minus-control difference of means after CUPED: the difference, its
    (1 − alpha) interval, z, two-sided p-value, `theta` and `variance_reduction`, the share of
    the unadjusted difference's variance the covariate removed (about ρ², the squared
    correlation of outcome and covariate)."""

    difference: float
    ci_low: float
    ci_high: float
    z: float
    p_value: float
    significant: bool
    theta: float
    variance_reduction: float


def cuped_test(
    control: Sequence[float],
    control_before: Sequence[float],
    variant: Sequence[float],
    variant_before: Sequence[float],
    *,
    alpha: float = 0.05,
) -> CupedTest:
    """CUPED (Deng, Xu, Kohavi and Walker, "Improving the Sensitivity of Online Controlled
    Experiments by Utilizing Pre-Experiment Data", WSDM 2013): each unit's outcome Y (here 1
    when the agent converted, else 0) less θ (X − mean X), where X is the same unit's
    covariate from before the experiment (its events of the kind) and θ = cov(X, Y) / var(X)
    over both groups. Assignment is independent of X, so the adjusted difference of means
    estimates the same effect with less variance. The difference is tested with the unpooled
    z-test (se² = s_c²/n_c + s_v²/n_v, sample variances). θ is 0 when X does not vary.
    Raises ValueError when a group has fewer than two units or its lists differ in length."""
    from scipy import stats as _stats

    for name, y, x in (("control", control, control_before), ("variant", variant, variant_before)):
        if len(y) != len(x):
            raise ValueError(f"{name}: one covariate per unit is needed")
        if len(y) < 2:
            raise ValueError(f"{name}: at least two units are needed")
    yc, xc = np.asarray(control, float), np.asarray(control_before, float)
    yv, xv = np.asarray(variant, float), np.asarray(variant_before, float)
    x_all, y_all = np.concatenate([xc, xv]), np.concatenate([yc, yv])
    var_x = float(x_all.var(ddof=1))
    theta = float(np.cov(x_all, y_all, ddof=1)[0, 1]) / var_x if var_x > 0 else 0.0
    mean_x = float(x_all.mean())
    ac, av = yc - theta * (xc - mean_x), yv - theta * (xv - mean_x)
    diff = float(av.mean() - ac.mean())
    se2 = float(ac.var(ddof=1)) / len(ac) + float(av.var(ddof=1)) / len(av)
    raw2 = float(yc.var(ddof=1)) / len(yc) + float(yv.var(ddof=1)) / len(yv)
    se = math.sqrt(se2)
    z = diff / se if se > 0 else 0.0
    p_value = float(2 * _stats.norm.sf(abs(z)))
    half = float(_stats.norm.ppf(1 - alpha / 2)) * se
    return CupedTest(
        difference=diff,
        ci_low=diff - half,
        ci_high=diff + half,
        z=z,
        p_value=p_value,
        significant=p_value < alpha,
        theta=theta,
        variance_reduction=1 - se2 / raw2 if raw2 > 0 else 0.0,
    )


@dataclass(frozen=True, slots=True)
class RatioTest:
    """A ratio metric (sum of numerators over sum of denominators, e.g. lists with a click
    over lists served) of a variant against the control's, each ratio's variance by the delta
    method over the units (agents): `control_rate`, `variant_rate`, the difference with its
    (1 − alpha) interval, z, the two-sided p-value."""

    control_rate: float
    variant_rate: float
    difference: float
    ci_low: float
    ci_high: float
    z: float
    p_value: float
    significant: bool


def _ratio_and_variance(
    numerators: Sequence[float], denominators: Sequence[float]
) -> tuple[float, float]:
    y, n = np.asarray(numerators, float), np.asarray(denominators, float)
    k = len(y)
    mu_y, mu_n = float(y.mean()), float(n.mean())
    var_y, var_n = float(y.var(ddof=1)), float(n.var(ddof=1))
    cov = float(np.cov(y, n, ddof=1)[0, 1])
    ratio = mu_y / mu_n
    variance = (var_y - 2 * ratio * cov + ratio * ratio * var_n) / (k * mu_n * mu_n)
    return ratio, max(variance, 0.0)


def ratio_test(
    control_numerators: Sequence[float],
    control_denominators: Sequence[float],
    variant_numerators: Sequence[float],
    variant_denominators: Sequence[float],
    *,
    alpha: float = 0.05,
) -> RatioTest:
    """The difference of two ratio metrics whose unit of analysis (the list) is finer than
    the unit of assignment (the agent). Per group, with per-agent numerators Y and
    denominators N (k agents), R = mean Y / mean N and, by the delta method,
    Var(R) = (s²_Y − 2 R s_YN + R² s²_N) / (k · mean N²) (Deng, Knoblich and Lu, "Applying
    the Delta Method in Metric Analytics", KDD 2018, section 3); the difference is tested with
    z = (R_v − R_c) / sqrt(Var_c + Var_v). Treating lists as independent would understate the
    variance, as one agent's lists are alike. Raises ValueError when a group has fewer than
    two agents, lists of unequal length, or no denominator."""
    from scipy import stats as _stats

    groups = (
        ("control", control_numerators, control_denominators),
        ("variant", variant_numerators, variant_denominators),
    )
    for name, y, n in groups:
        if len(y) != len(n):
            raise ValueError(f"{name}: one denominator per numerator is needed")
        if len(y) < 2:
            raise ValueError(f"{name}: at least two units are needed")
        if sum(n) <= 0:
            raise ValueError(f"{name}: the denominators sum to 0")
    rc, vc = _ratio_and_variance(control_numerators, control_denominators)
    rv, vv = _ratio_and_variance(variant_numerators, variant_denominators)
    diff = rv - rc
    se = math.sqrt(vc + vv)
    z = diff / se if se > 0 else 0.0
    p_value = float(2 * _stats.norm.sf(abs(z)))
    half = float(_stats.norm.ppf(1 - alpha / 2)) * se
    return RatioTest(rc, rv, diff, diff - half, diff + half, z, p_value, p_value < alpha)
