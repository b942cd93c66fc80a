"""Grafana dashboards, one per area, generated from code so every panel names real metrics.

`python -m aiqleads.observability.dashboards deploy/monitoring/dashboards` writes them (the
test suite checks the files are what this module makes and that every expression parses as
PromQL). Import them in Grafana (Dashboards → Import, or file provisioning) with a Prometheus
data source; each asks which one through its `datasource` variable.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RATE = "$__rate_interval"
# What users call: not the scrapes, the docs or static files, nor unknown paths.
API_ROUTES = 'route!~"/metrics|/docs.*|/redoc|/openapi.json|/static/.*|unmatched"'


@dataclass(frozen=True)
class Panel:
    title: str
    exprs: tuple[tuple[str, str], ...]  # (PromQL, legend)
    unit: str = "short"
    kind: str = "timeseries"  # or "stat"
    description: str = ""


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    panels: tuple[Panel, ...]
    variables: tuple[tuple[str, str], ...] = field(default=())  # (name, label_values query)


def _p(title: str, *exprs: tuple[str, str], **kwargs: str) -> Panel:
    return Panel(title, tuple(exprs), **kwargs)


def _quantile(q: float, metric: str, by: str, selector: str = "") -> str:
    sel = f"{{{selector}}}" if selector else ""
    labels = f"le, {by}" if by else "le"
    return f"histogram_quantile({q}, sum by ({labels}) (rate({metric}_bucket{sel}[{RATE}])))"


API = Dashboard(
    uid="aiq-api",
    title="AIQLeads / API",
    description="Requests, errors and latency per route template; rate limits; database.",
    panels=(
        _p(
            "Requests per second by route",
            (
                f"sum by (route) (rate(aiq_http_requests_total{{{API_ROUTES}}}[{RATE}]))",
                "{{route}}",
            ),
            unit="reqps",
        ),
        _p(
            "5xx share of answers (alert: > 0.1 %)",
            (
                f'sum(rate(aiq_http_requests_total{{status=~"5.."}}[{RATE}]))'
                f" / sum(rate(aiq_http_requests_total[{RATE}]))",
                "5xx",
            ),
            unit="percentunit",
        ),
        _p(
            "Latency p50 / p95 / p99 (alert: p95 > 200 ms)",
            (_quantile(0.5, "aiq_http_request_duration_seconds", "", API_ROUTES), "p50"),
            (_quantile(0.95, "aiq_http_request_duration_seconds", "", API_ROUTES), "p95"),
            (_quantile(0.99, "aiq_http_request_duration_seconds", "", API_ROUTES), "p99"),
            unit="s",
        ),
        _p(
            "p95 latency by route",
            (
                _quantile(0.95, "aiq_http_request_duration_seconds", "route", API_ROUTES),
                "{{route}}",
            ),
            unit="s",
        ),
        _p(
            "Answers by status",
            (f"sum by (status) (rate(aiq_http_requests_total[{RATE}]))", "{{status}}"),
            unit="reqps",
        ),
        _p("Requests in flight", ("sum(aiq_http_requests_in_flight)", "in flight")),
        _p(
            "Rate-limit rejections by scope and tier",
            (
                f"sum by (scope, tier) (rate(aiq_rate_limit_rejections_total[{RATE}]))",
                "{{scope}} {{tier}}",
            ),
            (f"sum(rate(aiq_rate_limit_storage_errors_total[{RATE}]))", "storage errors"),
            unit="reqps",
        ),
        _p(
            "Logins by outcome",
            (f"sum by (outcome) (rate(aiq_logins_total[{RATE}]))", "{{outcome}}"),
            unit="reqps",
        ),
        _p(
            "Database statement p95 by operation",
            (_quantile(0.95, "aiq_db_query_seconds", "operation"), "{{operation}}"),
            unit="s",
        ),
        _p(
            "Database statements per second",
            (f"sum by (operation) (rate(aiq_db_query_seconds_count[{RATE}]))", "{{operation}}"),
            unit="ops",
        ),
        _p(
            "Dependencies up",
            ("min by (dependency) (aiq_dependency_up)", "{{dependency}}"),
            ('up{job="aiqleads-api"}', "{{instance}}"),
            kind="stat",
        ),
        _p(
            "Cache hit ratio by cache",
            ("aiq:cache_hit_ratio:rate15m", "{{cache}}"),
            unit="percentunit",
        ),
    ),
)

INGESTION = Dashboard(
    uid="aiq-ingestion",
    title="AIQLeads / Ingestion and sources",
    description="Records per source and outcome, stages, quarantine, and each source's drift"
    " from its baseline (aiqleads sources report).",
    variables=(("source", "label_values(aiq_ingest_records_total, source)"),),
    panels=(
        _p(
            "Records per second by source and outcome (alert: < 100/s during a run)",
            (
                f'sum by (source, outcome) (rate(aiq_ingest_records_total{{source=~"$source"}}'
                f"[{RATE}]))",
                "{{source}} {{outcome}}",
            ),
            unit="ops",
        ),
        _p("Runs in progress", ("sum(aiq_ingest_runs_active)", "runs"), kind="stat"),
        _p(
            "Quarantined share by source (15 min; alert on a jump)",
            ('aiq:ingest_quarantine_ratio:rate15m{source=~"$source"}', "{{source}} 15m"),
            ('aiq:ingest_quarantine_ratio:rate1d{source=~"$source"}', "{{source}} 1d"),
            unit="percentunit",
        ),
        _p(
            "Quarantined per second by reason",
            (
                f'sum by (source, reason) (rate(aiq_quarantine_total{{source=~"$source"}}'
                f"[{RATE}]))",
                "{{source}} {{reason}}",
            ),
            unit="ops",
        ),
        _p(
            "Stage time per batch, p95",
            (_quantile(0.95, "aiq_ingest_stage_seconds", "stage"), "{{stage}}"),
            unit="s",
        ),
        _p(
            "Records entering each stage per second",
            (
                f'sum by (source, stage) (rate(aiq_ingest_stage_records_total{{source=~"$source"}}'
                f"[{RATE}]))",
                "{{source}} {{stage}}",
            ),
            unit="ops",
        ),
        _p(
            "Drift from the baseline by field",
            (
                'max by (source, field) (aiq_source_field_drift{source=~"$source"})',
                "{{source}} {{field}}",
            ),
        ),
        _p(
            "Sources drifted (alert)",
            ('max by (source) (aiq_source_drifted{source=~"$source"})', "{{source}}"),
            kind="stat",
        ),
        _p(
            "Age of each source's latest profile",
            (
                "time() - max by (source)"
                ' (aiq_source_profile_timestamp_seconds{source=~"$source"})',
                "{{source}}",
            ),
            unit="s",
        ),
    ),
)

GEO = Dashboard(
    uid="aiq-geo",
    title="AIQLeads / Geo analytics",
    description="Map layers: cache hits per endpoint, compute time on a miss, route latency.",
    panels=(
        _p(
            "Geo cache hit ratio by endpoint (alert: < 80 %)",
            (
                f"sum by (endpoint) (rate(aiq_geo_cache_hits_total[{RATE}])) / (sum by (endpoint)"
                f" (rate(aiq_geo_cache_hits_total[{RATE}])) + sum by (endpoint)"
                f" (rate(aiq_geo_cache_misses_total[{RATE}])))",
                "{{endpoint}}",
            ),
            unit="percentunit",
        ),
        _p(
            "Compute time on a miss, p95 by endpoint",
            (_quantile(0.95, "aiq_geo_compute_seconds", "endpoint"), "{{endpoint}}"),
            unit="s",
        ),
        _p(
            "Misses per second by endpoint",
            (f"sum by (endpoint) (rate(aiq_geo_cache_misses_total[{RATE}]))", "{{endpoint}}"),
            unit="ops",
        ),
        _p(
            "Geo routes: requests per second",
            (
                f"sum by (route) (rate(aiq_http_requests_total"
                f'{{route=~"/api/v1/geo/.*"}}[{RATE}]))',
                "{{route}}",
            ),
            unit="reqps",
        ),
        _p(
            "Geo routes: p95 latency",
            (
                _quantile(
                    0.95, "aiq_http_request_duration_seconds", "route", 'route=~"/api/v1/geo/.*"'
                ),
                "{{route}}",
            ),
            unit="s",
        ),
    ),
)

COMMERCE = Dashboard(
    uid="aiq-commerce",
    title="AIQLeads / Cart, checkout and payments",
    description="Holds, checkouts by outcome, the payment gateway, refunds.",
    panels=(
        _p("Leads held now", ("max(aiq_active_holds)", "held"), kind="stat"),
        _p(
            "Holds ended by the sweeper",
            (f"sum by (reason) (rate(aiq_holds_expired_total[{RATE}]))", "{{reason}}"),
            (f"sum(rate(aiq_hold_expiring_notices_total[{RATE}]))", "expiring notices"),
            unit="ops",
        ),
        _p(
            "Checkouts by outcome",
            (f"sum by (outcome) (rate(aiq_checkouts_total[{RATE}]))", "{{outcome}}"),
            unit="ops",
        ),
        _p(
            "Declined and unavailable share of checkouts",
            (
                f'sum(rate(aiq_checkouts_total{{outcome="declined"}}[{RATE}]))'
                f" / sum(rate(aiq_checkouts_total[{RATE}]))",
                "declined",
            ),
            (
                f'sum(rate(aiq_checkouts_total{{outcome="gateway_unavailable"}}[{RATE}]))'
                f" / sum(rate(aiq_checkouts_total[{RATE}]))",
                "gateway unavailable",
            ),
            unit="percentunit",
        ),
        _p(
            "Gateway call p95 by gateway and operation",
            (
                _quantile(0.95, "aiq_payment_gateway_seconds", "gateway, operation"),
                "{{gateway}} {{operation}}",
            ),
            unit="s",
        ),
        _p(
            "Refunds by the gateway's answer",
            (f"sum by (status) (increase(aiq_refunds_total[{RATE}]))", "{{status}}"),
        ),
        _p(
            "Cart and checkout routes: p95 latency",
            (
                _quantile(
                    0.95,
                    "aiq_http_request_duration_seconds",
                    "route",
                    'route=~"/api/v1/(cart|checkout|orders).*"',
                ),
                "{{route}}",
            ),
            unit="s",
        ),
    ),
)

BACKGROUND = Dashboard(
    uid="aiq-background",
    title="AIQLeads / Background work and webhooks",
    description="Tasks by outcome, their duration, dead letters, webhook deliveries.",
    panels=(
        _p(
            "Task runs by task and outcome",
            (f"sum by (task, outcome) (rate(aiq_tasks_total[{RATE}]))", "{{task}} {{outcome}}"),
            unit="ops",
        ),
        _p(
            "Task duration p95",
            (_quantile(0.95, "aiq_task_duration_seconds", "task"), "{{task}}"),
            unit="s",
        ),
        _p(
            "Dead-lettered tasks (last hour)",
            ('sum by (task) (increase(aiq_tasks_total{outcome="dead"}[1h]))', "{{task}}"),
            kind="stat",
        ),
        _p(
            "Webhook delivery attempts by outcome",
            (
                f"sum by (event_type, outcome) (rate(aiq_webhook_deliveries_total[{RATE}]))",
                "{{event_type}} {{outcome}}",
            ),
            unit="ops",
        ),
    ),
)

MODELS = Dashboard(
    uid="aiq-models",
    title="AIQLeads / Models and experiments",
    description=(
        "The recommender's serving version, latency and online accuracy (the share of served"
        " items opened, held and bought); the scoring model's feature importance; A/B"
        " experiments' exposures, serving time and sample-ratio checks."
    ),
    panels=(
        _p(
            "Recommendation lists per second by model version",
            (
                f"sum by (model_version) (rate(aiq_recommendation_lists_total[{RATE}]))",
                "{{model_version}}",
            ),
            unit="ops",
        ),
        _p(
            "Recommender inference p95 by model version",
            (
                _quantile(0.95, "aiq_recommendation_inference_seconds", "model_version"),
                "{{model_version}}",
            ),
            unit="s",
        ),
        _p(
            "Online accuracy: outcomes per served item (1 h), by version and outcome",
            (
                "sum by (model_version, outcome) (increase(aiq_recommendation_outcomes_total[1h]))"
                " / on (model_version) group_left"
                " sum by (model_version) (increase(aiq_recommendation_items_total[1h]))",
                "{{model_version}} {{outcome}}",
            ),
            unit="percentunit",
            description="Counted by the recommend.outcomes task from the event log.",
        ),
        _p(
            "Recommender version served",
            ("max by (model_version) (aiq_recommender_serving) == 1", "{{model_version}}"),
            kind="stat",
        ),
        _p(
            "Scoring: top 10 features by share of split gain",
            (
                "topk(10, max by (feature) (aiq_scoring_feature_importance_ratio))",
                "{{feature}}",
            ),
            unit="percentunit",
        ),
        _p(
            "Experiment exposures per second by variant",
            (
                f"sum by (experiment, variant) (rate(aiq_experiment_exposures_total[{RATE}]))",
                "{{experiment}} {{variant}}",
            ),
            unit="ops",
        ),
        _p(
            "Experiment serving time p95 by variant",
            (
                _quantile(0.95, "aiq_experiment_served_seconds", "experiment, variant"),
                "{{experiment}} {{variant}}",
            ),
            unit="s",
        ),
        _p(
            "Sample-ratio mismatch flagged, and exposures lost",
            ("max by (experiment) (aiq_experiment_srm_flagged)", "SRM {{experiment}}"),
            (
                f"sum(increase(aiq_experiment_exposures_lost_total[{RATE}]))",
                "exposures lost",
            ),
        ),
    ),
)

DASHBOARDS = (API, INGESTION, GEO, COMMERCE, BACKGROUND, MODELS)


def _panel_json(panel: Panel, index: int) -> dict[str, Any]:
    width = 12
    return {
        "id": index + 1,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": width, "x": (index % 2) * width, "y": (index // 2) * 8},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {},
        "targets": [
            {
                "refId": chr(ord("A") + i),
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "expr": expr,
                "legendFormat": legend,
            }
            for i, (expr, legend) in enumerate(panel.exprs)
        ],
    }


def dashboard_json(dashboard: Dashboard) -> dict[str, Any]:
    """The Grafana dashboard model (schema 39) of `dashboard`."""
    variables: list[dict[str, Any]] = [
        {"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus"}
    ]
    for name, query in dashboard.variables:
        variables.append(
            {
                "name": name,
                "type": "query",
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "query": {"query": query, "refId": name},
                "definition": query,
                "includeAll": True,
                "allValue": ".*",
                "multi": True,
                "refresh": 2,
                "current": {"text": "All", "value": "$__all"},
            }
        )
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": ["aiqleads"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": variables},
        "annotations": {"list": []},
        "panels": [_panel_json(p, i) for i, p in enumerate(dashboard.panels)],
    }


def expressions(model: dict[str, Any]) -> list[str]:
    """Every PromQL expression of a dashboard model's panels (variable queries are Grafana's
    `label_values(...)`, not PromQL)."""
    return [t["expr"] for p in model["panels"] for t in p["targets"]]


def write(folder: Path) -> list[Path]:
    """Write each dashboard as `{uid}.json` under `folder`; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for dashboard in DASHBOARDS:
        path = folder / f"{dashboard.uid}.json"
        path.write_text(json.dumps(dashboard_json(dashboard), indent=2) + "\n")
        paths.append(path)
    return paths


if __name__ == "__main__":  # pragma: no cover
    for written in write(
        Path(sys.argv[1] if len(sys.argv) > 1 else "deploy/monitoring/dashboards")
    ):
        print(written)
