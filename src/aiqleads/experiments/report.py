"""The experiment report from the joined outcomes (pure): per-variant rates, each variant
against the control, the sample-ratio check and the guardrails."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import numpy as np

from aiqleads.config import ExperimentSettings
from aiqleads.experiments import stats
from aiqleads.experiments.assignment import Variant, shares
from aiqleads.experiments.outcomes import METRICS, VariantOutcomes
from aiqleads.experiments.schemas import (
    ComparisonOut,
    CupedOut,
    ExperimentOut,
    ExperimentReport,
    GuardrailOut,
    LatencyOut,
    PerListOut,
    RateOut,
    SampleRatioOut,
    VariantReport,
)


def _rate(x: int, n: int) -> float | None:
    return x / n if n else None


def _latency(values: Sequence[float]) -> LatencyOut:
    if not values:
        return LatencyOut(samples=0, mean_ms=None, p50_ms=None, p95_ms=None)
    a = np.asarray(values, dtype=np.float64)
    p50, p95 = np.percentile(a, [50, 95])
    return LatencyOut(samples=len(a), mean_ms=float(a.mean()), p50_ms=float(p50), p95_ms=float(p95))


def _variant(name: str, share: float, out: VariantOutcomes, control: str) -> VariantReport:
    agents = len(out.agents)
    outcomes = {}
    for m in METRICS:
        x = len(out.converted[m])
        low, high = stats.wilson_interval(x, agents)
        outcomes[m] = RateOut(
            agents=x,
            of=agents,
            rate=_rate(x, agents),
            ci_low=low,
            ci_high=high,
            exposures=len(out.exposures_with[m]),
            exposure_rate=_rate(len(out.exposures_with[m]), out.exposures),
            events=out.events[m],
        )
    return VariantReport(
        name=name,
        is_control=name == control,
        expected_share=share,
        agents=agents,
        exposures=out.exposures,
        leads_served=out.leads_served,
        outcomes=outcomes,
        purchases=len(out.purchases),
        returned=len(out.returned),
        return_rate=_rate(len(out.returned), len(out.purchases)),
        latency=_latency(out.latencies_ms),
    )


def build(
    experiment: ExperimentOut,
    variants: Sequence[Variant],
    outcomes: Mapping[str, VariantOutcomes],
    *,
    settings: ExperimentSettings,
    as_of: datetime,
    last_served: datetime | None,
    before: Mapping[int, Mapping[str, int]] | None = None,
) -> ExperimentReport:
    """The report. `outcomes` has every variant's (`outcomes.join`); the first variant is the
    control; `last_served` is the latest exposure's time (None without any). `before`: per
    exposed agent, its events per outcome (click, hold, purchase) in the
    `settings.cuped_days` before the start, CUPED's covariate (None: no CUPED)."""
    control = variants[0].name
    expected = shares(variants)
    rows = [
        _variant(v.name, s, outcomes[v.name], control)
        for v, s in zip(variants, expected, strict=True)
    ]
    by_name = {r.name: r for r in rows}
    base = outcomes[control]
    comparisons: list[ComparisonOut] = []
    guardrails: list[GuardrailOut] = []
    for v in variants[1:]:
        out = outcomes[v.name]
        if base.agents and out.agents:
            for m in METRICS:
                t = stats.two_proportion_test(
                    len(base.converted[m]),
                    len(base.agents),
                    len(out.converted[m]),
                    len(out.agents),
                    alpha=settings.alpha,
                )
                comparisons.append(
                    ComparisonOut(
                        variant=v.name,
                        metric=m,
                        control_rate=t.control_rate,
                        variant_rate=t.variant_rate,
                        difference=t.difference,
                        ci_low=t.ci_low,
                        ci_high=t.ci_high,
                        confidence=1 - settings.alpha,
                        relative_lift=t.relative_lift,
                        z=t.z,
                        p_value=t.p_value,
                        significant=t.significant,
                        cuped=_cuped(base, out, m, before, settings),
                        per_list=_per_list(base, out, m, settings),
                    )
                )
        guardrails.append(_latency_guardrail(v.name, by_name, control, settings))
        guardrails.append(_return_guardrail(v.name, base, out, settings))
    srm = stats.sample_ratio_check(
        [len(outcomes[v.name].agents) for v in variants], expected, alpha=settings.srm_alpha
    )
    return ExperimentReport(
        experiment=experiment,
        as_of=as_of,
        control=control,
        window_hours=experiment.window_hours,
        variants=rows,
        comparisons=comparisons,
        sample_ratio=SampleRatioOut(
            observed=srm.observed,
            expected=srm.expected,
            chi2=srm.chi2,
            p_value=srm.p_value,
            alpha=srm.alpha,
            flagged=srm.flagged,
        ),
        guardrails=guardrails,
        warnings=_warnings(rows, srm, experiment, as_of, last_served),
    )


