"""Every Prometheus metric of the application, in one place.

Labels stay bounded: routes by their template ("/api/v1/leads/{lead_id}"), never the raw path,
and never a user or lead id. In production with several workers, set PROMETHEUS_MULTIPROC_DIR
(`aiqleads serve` does) so /metrics aggregates them all.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "aiq_http_requests_total",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "aiq_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
HTTP_IN_FLIGHT = Gauge(
    "aiq_http_requests_in_flight",
    "HTTP requests being answered now.",
    multiprocess_mode="livesum",
)
LOGINS = Counter(
    "aiq_logins_total", "Password logins by outcome (ok, wrong_password, locked).", ["outcome"]
)
LEADS_LOADED = Counter(
    "aiq_leads_loaded_total", "Leads written by the bulk loader, by source.", ["source"]
)
