"""Every Prometheus metric of the application, in one place.

Labels stay bounded: routes by their template ("/api/v1/leads/{lead_id}"), never the raw path,
and never a user or lead id. In production with several workers, set PROMETHEUS_MULTIPROC_DIR
(`aiqleads serve` does) so /metrics aggregates them all.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client import values as prometheus_values

from aiqleads.kit.pid import current_pid

# With PROMETHEUS_MULTIPROC_DIR, each value checks the process id on every update, to notice a
# fork: a system call per update, several per request. prometheus_client takes the function
# that names the process (`MultiProcessValue(process_identifier=)`); this one answers from a
# copy refreshed after each fork. It must be in place before the first metric is made.
if getattr(prometheus_values.ValueClass, "_multiprocess", False):
    prometheus_values.ValueClass = prometheus_values.MultiProcessValue(  # type: ignore[no-untyped-call]
        process_identifier=current_pid
    )

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
# One failure outcome for an unknown e-mail, a wrong password and a deactivated account: a
# public counter that told them apart would say whether an account exists.
LOGINS = Counter(
    "aiq_logins_total",
    "Password logins by outcome (ok, failed, throttled).",
    ["outcome"],
)
PASSWORD_CHECKS = Counter(
    "aiq_password_checks_total",
    "argon2id password verifications run (every login attempt that is not throttled runs one).",
)

# --- geo analytics (heatmap, clusters, penetration, competitors) -------------------------------
# `endpoint` is one of four fixed names; never a query, metro or account.
GEO_CACHE_HITS = Counter(
    "aiq_geo_cache_hits_total", "Geo answers served from the cache, by endpoint.", ["endpoint"]
)
GEO_CACHE_MISSES = Counter(
    "aiq_geo_cache_misses_total", "Geo answers computed (cache miss), by endpoint.", ["endpoint"]
)
GEO_COMPUTE_SECONDS = Histogram(
    "aiq_geo_compute_seconds",
    "Time to compute a geo answer on a cache miss (query, algorithm, encoding), by endpoint.",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

# --- ingestion ---------------------------------------------------------------------------------
# Sources are parser slugs and reasons are the short stable codes ("price_implausible"), never
# the free-text detail, so the label sets stay small.

INGEST_RECORDS = Counter(
    "aiq_ingest_records_total",
    "Records ingested, by source and outcome (created, updated, unchanged, merged, quarantined).",
    ["source", "outcome"],
)
INGEST_STAGE_SECONDS = Histogram(
    "aiq_ingest_stage_seconds",
    "Time one batch spent in an ingestion stage.",
    ["stage"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
QUARANTINE = Counter(
    "aiq_quarantine_total",
    "Records and documents put in the quarantine, by source and reason code.",
    ["source", "reason"],
)

# --- the marketplace transaction ------------------------------------------------------------
# `outcome` and `status` are small fixed sets; never an account, lead or order.
CHECKOUTS = Counter(
    "aiq_checkouts_total",
    "Checkout attempts by outcome (paid, declined, requires_action, gateway_unavailable,"
    " rejected).",
    ["outcome"],
)
REFUNDS = Counter(
    "aiq_refunds_total", "Refunds asked of the gateway, by the gateway's answer.", ["status"]
)
GATEWAY_SECONDS = Histogram(
    "aiq_payment_gateway_seconds",
    "Time a payment gateway call took, by gateway and operation.",
    ["gateway", "operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

# --- background work, holds, webhooks -------------------------------------------------------------
# `task` is a registered task's name ("cart.sweep_holds"), a fixed set; "unknown" for a row whose
# task this process does not know.

TASKS_RUN = Counter(
    "aiq_tasks_total",
    "Background task runs by task and outcome (ok; retry: failed, will run again; dead: failed"
    " past its retries, dead-lettered; superseded: failed after another runner had claimed the"
    " row, which decides).",
    ["task", "outcome"],
)
TASK_DURATION = Histogram(
    "aiq_task_duration_seconds",
    "Time one run of a background task took, by task.",
    ["task"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
ACTIVE_HOLDS = Gauge(
    "aiq_active_holds",
    "Leads held now (a hold not yet lapsed), as the hold sweeper last counted them.",
    multiprocess_mode="mostrecent",
)
HOLDS_EXPIRED = Counter(
    "aiq_holds_expired_total",
    "Holds the sweeper ended, by reason (expired: its time ran out; lost: the lead left the"
    " market while held).",
    ["reason"],
)
HOLD_EXPIRING_NOTICES = Counter(
    "aiq_hold_expiring_notices_total", '"Hold expiring" notices sent (once per hold and end).'
)
WEBHOOK_DELIVERIES = Counter(
    "aiq_webhook_deliveries_total",
    "Webhook delivery attempts by event type and outcome (delivered; retry: failed, will try"
    " again; failed: given up after the last attempt).",
    ["event_type", "outcome"],
)
RETURNS = Counter(
    "aiq_returns_total",
    "Lead returns by outcome: requested (by a buyer), approved or rejected (by an admin),"
    " refunded (the refund recorded and the lead returned).",
    ["outcome"],
)

# --- operations: rate limits, database, caches, dependencies, ingestion runs, sources ----------
# `scope` is account, ip or login; `tier` a tier name or "anonymous". `operation` is the SQL
# verb; `cache` a fixed cache name; `dependency` database or redis; `field` one of the fixed
# key fields of a source profile (aiqleads.sources.profile.FIELDS).

RATE_LIMIT_REJECTIONS = Counter(
    "aiq_rate_limit_rejections_total",
    "Requests refused with 429 by a rate limit, by scope (account, ip, login, register) and tier.",
    ["scope", "tier"],
)
RATE_LIMIT_STORAGE_ERRORS = Counter(
    "aiq_rate_limit_storage_errors_total",
    "Rate-limit checks that could not reach their storage (the request was let through).",
)
DB_QUERY_SECONDS = Histogram(
    "aiq_db_query_seconds",
    "Time a database statement took (cursor execute to result), by SQL operation.",
    ["operation"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)
CACHE_HITS = Counter("aiq_cache_hits_total", "Cache look-ups answered, by cache.", ["cache"])
CACHE_MISSES = Counter(
    "aiq_cache_misses_total", "Cache look-ups that found nothing usable, by cache.", ["cache"]
)
NEAR_CACHE_HITS = Counter(
    "aiq_near_cache_hits_total",
    "Hits of the shared cache answered from this process's near copy, without Redis.",
)
DEPENDENCY_UP = Gauge(
    "aiq_dependency_up",
    "Whether a dependency answered its last check (1) or not (0), checked at each scrape.",
    ["dependency"],
    multiprocess_mode="mostrecent",
)
INGEST_RUNS_ACTIVE = Gauge(
    "aiq_ingest_runs_active",
    "Ingestion runs in progress.",
    multiprocess_mode="livesum",
)
INGEST_STAGE_RECORDS = Counter(
    "aiq_ingest_stage_records_total",
    "Records that entered an ingestion stage, by source and stage.",
    ["source", "stage"],
)
SOURCE_FIELD_DRIFT = Gauge(
    "aiq_source_field_drift",
    "How far a source's latest profile is from its baseline, per key field: the absolute"
    " difference of shares (0-1), or of log2 price ratios for price percentiles.",
    ["source", "field"],
    multiprocess_mode="mostrecent",
)
SOURCE_DRIFTED = Gauge(
    "aiq_source_drifted",
    "1 when some key field of a source drifted beyond its threshold, else 0.",
    ["source"],
    multiprocess_mode="mostrecent",
)
SOURCE_PROFILE_AGE = Gauge(
    "aiq_source_profile_timestamp_seconds",
    "When a source's latest profile was computed (Unix time).",
    ["source"],
    multiprocess_mode="mostrecent",
)

# --- lead scoring ------------------------------------------------------------------------------
# `model_version` is a registered model's version and `feature` one of its feature names: both
# bounded by the registry, never a lead or an account.
SCORING_FEATURE_IMPORTANCE = Gauge(
    "aiq_scoring_feature_importance_ratio",
    "A scoring model's feature importance: the feature's share (0-1) of the model's total split"
    " gain, by model version and feature.",
    ["model_version", "feature"],
    multiprocess_mode="mostrecent",
)

# --- A/B experiments ---------------------------------------------------------------------------
# `experiment` is an experiment's name (admins create a handful) and `variant` one of its few
# variants: bounded by the experiments table, never an agent or a lead.
EXPERIMENT_EXPOSURES = Counter(
    "aiq_experiment_exposures_total",
    "Lists served under an experiment's variant (exposures logged), by experiment and variant.",
    ["experiment", "variant"],
)
EXPERIMENT_EXPOSURES_LOST = Counter(
    "aiq_experiment_exposures_lost_total",
    "Exposures that could not be written (the recorder's flush failed).",
)
EXPERIMENT_SERVED_SECONDS = Histogram(
    "aiq_experiment_served_seconds",
    "Time to serve a list under an experiment's variant, by experiment and variant.",
    ["experiment", "variant"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
EXPERIMENT_SRM_FLAGGED = Gauge(
    "aiq_experiment_srm_flagged",
    "1 when an experiment's last report flagged a sample-ratio mismatch, else 0.",
    ["experiment"],
    multiprocess_mode="mostrecent",
)

# --- recommendations -----------------------------------------------------------------------------
# `model_version` is a registered recommender's version or "cold-start-1": bounded by the
# registry; `outcome` one of opened, held, bought. Online accuracy per version for dashboards
# and alerts: outcomes / items served.
RECOMMENDATION_LISTS = Counter(
    "aiq_recommendation_lists_total",
    "Recommendation lists served, by the model version that ranked them.",
    ["model_version"],
)
RECOMMENDATION_IMPRESSIONS_LOST = Counter(
    "aiq_recommendation_impressions_lost_total",
    "Impression rows (served recommended leads) that could not be written (the recorder's"
    " flush failed).",
)
RECOMMENDATION_ITEMS = Counter(
    "aiq_recommendation_items_total",
    "Recommended leads served (items of the lists), by model version.",
    ["model_version"],
)
RECOMMENDATION_OUTCOMES = Counter(
    "aiq_recommendation_outcomes_total",
    "Served recommendations the agent then opened, held or bought, by model version and"
    " outcome (counted by the recommend.outcomes task from the event log).",
    ["model_version", "outcome"],
)
RECOMMENDATION_INFERENCE_SECONDS = Histogram(
    "aiq_recommendation_inference_seconds",
    "Time to compute features and scores and rank one list (no database), by model version.",
    ["model_version"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
)
RECOMMENDER_SERVING = Gauge(
    "aiq_recommender_serving",
    "1 for the recommender version this process serves, 0 for one it served before.",
    ["model_version"],
    multiprocess_mode="mostrecent",
)