def _cuped(
    base: VariantOutcomes,
    out: VariantOutcomes,
    metric: str,
    before: Mapping[int, Mapping[str, int]] | None,
    settings: ExperimentSettings,
) -> CupedOut | None:
    if before is None or len(base.agents) < 2 or len(out.agents) < 2:
        return None

    def arrays(group: VariantOutcomes) -> tuple[list[float], list[float]]:
        agents = sorted(group.agents)
        converted = group.converted[metric]
        y = [1.0 if a in converted else 0.0 for a in agents]
        x = [float(before.get(a, {}).get(metric, 0)) for a in agents]
        return y, x

    (yc, xc), (yv, xv) = arrays(base), arrays(out)
    t = stats.cuped_test(yc, xc, yv, xv, alpha=settings.alpha)
    return CupedOut(
        before_days=settings.cuped_days,
        difference=t.difference,
        ci_low=t.ci_low,
        ci_high=t.ci_high,
        z=t.z,
        p_value=t.p_value,
        significant=t.significant,
        theta=t.theta,
        variance_reduction=t.variance_reduction,
    )


def _per_list(
    base: VariantOutcomes, out: VariantOutcomes, metric: str, settings: ExperimentSettings
) -> PerListOut | None:
    if len(base.agents) < 2 or len(out.agents) < 2:
        return None

    def arrays(group: VariantOutcomes) -> tuple[list[float], list[float]]:
        agents = sorted(group.agents)
        with_ = group.lists_with_of[metric]
        return [float(with_[a]) for a in agents], [float(group.lists_of[a]) for a in agents]

    (yc, nc), (yv, nv) = arrays(base), arrays(out)
    t = stats.ratio_test(yc, nc, yv, nv, alpha=settings.alpha)
    return PerListOut(
        control_rate=t.control_rate,
        variant_rate=t.variant_rate,
        difference=t.difference,
        ci_low=t.ci_low,
        ci_high=t.ci_high,
        z=t.z,
        p_value=t.p_value,
        significant=t.significant,
    )


def _latency_guardrail(
    name: str, rows: Mapping[str, VariantReport], control: str, settings: ExperimentSettings
) -> GuardrailOut:
    value, base = rows[name].latency.p95_ms, rows[control].latency.p95_ms
    limit = None if base is None else base * (1 + settings.latency_tolerance)
    return GuardrailOut(
        name="latency_p95",
        variant=name,
        value=value,
        control=base,
        limit=limit,
        p_value=None,
        breached=value is not None and limit is not None and value > limit,
    )


def _return_guardrail(
    name: str, base: VariantOutcomes, out: VariantOutcomes, settings: ExperimentSettings
) -> GuardrailOut:
    if not (base.purchases and out.purchases):
        value = _rate(len(out.returned), len(out.purchases))
        control = _rate(len(base.returned), len(base.purchases))
        return GuardrailOut(
            name="return_rate",
            variant=name,
            value=value,
            control=control,
            limit=None,
            p_value=None,
            breached=False,
        )
    t = stats.two_proportion_test(
        len(base.returned),
        len(base.purchases),
        len(out.returned),
        len(out.purchases),
        alpha=settings.alpha,
    )
    return GuardrailOut(
        name="return_rate",
        variant=name,
        value=t.variant_rate,
        control=t.control_rate,
        limit=None,
        p_value=t.p_value,
        breached=t.significant and t.difference > 0,
    )


def _warnings(
    rows: Sequence[VariantReport],
    srm: stats.SampleRatio,
    experiment: ExperimentOut,
    as_of: datetime,
    last_served: datetime | None,
) -> list[str]:
    found: list[str] = []
    if last_served is None:
        found.append("no exposures yet: nothing to compare")
    elif last_served + timedelta(hours=experiment.window_hours) > as_of:
        found.append(
            "the outcome window of the latest exposures is still open: their outcomes may"
            " still come"
        )
    if srm.flagged:
        found.append(
            f"sample-ratio mismatch (chi-square p = {srm.p_value:.3g} < {srm.alpha}): the"
            " variants did not get their configured shares of agents; assignment or exposure"
            " logging is broken, and the comparisons cannot be trusted"
        )
    if any(0 < r.agents < 100 for r in rows):
        found.append(
            "fewer than 100 agents in a variant: the normal approximation of the tests is rough"
        )
    return found
