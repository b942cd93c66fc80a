"""The report as a PNG chart: each outcome's rate per variant with its 95 % interval."""

from __future__ import annotations

import io

from aiqleads.experiments.outcomes import METRICS
from aiqleads.experiments.schemas import ExperimentReport

_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860")


def render(report: ExperimentReport) -> bytes:
    """A PNG: one panel per outcome (click, hold, purchase) with each variant's rate per
    exposed agent and its Wilson 95 % interval, the p-value against the control above each
    variant's bar, the sample-ratio check and breached guardrails in the title. CPU work:
    call it off the event loop."""
    # The object-oriented API with the Agg canvas: no pyplot global state, no display needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = [v.name for v in report.variants]
    p_values = {(c.variant, c.metric): c.p_value for c in report.comparisons}
    fig = Figure(figsize=(3.2 * len(METRICS) + 0.6, 4.2))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(METRICS))
    for ax, metric in zip(axes, METRICS, strict=True):
        rates = [v.outcomes[metric].rate or 0.0 for v in report.variants]
        # Error bars from the Wilson interval (never negative: the interval holds the rate,
        # but at 0 its rounded edge may sit a hair above it).
        pairs = list(zip(rates, report.variants, strict=True))
        low = [max(0.0, r - v.outcomes[metric].ci_low) for r, v in pairs]
        high = [max(0.0, v.outcomes[metric].ci_high - r) for r, v in pairs]
        colours = [_COLOURS[i % len(_COLOURS)] for i in range(len(names))]
        ax.bar(range(len(names)), rates, yerr=[low, high], capsize=4, color=colours)
        ax.set_xticks(range(len(names)), names)
        ax.set_title(f"{metric} rate per agent")
        ax.set_ylim(0, max([v.outcomes[metric].ci_high for v in report.variants] + [0.05]) * 1.2)
        for i, v in enumerate(report.variants):
            p = p_values.get((v.name, metric))
            label = f"n={v.agents}" if p is None else f"n={v.agents}\np={p:.3g}"
            ax.annotate(
                label,
                (i, v.outcomes[metric].ci_high),
                textcoords="offset points",
                xytext=(0, 4),
                ha="center",
                fontsize=7,
            )
    srm = report.sample_ratio
    notes = [f"SRM p={srm.p_value:.3g}" + (" MISMATCH" if srm.flagged else " ok")]
    breached = [f"{g.name} ({g.variant})" for g in report.guardrails if g.breached]
    notes.append("guardrails breached: " + ", ".join(breached) if breached else "guardrails ok")
    fig.suptitle(
        f"{report.experiment.name} ({report.experiment.status}) as of"
        f" {report.as_of:%Y-%m-%d %H:%M} UTC — " + "; ".join(notes),
        fontsize=9,
    )
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()
