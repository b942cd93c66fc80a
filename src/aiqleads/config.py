"""All settings in one class, read from the environment with the prefix AIQ_."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development defaults. Production refuses to start with any of them (see `_refuse_defaults`).
DEV_SECRET_KEY = "dev-secret-key-change-me-0123456789abcdef"  # noqa: S105 (dev only)
DEV_ENCRYPTION_KEYS = "dev1:ZGV2LWtleS1ub3QtZm9yLXByb2R1Y3Rpb24tdXNlISE="
DEV_SANDBOX_WEBHOOK_SECRET = "whsec_sandbox_development_only"  # noqa: S105 (signs fake payments)


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class TierPolicy(BaseModel):
    """What one tier may do. Defaults follow DESIGN.md section 2."""

    hold_minutes: int
    hold_extensions: int
    cart_limit: int
    priority_delay_minutes: int  # a new lead becomes visible to the tier after this delay
    discount_percent: int
    rate_limit_per_minute: int
    bulk_limit: int


def _default_tiers() -> dict[str, TierPolicy]:
    return {
        "basic": TierPolicy(
            hold_minutes=15,
            hold_extensions=0,
            cart_limit=10,
            priority_delay_minutes=30,
            discount_percent=0,
            rate_limit_per_minute=100,
            bulk_limit=10,
        ),
        "pro": TierPolicy(
            hold_minutes=120,
            hold_extensions=1,
            cart_limit=50,
            priority_delay_minutes=15,
            discount_percent=15,
            rate_limit_per_minute=500,
            bulk_limit=100,
        ),
        "enterprise": TierPolicy(
            hold_minutes=24 * 60,
            hold_extensions=2,
            cart_limit=500,
            priority_delay_minutes=0,
            discount_percent=25,
            rate_limit_per_minute=1000,
            bulk_limit=1000,
        ),
    }


class PricingPolicy(BaseModel):
    """The lead price of DESIGN.md section 2: base × quality × demand × market, clamped.

    The multipliers' weights and bounds are this product's own choices (no published source):
    quality spans the design's 0.5–2.0 by score bucket; demand and market stay within bounds
    narrow enough that a lead's price cannot swing by more than the quality bucket does.
    """

    base_cents: int = 1000
    min_cents: int = 500
    max_cents: int = 5000
    currency: str = "USD"
    # Quality multiplier per score bucket (leads.scores): the only score input an agent may see.
    quality_by_bucket: dict[str, float] = Field(
        default_factory=lambda: {"A": 1.8, "B": 1.0, "C": 0.6}
    )
    quality_unscored: float = 1.0
    # demand = 1 + viewers·ln(1 + distinct viewers in 7 d) + holds·min(holds in 30 d, cap)
    #            + area·ln(the ZIP's engagement per lead / the metro's), then clamped
    demand_viewers_weight: float = 0.08
    demand_holds_weight: float = 0.1
    demand_holds_cap: int = 3
    demand_area_weight: float = 0.15
    demand_min: float = 0.8
    demand_max: float = 1.6
    # market = level^a · exp(b · annual growth) · competition^-c, then clamped
    market_level_exponent: float = 0.25
    market_growth_weight: float = 0.5
    market_competition_exponent: float = 0.1
    market_min: float = 0.75
    market_max: float = 1.5


# Every stage in the one order stages may run in; "demo_owners" (fictional owner contacts) is in
# no default list: only the demo switches it on.
STAGE_ORDER = (
    "parse",
    "normalize",
    "validate",
    "dedupe",
    "geocode",
    "screen",
    "demo_owners",
    "enrich",
    "store",
)
INGEST_STAGES = tuple(s for s in STAGE_ORDER if s != "demo_owners")  # the default
# Stages without which no lead can be stored; the others may be left out of the list.
_REQUIRED_STAGES = ("parse", "normalize", "store")


class SignalWeights(BaseModel):
    """How much each scam or spam signal counts (ingestion.screening names and explains them)."""

    price_far_below_median: float = 0.5
    payment_wire_or_gift_card: float = 0.6
    owner_abroad: float = 0.5
    email_only_free_provider: float = 0.2
    phone_on_many_listings: float = 0.5
    copied_text_across_cities: float = 0.5


class ScreeningSettings(BaseModel):
    """Scam and spam screening: a lead whose signals weigh `threshold` or more is withheld
    from sale until an admin releases it."""

    threshold: float = Field(default=1.0, gt=0)
    weights: SignalWeights = Field(default_factory=SignalWeights)
    price_ratio: float = Field(default=0.5, gt=0, lt=1)  # under half the neighbourhood median
    min_comparables: int = Field(default=8, ge=3)  # leads of the kind in the cell for a median
    phone_min_cities: int = Field(default=3, ge=2)


class IngestSettings(BaseModel):
    """The ingestion pipeline. `stages` lists the stages switched on, in the order of
    `STAGE_ORDER`; parse, normalize and store cannot be switched off."""

    stages: list[str] = Field(default_factory=lambda: list(INGEST_STAGES))
    batch_size: int = Field(default=2000, ge=1, le=10_000)  # records per committed transaction
    dedupe_radius_m: float = 30.0
    dedupe_price_tolerance: float = 0.05  # asking prices within 5 % count as the same listing
    # Prices outside these bounds are typing errors or placeholders, not listings.
    min_sale_price_cents: int = 1_000_00
    max_sale_price_cents: int = 1_000_000_000_00
    min_rent_cents: int = 50_00
    max_rent_cents: int = 200_000_00
    crawl_timeout_seconds: int = 3600
    screening: ScreeningSettings = Field(default_factory=ScreeningSettings)

    @model_validator(mode="after")
    def _check_order(self) -> IngestSettings:
        unknown = [s for s in self.stages if s not in STAGE_ORDER]
        if unknown:
            raise ValueError(f"unknown ingest stages {unknown}; known: {list(STAGE_ORDER)}")
        if len(set(self.stages)) != len(self.stages):
            raise ValueError("an ingest stage is listed twice")
        missing = [s for s in _REQUIRED_STAGES if s not in self.stages]
        if missing:
            raise ValueError(f"ingest stages {missing} cannot be switched off")
        # Each stage reads what the earlier ones made (normalize's typed lead, geocode's point
        # for enrich's score), so stages may be switched off but never reordered.
        if self.stages != [s for s in STAGE_ORDER if s in self.stages]:
            raise ValueError(f"ingest stages must keep the order {list(STAGE_ORDER)}")
        return self


class PaymentSettings(BaseModel):
    """The payment gateway (`payments.gateways`): `sandbox` (default, no network, fake money)
    or `stripe`. Environment: AIQ_PAYMENTS__GATEWAY, AIQ_PAYMENTS__STRIPE_API_KEY, …"""

    gateway: Literal["sandbox", "stripe"] = "sandbox"
    stripe_api_key: SecretStr | None = None  # "sk_…" or a restricted "rk_…"
    stripe_webhook_secret: SecretStr | None = None  # the webhook endpoint's "whsec_…"
    stripe_api_base: str | None = None  # None: Stripe's own address
    stripe_max_network_retries: int = Field(default=2, ge=0, le=10)  # same idempotency key
    stripe_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    sandbox_webhook_secret: SecretStr = SecretStr(DEV_SANDBOX_WEBHOOK_SECRET)

    @model_validator(mode="after")
    def _stripe_needs_keys(self) -> PaymentSettings:
        # Refused in every environment, not only production: a stripe gateway without keys can
        # only fail later, at the first checkout.
        if self.gateway == "stripe":
            key = self.stripe_api_key.get_secret_value() if self.stripe_api_key else ""
            if not key.startswith(("sk_", "rk_")):
                raise ValueError(
                    "AIQ_PAYMENTS__STRIPE_API_KEY must be set to a Stripe secret key (sk_…)"
                    " or restricted key (rk_…) when AIQ_PAYMENTS__GATEWAY=stripe"
                )
            if not self.stripe_webhook_secret or not self.stripe_webhook_secret.get_secret_value():
                raise ValueError(
                    "AIQ_PAYMENTS__STRIPE_WEBHOOK_SECRET must be set when"
                    " AIQ_PAYMENTS__GATEWAY=stripe"
                )
        return self


class WorkerSettings(BaseModel):
    """Background work (`aiqleads.worker`). Environment: AIQ_WORKER__BACKEND, …

    `backend`: `auto` runs tasks on Dramatiq with the Redis broker when AIQ_REDIS_URL is set
    (started by `aiqleads worker`) and in-process otherwise; `embedded` and `dramatiq` force one.
    """

    backend: Literal["auto", "embedded", "dramatiq"] = "auto"
    # Whether the API process runs its part: the in-process runner (embedded) or the relay of
    # its own outbox rows to the broker right after commit (dramatiq). Tests switch it off.
    start_in_app: bool = True
    poll_seconds: float = Field(default=1.0, gt=0, le=60)  # outbox look-ups when not woken
    concurrency: int = Field(default=4, ge=1, le=256)  # embedded: tasks running at once
    schedule: bool = True  # this process enqueues periodic tasks (several may: each period once)
    max_retries: int = Field(default=5, ge=0, le=100)  # then the task is dead-lettered
    min_backoff_seconds: float = Field(default=1.0, gt=0)
    max_backoff_seconds: float = Field(default=300.0, gt=0)
    # A claimed task is run again when its claim lapses: the runner renews the claim every
    # third of this while the task runs, so only a task whose runner died is run again.
    lease_seconds: float = Field(default=300.0, gt=0)
    # A task running longer is stopped and counted as a failed attempt (a task may ask more).
    time_limit_seconds: float = Field(default=600.0, gt=0)
    requeue_after_seconds: float = Field(default=3600.0, gt=0)  # broker lost it: send again
    queue_name: str = Field(default="aiq", pattern=r"^[a-zA-Z_][a-zA-Z0-9._-]*$")
    namespace: str = "aiq-dramatiq"  # prefix of the broker's Redis keys
    processes: int = Field(default=1, ge=1, le=64)  # `aiqleads worker` defaults
    threads: int = Field(default=8, ge=1, le=256)
    # `aiqleads worker` lowers its CPU priority by this much (Unix nice, 0-19), so on a host it
    # shares with API workers a long task (the hourly feature precompute) takes the cores they
    # leave idle, not theirs.
    nice: int = Field(default=10, ge=0, le=19)
    metrics_port: int = Field(default=0, ge=0, le=65535)  # 0: no /metrics from the worker
    hold_sweep_seconds: float = Field(default=30.0, ge=1, le=3600)
    # geo.compact_tallies: fold each metro's appended tally rows into one row per key
    geo_tally_compact_seconds: float = Field(default=60.0, ge=1, le=86_400)
    # scoring.refresh: rescore and reprice the leads whose features moved (new leads, events)
    score_refresh_seconds: float = Field(default=300.0, ge=10, le=86_400)
    reconcile_seconds: float = Field(default=300.0, ge=10, le=86_400)  # payments.reconcile
    # features.precompute: rebuild the lead_geo set and the market context snapshots
    feature_precompute_seconds: float = Field(default=3600.0, ge=60, le=7 * 86_400)
    hold_expiring_minutes: float = Field(default=5.0, gt=0, le=24 * 60)


class WebhookSettings(BaseModel):
    """Outbound webhooks for enterprise API clients (`aiqleads.webhooks`)."""

    max_attempts: int = Field(default=10, ge=1, le=50)  # then the delivery is given up
    backoff_base_seconds: float = Field(default=30.0, gt=0)  # first retry after 15-30 s
    backoff_max_seconds: float = Field(default=6 * 3600.0, gt=0)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # http:// to a loopback address (tests, development); refused in production whatever this says.
    allow_http_loopback: bool = True


class RateLimitSettings(BaseModel):
    """Request rate limits (`aiqleads.ratelimit`, with the `limits` package). Environment:
    AIQ_RATE_LIMIT__ENABLED, … A signed-in caller's limit per minute is its tier's
    `rate_limit_per_minute` (the tier policy in force); calls without an account are limited
    per client IP, and logins per IP and per account named. Counts live in Redis when
    AIQ_REDIS_URL is set (shared by every worker and host), in process memory otherwise."""

    enabled: bool = True
    # moving-window: exact (a log of hits per key); sliding-window-counter: two counters per
    # key, an approximation that weighs the previous minute; fixed-window: one counter.
    strategy: Literal["moving-window", "sliding-window-counter", "fixed-window"] = "moving-window"
    anonymous_per_minute: int = Field(default=60, ge=1)  # per IP, calls without an account
    login_per_minute: int = Field(default=10, ge=1)  # per account named by a login attempt
    # Per IP, account registrations: a 409 says an e-mail has an account (docs/security.md).
    register_per_hour: int = Field(default=10, ge=1)
    # Never limited: accounts by e-mail (monitoring, trusted integrations) and client
    # networks (CIDR, e.g. the load balancer's health checks).
    exempt_accounts: list[str] = Field(default_factory=list)
    exempt_networks: list[str] = Field(default_factory=list)
    # RateLimit-* headers on every limited answer, not only on 429s.
    headers_on_success: bool = True


class SourceMonitorSettings(BaseModel):
    """Source and schema monitoring (`aiqleads.sources`): each source's latest profile over
    the last `window_days`, compared with its baseline. Environment: AIQ_SOURCES__…"""

    window_days: float = Field(default=7.0, gt=0, le=365)
    # Fewer leads than this in a window say too little to compare: no drift is judged.
    min_records: int = Field(default=30, ge=1)
    # A share (owner phone, ZIP-only, quarantined per reason) drifted when it moved by more
    # than this many parts of one (0.2: 20 percentage points).
    share_threshold: float = Field(default=0.2, gt=0, le=1)
    # A price percentile drifted when it is this many times higher or lower than the baseline.
    price_ratio_threshold: float = Field(default=1.5, gt=1)
    profile_seconds: float = Field(default=900.0, ge=10, le=86_400)  # the periodic profile task


class WebSettings(BaseModel):
    """The web app at `/`. Environment: AIQ_WEB__TILE_STYLE_URL, …"""

    # A MapLibre style URL for a production basemap (vector tiles from your own tile server or
    # provider). Unset: the offline basemap drawn from the bundled ZIP and county outlines.
    tile_style_url: str | None = Field(default=None, max_length=2000)
    # A live-updates socket must authenticate within this many seconds of opening.
    live_auth_seconds: float = Field(default=10.0, gt=0, le=300)


class EngagementWeights(BaseModel):
    """How much one event of each kind adds to the engagement score, before its decay. A view
    is the weakest sign of interest; a purchase the strongest; a return counts against."""

    view: float = 1.0
    hold: float = 4.0
    release: float = 0.5
    extend: float = 2.0
    expire: float = 0.5
    purchase: float = 8.0
    return_: float = Field(default=-4.0, alias="return")

    model_config = {"populate_by_name": True}

    def of(self, kind: str) -> float:
        """The weight of an event kind (0 for a kind not listed)."""
        return float(getattr(self, "return_" if kind == "return" else kind, 0.0))


class FeatureSettings(BaseModel):
    """Features for scoring (`aiqleads.features`). Environment: AIQ_FEATURES__HALF_LIFE_HOURS, …

    Behaviour: each event adds its kind's weight × 0.5 ** (age / half_life) to the engagement
    score (exponential decay: an event half a life old counts half); a new session starts after
    `session_gap_hours` without an event; events older than `horizon_days` are not read, and a
    lead or agent with none in it has recency `horizon_days` × 24 hours. Geospatial: radius for
    the "within" counts, DBSCAN's radius and minimum points (as the geo map's clusters), and the
    cap on the distance to the nearest cluster centre (also its value when there is none).
    """

    half_life_hours: float = Field(default=72.0, gt=0, le=24 * 365)
    session_gap_hours: float = Field(default=72.0, gt=0, le=24 * 365)
    horizon_days: float = Field(default=365.0, ge=30, le=3650)
    weights: EngagementWeights = Field(default_factory=EngagementWeights)
    radius_m: float = Field(default=1000.0, gt=0, le=50_000)
    cluster_eps_m: float = Field(default=250.0, ge=10, le=2_000)
    cluster_min_samples: int = Field(default=10, ge=2, le=1_000)
    far_km: float = Field(default=50.0, gt=0, le=20_000)


class ExperimentSettings(BaseModel):
    """A/B experiments (`aiqleads.experiments`). Environment: AIQ_EXPERIMENTS__ALPHA, …

    `window_hours`: an experiment's default outcome window (a view, hold or purchase of a
    served lead by the agent it was served to counts within this many hours of the exposure).
    `alpha`: the two-sided significance level of the variant-vs-control tests (their CIs are
    1 − alpha). `srm_alpha`: a sample-ratio-mismatch chi-square p-value below it flags the
    experiment (0.001, the usual threshold: Fabijan et al., KDD 2019). `latency_tolerance`: a
    variant whose served-latency p95 exceeds the control's by more than this share breaches
    the latency guardrail. Exposures are written by each process's recorder every
    `exposure_flush_seconds`, or sooner once `exposure_batch` wait. `cuped_days`: see below.
    `assignment_cache_seconds`: how long each process keeps which experiment runs on a surface
    (`experiments.service.RunningExperiments`: a start or stop made through another process is
    seen within this time; 0: read on every request).
    """

    window_hours: int = Field(default=168, ge=1, le=24 * 90)
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    srm_alpha: float = Field(default=0.001, gt=0, lt=0.5)
    latency_tolerance: float = Field(default=0.10, ge=0, le=10)
    exposure_flush_seconds: float = Field(default=1.0, gt=0, le=60)
    exposure_batch: int = Field(default=500, ge=1, le=100_000)
    # CUPED's covariate: each exposed agent's events of the outcome's kind in this many days
    # before the experiment started (0: no CUPED).
    cuped_days: int = Field(default=28, ge=0, le=365)
    assignment_cache_seconds: float = Field(default=5.0, ge=0, le=300)


class LoginSettings(BaseModel):
    """Password sign-in (`aiqleads.auth`). Environment: AIQ_LOGIN__FREE_FAILURES_PER_ACCOUNT, …

    No lockout: after `free_failures_per_account` failed logins naming one e-mail (whether or
    not an account has it), or `free_failures_per_ip` from one client address, the next
    attempt must wait `base_delay_seconds`, doubling with each further failure up to
    `max_delay_seconds`. Counts are forgotten `forget_after_minutes` after the last failure
    (and, for the e-mail, at a successful login)."""

    free_failures_per_account: int = Field(default=5, ge=1, le=1000)
    free_failures_per_ip: int = Field(default=20, ge=1, le=100_000)
    base_delay_seconds: float = Field(default=1.0, gt=0, le=3600)
    max_delay_seconds: float = Field(default=60.0, gt=0, le=86_400)
    forget_after_minutes: float = Field(default=60.0, gt=0, le=7 * 24 * 60)
    # Threads hashing and checking passwords (argon2id needs ~50 ms of CPU and 64 MiB each):
    # the event loop never waits on a hash, and at most this many run at once per process.
    # One by default: each hash already runs 4 lanes in parallel (argon2-cffi's parallelism=4),
    # and more hashing threads take the cores the event loop needs (bench/login_stall.py).
    hash_threads: int = Field(default=1, ge=1, le=64)
    # argon2id's cost: "rfc9106" is argon2-cffi's default (RFC 9106's second recommended option,
    # 64 MiB, 3 passes, 4 lanes); "cheapest" is argon2-cffi's profile for tests (a test suite
    # signs in thousands of times), refused outside AIQ_ENV=test. Existing hashes keep the cost
    # they were made with: a hash is checked with the parameters written in it.
    hash_cost: Literal["rfc9106", "cheapest"] = "rfc9106"
    # zxcvbn's 0-4 score (3: "safely unguessable: moderate protection from offline slow-hash
    # scenario"); common passwords, names, dates and keyboard walks score low.
    password_min_score: int = Field(default=3, ge=0, le=4)


class ExposureSettings(BaseModel):
    """What the API shows besides itself. Environment: AIQ_EXPOSURE__DOCS, …

    `docs`: /docs, /redoc and /openapi.json (None: on except in production). `metrics_token`:
    when set, /metrics answers only `Authorization: Bearer <token>`. Without a token /metrics
    is open in development and test and answers 404 in production, unless `metrics_public`
    says the API's listener is private (reached only by Prometheus on an internal network).
    """

    docs: bool | None = None
    metrics_token: SecretStr | None = None
    metrics_public: bool = False


class RecommendSettings(BaseModel):
    """Recommendations (`aiqleads.recommend`). Environment: AIQ_RECOMMEND__MAX_PER_CELL, …

    `candidate_pool`: how many of the freshest leads in the agent's territory are ranked;
    `max_per_cell`: at most this many recommended leads per H3 res-8 cell; `history_limit`
    and `history_days`: the agent's latest events read for its learned preferences;
    `reload_check_seconds`: how often each process checks which model version serves (a new
    one is loaded without a restart); `artifacts`: where trained rankers are stored;
    `outcome_window_hours`: how long after an item is served an agent's view, hold or purchase
    of it counts for the serving version's online accuracy, counted every
    `outcome_check_seconds` (recommend.tasks); `competition_cache_seconds`: how long each
    process keeps the market's competition counts per cell (recommend.competition; 0: the
    request's cells are read every time);
    `candidate_window_days`: candidates are first looked for among the leads published in these
    last days, then in 8 times as many, and in the whole history only when fewer than
    `candidate_pool` are found there (the same answer, from fewer index entries; 0: always the
    whole history)."""

    candidate_pool: int = Field(default=300, ge=10, le=5000)
    default_limit: int = Field(default=10, ge=1, le=100)
    max_limit: int = Field(default=50, ge=1, le=200)
    max_per_cell: int = Field(default=2, ge=1, le=100)
    history_limit: int = Field(default=500, ge=0, le=10_000)
    history_days: float = Field(default=365.0, gt=0, le=3650)
    reload_check_seconds: float = Field(default=10.0, ge=0, le=3600)
    artifacts: str = "var/models/recommender"
    outcome_window_hours: float = Field(default=72.0, gt=0, le=24 * 90)
    outcome_check_seconds: float = Field(default=60.0, ge=10, le=86_400)
    record_impressions: bool = True
    competition_cache_seconds: float = Field(default=60.0, ge=0, le=3600)
    candidate_window_days: float = Field(default=2.0, ge=0, le=3650)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AIQ_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    env: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite+aiosqlite:///var/aiqleads.db"
    # Each process's PostgreSQL pool (per engine): connections kept open, and how many more it
    # may open for a burst (closed again when handed back with `db_pool_size` idle ones kept).
    # A pool smaller than the requests a process has in flight opens and closes a connection
    # per request beyond it: a server process forked, its caches warmed and its statements
    # prepared again each time. Size PgBouncer or max_connections for the sum over processes.
    # A request never holds two at once (`db.row_reads`, `db.engine.side_transaction`); at
    # least 2 all the same, so a slow request does not hold up every other.
    db_pool_size: int = Field(default=20, ge=2, le=1000)
    db_max_overflow: int = Field(default=0, ge=0, le=1000)
    redis_url: str | None = None
    secret_key: str = DEV_SECRET_KEY
    # Comma-separated "key_id:urlsafe-base64-32-byte-key"; the first one encrypts, all decrypt.
    encryption_keys: str = DEV_ENCRYPTION_KEYS

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    log_level: str = "INFO"
    log_json: bool = True

    access_token_minutes: int = 15
    refresh_token_days: int = 14
    login: LoginSettings = Field(default_factory=lambda: LoginSettings())
    exposure: ExposureSettings = Field(default_factory=lambda: ExposureSettings())

    catalog_page_max: int = 200
    catalog_page_default: int = 50
    # The fewest leads an aggregate shown to an agent may cover when it says more than the
    # leads' previews (scores, offices, other buyers' sales); smaller ones are withheld.
    disclosure_min_leads: int = Field(default=5, ge=2, le=1000)

    # Analytics cache: Redis when redis_url is set, else in-process. Keys carry per-metro data
    # versions, so the TTL only bounds memory and staleness after an out-of-band DB change
    # (and near copies, below, may serve an entry up to near_cache_seconds past it).
    cache_namespace: str = "aiq"
    geo_cache_ttl_seconds: int = Field(default=900, ge=1)
    geo_cache_max_entries: int = Field(default=1024, ge=1)
    # Catalog pages agents share (leads/page_cache.py), in the same cache with the same kind of
    # keys: the TTL only bounds memory. 0: pages are not cached.
    catalog_cache_ttl_seconds: int = Field(default=300, ge=0)
    # With Redis, each process also keeps a near copy of the entries it reads, up to this many
    # bytes (kit.cache.NearCache; 0: none), each for this long at most: a hit then skips
    # Redis. Safe because a key names its bytes; the seconds bound only how long an entry
    # dropped from Redis by hand is still served.
    near_cache_max_bytes: int = Field(default=32 * 1024 * 1024, ge=0)
    near_cache_seconds: float = Field(default=30.0, ge=0, le=3600)
    # Each process keeps the cache keys' database inputs (geo.key_memo) this long at most: what
    # another process wrote shows in this one's cached searches and map layers that much later
    # (its own writes, a window's edge and a lapsing hold at once). 0: read them every time.
    key_memo_seconds: float = Field(default=1.0, ge=0, le=60)

    tiers: dict[str, TierPolicy] = Field(default_factory=_default_tiers)
    # How long a process may use the tier policies it read before reading them again (an
    # admin's change reaches every other process within this time).
    tier_policy_ttl_seconds: float = Field(default=5.0, ge=0, le=3600)
    # How long a process may check access tokens against the account facts it read (role, tier,
    # active, token version) before reading them again: a deactivation or a revoked token family
    # reaches every other process within this time (auth/principal_cache.py). 0: off.
    auth_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    pricing: PricingPolicy = Field(default_factory=PricingPolicy)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    payments: PaymentSettings = Field(default_factory=PaymentSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    # A buyer may return a lead within this many days of its purchase (DESIGN.md section 2).
    return_window_days: int = Field(default=7, ge=0, le=365)
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    sources: SourceMonitorSettings = Field(default_factory=SourceMonitorSettings)
    features: FeatureSettings = Field(default_factory=FeatureSettings)
    experiments: ExperimentSettings = Field(default_factory=ExperimentSettings)
    recommend: RecommendSettings = Field(default_factory=RecommendSettings)
    # One JSON line per request on the `aiqleads.access` logger (AIQ_ACCESS_LOG).
    access_log: bool = True
    # Request bodies longer than this are refused with a 413 before any parsing
    # (AIQ_MAX_BODY_BYTES; the largest legitimate body, a 10,000-id hold, is about 400 KB).
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=100 * 1_048_576)

    @field_validator("tiers", mode="before")
    @classmethod
    def _merge_tier_overrides(cls, value: Any) -> Any:
        # AIQ_TIERS__PRO__DISCOUNT_PERCENT=20 arrives as {"pro": {"discount_percent": "20"}}:
        # lay it over the defaults instead of replacing the whole tier.
        if not isinstance(value, dict):
            return value
        merged = {name: policy.model_dump() for name, policy in _default_tiers().items()}
        for name, given in value.items():
            base = merged.setdefault(str(name).lower(), {})
            base.update(given.model_dump() if isinstance(given, TierPolicy) else dict(given))
        return merged

    @model_validator(mode="after")
    def _refuse_defaults(self) -> Settings:
        if self.env is Environment.PRODUCTION:
            if self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 32:
                raise ValueError(
                    "AIQ_SECRET_KEY must be set to a random value of 32+ characters in production"
                )
            if (
                self.encryption_keys == DEV_ENCRYPTION_KEYS
                or DEV_ENCRYPTION_KEYS.split(":")[1] in self.encryption_keys
            ):
                raise ValueError("AIQ_ENCRYPTION_KEYS must be set to real keys in production")
        if set(self.tiers) != {"basic", "pro", "enterprise"}:
            raise ValueError("AIQ_TIERS must define exactly basic, pro and enterprise")
        if self.worker.backend == "dramatiq" and not self.redis_url:
            raise ValueError("AIQ_WORKER__BACKEND=dramatiq needs AIQ_REDIS_URL (the broker)")
        if self.worker.min_backoff_seconds > self.worker.max_backoff_seconds:
            raise ValueError(
                "AIQ_WORKER__MIN_BACKOFF_SECONDS exceeds AIQ_WORKER__MAX_BACKOFF_SECONDS"
            )
        if self.login.hash_cost == "cheapest" and self.env is not Environment.TEST:
            raise ValueError("AIQ_LOGIN__HASH_COST=cheapest is for tests only (AIQ_ENV=test)")
        return self

    @property
    def worker_backend(self) -> Literal["embedded", "dramatiq"]:
        """Where background tasks run: `dramatiq` needs AIQ_REDIS_URL."""
        if self.worker.backend == "auto":
            return "dramatiq" if self.redis_url else "embedded"
        return self.worker.backend

    @property
    def docs_enabled(self) -> bool:
        """Whether /docs, /redoc and /openapi.json are served (AIQ_EXPOSURE__DOCS; by default
        everywhere but production)."""
        if self.exposure.docs is None:
            return self.env is not Environment.PRODUCTION
        return self.exposure.docs

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        """The SQLite file, or None for PostgreSQL or an in-memory database."""
        if not self.is_sqlite:
            return None
        path = self.database_url.split("///", 1)[1] if "///" in self.database_url else ""
        return Path(path) if path and path != ":memory:" else None


@lru_cache
def get_settings() -> Settings:
    return Settings()
