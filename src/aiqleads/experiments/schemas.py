"""What the experiments' admin API takes and answers."""

from __future__ import annotations

import math
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

NAME = r"^[a-z0-9][a-z0-9_.-]{0,79}$"
VARIANT = r"^[a-z0-9][a-z0-9_-]{0,39}$"


class Surface(StrEnum):
    """Where an experiment's variants are served."""

    RECOMMENDATIONS = "recommendations"


class VariantIn(BaseModel):
    """A variant: `name`, `weight` (its traffic share is weight / the sum of weights) and
    `config`, what the surface does for it (for recommendations, `{"recommender": VERSION}`, a
    registered version or `cold-start-1`)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=VARIANT)
    weight: float = Field(gt=0, le=1_000_000)
    config: dict[str, Any] = Field(default_factory=dict)

    @field_validator("weight")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("weight must be a finite number")
        return value


class ExperimentIn(BaseModel):
    """`POST /api/v1/admin/experiments`. The first variant is the control. `salt` seeds the
    assignment hash (default: the name, so no two experiments share one); `window_hours` how
    long after an exposure an outcome counts (default AIQ_EXPERIMENTS__WINDOW_HOURS)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME)
    variants: list[VariantIn] = Field(min_length=2, max_length=10)
    salt: str | None = Field(default=None, min_length=1, max_length=80)
    surface: Surface = Surface.RECOMMENDATIONS
    window_hours: int | None = Field(default=None, ge=1, le=24 * 90)

    @field_validator("variants")
    @classmethod
    def _distinct(cls, value: list[VariantIn]) -> list[VariantIn]:
        names = [v.name for v in value]
        if len(set(names)) != len(names):
            raise ValueError("variant names must be distinct")
        return value


class ConcludeIn(BaseModel):
    """`POST …/{name}/conclude`: the winning variant's name, or null for none."""

    model_config = ConfigDict(extra="forbid")

    winner: str | None = None


class VariantOut(BaseModel):
    name: str
    weight: float
    share: float
    config: dict[str, Any]


class ExperimentOut(BaseModel):
    name: str
    surface: str
    status: str
    salt: str
    variants: list[VariantOut]
    window_hours: int
    created_at: datetime
    started_at: datetime | None
    stopped_at: datetime | None
    concluded_at: datetime | None
    winner: str | None


class RateOut(BaseModel):
    """One outcome of one variant: `agents` exposed agents with at least one (of `of`
    agents), `rate` = agents / of with its Wilson 95 % interval; `exposures` lists served that
    led to at least one, `exposure_rate` their share of the lists; `events` how many."""

    agents: int
    of: int
    rate: float | None
    ci_low: float
    ci_high: float
    exposures: int
    exposure_rate: float | None
    events: int


class LatencyOut(BaseModel):
    """Recorded serving latencies of a variant's lists (milliseconds)."""

    samples: int
    mean_ms: float | None
    p50_ms: float | None
    p95_ms: float | None


class VariantReport(BaseModel):
    name: str
    is_control: bool
    expected_share: float
    agents: int
    exposures: int
    leads_served: int
    outcomes: dict[str, RateOut]
    purchases: int
    returned: int
    return_rate: float | None
    latency: LatencyOut


class CupedOut(BaseModel):
    """The same comparison after CUPED (`aiqleads.experiments.stats.cuped_test`), the
    covariate being each agent's events of the outcome's kind in the `before_days` days before
    the experiment started: the adjusted difference, its interval, z, p-value, theta and the
    share of variance removed."""

    before_days: int
    difference: float
    ci_low: float
    ci_high: float
    z: float
    p_value: float
    significant: bool
    theta: float
    variance_reduction: float


class PerListOut(BaseModel):
    """The same outcome per list served (lists with one / lists), each variant's rate with
    its delta-method variance over agents (`aiqleads.experiments.stats.ratio_test`): more
    sensitive than the per-agent rate when agents see many lists."""

    control_rate: float
    variant_rate: float
    difference: float
    ci_low: float
    ci_high: float
    z: float
    p_value: float
    significant: bool


class ComparisonOut(BaseModel):
    """A variant against the control on one outcome, per agent (see
    `aiqleads.experiments.stats.two_proportion_test`): the difference of rates with its
    confidence interval, relative lift, z and two-sided p-value; the same after CUPED (null
    when it is off or a group has fewer than two agents); and per list served."""

    variant: str
    metric: str
    control_rate: float
    variant_rate: float
    difference: float
    ci_low: float
    ci_high: float
    confidence: float
    relative_lift: float | None
    z: float
    p_value: float
    significant: bool
    cuped: CupedOut | None = None
    per_list: PerListOut | None = None


class SampleRatioOut(BaseModel):
    """The sample-ratio-mismatch check on exposed agents per variant."""

    observed: list[int]
    expected: list[float]
    chi2: float
    p_value: float
    alpha: float
    flagged: bool


class GuardrailOut(BaseModel):
    """A guardrail of a variant: `latency_p95` (its p95 against the control's × (1 +
    tolerance)) or `return_rate` (its returned share of purchases against the control's,
    breached when higher with p < alpha). `value`/`control` None when not measurable yet."""

    name: str
    variant: str
    value: float | None
    control: float | None
    limit: float | None
    p_value: float | None
    breached: bool


class ExperimentReport(BaseModel):
    """`aiqleads experiments report NAME` and `GET /api/v1/admin/experiments/{name}/report`:
    per-variant counts and rates, each variant against the control, the sample-ratio check
    and guardrails, as of `as_of`. A fixed-horizon analysis: read it at the planned end, not
    by peeking until it looks significant."""

    experiment: ExperimentOut
    as_of: datetime
    control: str
    unit: str = "agent"
    window_hours: int
    variants: list[VariantReport]
    comparisons: list[ComparisonOut]
    sample_ratio: SampleRatioOut
    guardrails: list[GuardrailOut]
    warnings: list[str]
