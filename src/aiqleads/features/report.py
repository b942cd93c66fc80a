"""The behaviour × market correlation report: Spearman's rank correlation between each lead
behaviour feature and each market-context column of the "lead_market" set, as a table (CSV)
and a heatmap (PNG).

Spearman's rho is Pearson's correlation of the ranks (ties get their mean rank), computed by
`scipy.stats.spearmanr`, with its two-sided p-value (a t distribution with n − 2 degrees of
freedom under independence). A pair whose column has one value only has no rank correlation:
it is reported with its status ("zero variance in …") and no rho or p-value, never NaN; so is a
pair over fewer than `MIN_LEADS` leads.
"""

from __future__ import annotations

import asyncio
import csv
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.config import FeatureSettings
from aiqleads.features.lead_market import MARKET_FEATURES, lead_market_features_batch
from aiqleads.features.matrix import FeatureMatrix

BEHAVIOUR_FEATURES: tuple[str, ...] = (
    "views_24h",
    "views_7d",
    "views_30d",
    "holds_24h",
    "holds_7d",
    "holds_30d",
    "engagement",
    "sessions",
    "recency_hours",
)
CSV_COLUMNS = ("behaviour", "market", "n", "rho", "p_value", "status")
CSV_NAME = "behaviour_market_correlations.csv"
PNG_NAME = "behaviour_market_correlations.png"
MIN_LEADS = 3  # below three leads a rank correlation says nothing (and its p-value is undefined)
OK = "ok"


@dataclass(frozen=True, slots=True)
class Correlation:
    """One pair: `rho` and `p_value` are None unless `status` is "ok"."""

    behaviour: str
    market: str
    n: int
    rho: float | None
    p_value: float | None
    status: str


def correlations(
    matrix: FeatureMatrix,
    behaviour: Sequence[str] = BEHAVIOUR_FEATURES,
    market: Sequence[str] = MARKET_FEATURES,
) -> list[Correlation]:
    """Spearman's rho of every (behaviour, market) pair of columns over the matrix's rows, in
    behaviour-then-market order. Raises ValueError naming a column the matrix lacks."""
    missing = [c for c in (*behaviour, *market) if c not in matrix.names]
    if missing:
        raise ValueError(f"columns not in the feature matrix: {', '.join(missing)}")
    column = {name: j for j, name in enumerate(matrix.names)}
    n = int(matrix.ids.size)
    out = []
    for b in behaviour:
        x = matrix.values[:, column[b]]
        for m in market:
            y = matrix.values[:, column[m]]
            out.append(_pair(b, m, x, y, n))
    return out


def _constant(values: NDArray[np.float64]) -> bool:
    return bool(values.size == 0 or np.all(values == values[0]))


def _pair(b: str, m: str, x: NDArray[np.float64], y: NDArray[np.float64], n: int) -> Correlation:
    if n < MIN_LEADS:
        return Correlation(b, m, n, None, None, f"fewer than {MIN_LEADS} leads")
    if _constant(x):
        return Correlation(b, m, n, None, None, "zero variance in behaviour")
    if _constant(y):
        return Correlation(b, m, n, None, None, "zero variance in market")
    # Imported here, not with the module: scipy.stats is ~30 MB that a process serving the
    # catalog never needs.
    from scipy import stats

    with warnings.catch_warnings():
        # Constant input is ruled out above; any other warning is an error worth seeing.
        warnings.simplefilter("error")
        result = stats.spearmanr(x, y)
    rho, p = float(result.statistic), float(result.pvalue)
    if not (math.isfinite(rho) and math.isfinite(p)):
        return Correlation(b, m, n, None, None, "undefined")
    return Correlation(b, m, n, rho, p, OK)


def write_csv(rows: Sequence[Correlation], path: Path) -> None:
    """The table, one pair a line, columns `CSV_COLUMNS`; rho and p-value empty unless "ok"."""
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(CSV_COLUMNS)
        for r in rows:
            out.writerow(
                [
                    r.behaviour,
                    r.market,
                    r.n,
                    "" if r.rho is None else f"{r.rho:.6f}",
                    "" if r.p_value is None else f"{r.p_value:.6g}",
                    r.status,
                ]
            )


def write_heatmap(rows: Sequence[Correlation], path: Path) -> None:
    """A PNG heatmap of rho (behaviour rows × market columns, −1 blue to +1 red); pairs
    without a rho are grey and marked "–"."""
    # The object-oriented API with the Agg canvas: no pyplot global state, no display needed.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    behaviour = list(dict.fromkeys(r.behaviour for r in rows))
    market = list(dict.fromkeys(r.market for r in rows))
    grid = np.full((len(behaviour), len(market)), np.nan)
    for r in rows:
        if r.rho is not None:
            grid[behaviour.index(r.behaviour), market.index(r.market)] = r.rho
    fig = Figure(figsize=(1.0 + 0.75 * len(market), 1.5 + 0.45 * len(behaviour)))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_facecolor("#d9d9d9")
    image = ax.imshow(np.ma.masked_invalid(grid), cmap="RdBu_r", vmin=-1.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(market)), [m.removeprefix("market_") for m in market])
    ax.set_yticks(range(len(behaviour)), behaviour)
    ax.tick_params(axis="x", labelrotation=60)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
        label.set_rotation_mode("anchor")
    for i in range(len(behaviour)):
        for j in range(len(market)):
            value = grid[i, j]
            shown = "–" if math.isnan(value) else f"{value:.2f}"
            ax.text(j, i, shown, ha="center", va="center", fontsize=7)
    n = max((r.n for r in rows), default=0)
    ax.set_title(f"Spearman's rho, lead behaviour × market context ({n} leads)")
    ax.set_xlabel("market context of the lead's ZIP   (–: zero variance or too few leads)")
    fig.colorbar(image, ax=ax, label="rho")
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=110)


@dataclass(frozen=True, slots=True)
class Report:
    rows: list[Correlation]
    leads: int
    csv_path: Path
    png_path: Path


async def build(
    session: AsyncSession,
    now: datetime,
    out_dir: Path,
    *,
    settings: FeatureSettings | None = None,
) -> Report:
    """The report over every stored lead's "lead_market" features at `now`, written to
    `out_dir` (created when missing) as `CSV_NAME` and `PNG_NAME`."""
    matrix = await lead_market_features_batch(session, now, settings=settings)
    csv_path, png_path = out_dir / CSV_NAME, out_dir / PNG_NAME

    def compute_and_write() -> list[Correlation]:
        rows = correlations(matrix)
        out_dir.mkdir(parents=True, exist_ok=True)
        write_csv(rows, csv_path)
        write_heatmap(rows, png_path)
        return rows

    # Ranks, p-values and the chart are CPU work: off the event loop (STYLE.md).
    rows = await asyncio.to_thread(compute_and_write)
    return Report(rows, int(matrix.ids.size), csv_path, png_path)
