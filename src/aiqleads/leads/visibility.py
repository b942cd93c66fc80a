"""The one base query: which leads a viewer may see, and where a viewer may place them.

Every reader of leads (the catalog, every map layer, later the cart and recommendations) starts
from here; none restates the rules. Two of them:

* **Visibility.** An admin sees every status. An agent sees leads on the market (available,
  held) once its tier's priority window has passed, and sold leads only when it bought them.
  Aggregates over the whole market (penetration, competition) use `market_condition` instead:
  every buyer's sales count, but nothing inside the viewer's window does.
* **Disclosure** (DESIGN.md section 2). For an agent, every location a query filters, sorts or
  aggregates on is the lead's preview cell (the centre of its H3 resolution-8 cell), never the
  exact point; scores are sorted by bucket; the tie-breaker of every order is the random public
  id. Moving a lead's exact point inside its preview cell therefore changes no answer an agent
  can get. Admins work on exact points. What the write path derives from the exact point
  (`h3_r9`, and `zcta`, the ZCTA holding it) is exact too: no agent's key, filter, sort or
  payload may use it (`PREVIEW_COLUMNS` leaves them out; the ZCTA readers refuse agents).

Holds are read here too: a lead's status is its *effective* status, in which a hold past its
`held_until` counts as no hold (the lead is available), at once, for every reader; the cart's
sweeper only tidies the stored status up later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, case, false, func, literal_column, or_, select

from aiqleads.auth.principal import Principal
from aiqleads.config import TierPolicy
from aiqleads.leads.filters import BBox, LeadFilter
from aiqleads.leads.status import ON_MARKET
from aiqleads.models import Lead, Purchase
from aiqleads.models.enums import LeadStatus, Tier

leads = cast(Table, Lead.__table__)
purchases = cast(Table, Purchase.__table__)


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking, and when. `visible_before`: leads published after it are still in
    another tier's priority window (None for admins)."""

    account_id: int
    is_admin: bool
    tier: Tier
    visible_before: datetime | None
    discount_percent: int
    now: datetime

    @property
    def exact(self) -> bool:
        """Whether this viewer may place leads at their exact points (admins) or only at their
        preview cells (agents; a buyer's own leads are shown exactly by `present`, but every
        query and aggregate still works on cells)."""
        return self.is_admin


def viewer_for(principal: Principal, policy: TierPolicy, now: datetime) -> Viewer:
    """The viewer a principal is at `now`, by its tier's policy (DESIGN.md section 2)."""
    if principal.is_admin:
        return Viewer(principal.account_id, True, principal.tier, None, 0, now)
    delay = policy.priority_delay_minutes
    cutoff = now - timedelta(minutes=delay) if delay > 0 else now
    return Viewer(principal.account_id, False, principal.tier, cutoff, policy.discount_percent, now)


def effective_status(t: Any, now: datetime) -> ColumnElement[str]:
    """The status as every reader sees it: a hold past `held_until` is no hold."""
    expired = and_(t.c.status == LeadStatus.HELD.value, t.c.held_until <= now)
    status: ColumnElement[str] = case((expired, LeadStatus.AVAILABLE.value), else_=t.c.status)
    return status


def status_in(
    t: Any, statuses: Sequence[LeadStatus], now: datetime, *, indexed: bool = True
) -> ColumnElement[bool]:
    """Leads whose effective status is one of `statuses`, written so the status index still
    serves it: available and held together need no time test at all. `indexed=False` writes
    the same test with SQLite's unary plus, for a caller whose own `status = ?` is the index
    term (see `visible_leads`)."""
    values = {s.value for s in statuses}
    held, available = LeadStatus.HELD.value, LeadStatus.AVAILABLE.value
    status = t.c.status if indexed else _unindexed(t, "status")
    if (held in values) == (available in values):
        plain: ColumnElement[bool] = status.in_(sorted(values))
        return plain
    others = sorted(values - {held, available})
    live_hold = and_(status == held, t.c.held_until > now)
    if held in values:
        return or_(status.in_(others), live_hold) if others else live_hold
    lapsed = and_(status == held, t.c.held_until <= now)
    return or_(status.in_([*others, available]), lapsed)


@dataclass(frozen=True, slots=True)
class Location:
    """The columns that place a lead for one viewer: latitude and longitude in degrees, and on
    PostgreSQL the matching PostGIS point as geometry (written as its GiST index is, so that
    box and nearest-neighbour queries use the index) and as geography (metre tests on the
    candidates the geometry index found; no index: migration 0041)."""

    lat: ColumnElement[Any]
    lon: ColumnElement[Any]
    geom: ColumnElement[Any]
    geog: ColumnElement[Any]
    exact: bool


def location(viewer: Viewer, t: Any = leads) -> Location:
    """Where `viewer` may place the leads of table (or alias) `t`."""
    if viewer.exact:
        return Location(t.c.latitude, t.c.longitude, *_postgis(t, "geom"), True)
    return Location(
        t.c.preview_latitude, t.c.preview_longitude, *_postgis(t, "preview_geom"), False
    )


def _postgis(t: Any, column: str) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    # The PostGIS columns are generated by the migrations and not mapped on the model.
    return literal_column(f"{t.name}.{column}"), literal_column(f"({t.name}.{column}::geography)")


def mine(t: Any, account_id: int) -> ColumnElement[bool]:
    """Leads this account bought."""
    cond: ColumnElement[bool] = t.c.id.in_(
        select(purchases.c.lead_id).where(purchases.c.account_id == account_id)
    )
    return cond


def visible_condition(
    viewer: Viewer,
    statuses: Sequence[LeadStatus],
    t: Any = leads,
    *,
    dialect: str = "",
    order_column: str | None = None,
    per_status: bool = False,
) -> ColumnElement[bool]:
    """Leads of these statuses the viewer may see one by one (the catalog's rule).

    `dialect`, `order_column` and `per_status` only steer SQLite's planner (see
    `visible_leads`); the rows are the same.
    """
    indexed = not (per_status and dialect == "sqlite")
    if viewer.is_admin:
        return status_in(t, statuses, viewer.now, indexed=indexed)
    parts: list[ColumnElement[bool]] = []
    market = [s for s in statuses if s in ON_MARKET]
    if market:
        cond = status_in(t, market, viewer.now, indexed=indexed)
        if viewer.visible_before is not None:
            # The priority window is a range on `published_at`, like a filter's: sorted by
            # anything else, SQLite would take it over the sort order's index (below).
            published = _range(t, "published_at", order_column, dialect)
            cond = and_(cond, published <= viewer.visible_before)
        parts.append(cond)
    if LeadStatus.SOLD in statuses:
        status = t.c.status if indexed else _unindexed(t, "status")
        parts.append(and_(status == LeadStatus.SOLD.value, mine(t, viewer.account_id)))
    return or_(*parts) if parts else false()


def market_condition(
    viewer: Viewer, statuses: Sequence[LeadStatus], t: Any = leads
) -> ColumnElement[bool]:
    """Leads of these statuses counted in whole-market aggregates: every buyer's sales count,
    nothing inside the viewer's priority window does."""
    cond = status_in(t, statuses, viewer.now)
    if viewer.visible_before is not None:
        cond = and_(cond, t.c.published_at <= viewer.visible_before)
    return cond


# Below this span (about 1 km) a bounding box is selective enough that SQLite should start from
# the latitude index; above it, walking the sort order and filtering finds a page sooner, and
# an unsorted read (a map layer's) is faster scanning the rows than fetching each through the
# index (a metro's box, 100k leads: 0.2 s against 1 s).
_SQLITE_SMALL_BBOX_DEGREES = 0.01


def _unindexed(t: Any, name: str) -> ColumnElement[Any]:
    # Unary plus: the same value, but not a column SQLite's planner may take an index for.
    return literal_column(f"+{t.name}.{name}", type_=t.c[name].type)


def _range(t: Any, name: str, order_column: str | None, dialect: str) -> ColumnElement[Any]:
    """A column for a range filter. SQLite's planner, lacking histograms, takes any indexed range
    over the index of the sort order and then sorts every match (seconds at 1M leads); unary
    plus keeps the range column's index out of its plan. PostgreSQL weighs both by cost."""
    if dialect == "sqlite" and order_column is not None and name != order_column:
        return _unindexed(t, name)
    column: ColumnElement[Any] = t.c[name]
    return column


def _bbox_condition(t: Any, loc: Location, bbox: BBox, dialect: str) -> list[ColumnElement[bool]]:
    if dialect == "postgresql":
        # The PostGIS point: the covering catalog index holds it, and PostGIS keeps statistics
        # for it, so the planner chooses well between walking the sort order and the GiST index.
        envelope = func.ST_MakeEnvelope(
            bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat, 4326
        )
        return [loc.geom.op("&&")(envelope)]
    lat_name = "latitude" if loc.exact else "preview_latitude"
    lon_name = "longitude" if loc.exact else "preview_longitude"
    if bbox.max_lat - bbox.min_lat <= _SQLITE_SMALL_BBOX_DEGREES:
        lat, lon = t.c[lat_name], t.c[lon_name]
    else:
        lat, lon = _unindexed(t, lat_name), _unindexed(t, lon_name)
    return [lat.between(bbox.min_lat, bbox.max_lat), lon.between(bbox.min_lon, bbox.max_lon)]


def filter_conditions(
    viewer: Viewer,
    f: LeadFilter,
    *,
    dialect: str,
    t: Any = leads,
    order_column: str | None = None,
    located: bool = False,
) -> list[ColumnElement[bool]]:
    """The filter's conditions, with every location on the viewer's basis.

    `order_column`: the column the caller sorts by (SQLite plan hints, see `_range`).
    `located`: keep only leads that have a location (every map layer needs one).
    """
    loc = location(viewer, t)

    def ranged(name: str) -> ColumnElement[Any]:
        return _range(t, name, order_column, dialect)

    conds: list[ColumnElement[bool]] = []
    # On PostgreSQL a box is tested on the PostGIS point, which is NULL unless both of its
    # coordinates are set (migration 0006): testing them again would read the table where the
    # covering catalog index alone answers.
    box_on_point = f.area.bbox is not None and dialect == "postgresql"
    if (located or f.area.bbox is not None) and not box_on_point:
        conds += [loc.lat.is_not(None), loc.lon.is_not(None)]
    if f.area.metro is not None:
        conds.append(t.c.metro == f.area.metro.slug)
    if f.area.bbox is not None:
        conds += _bbox_condition(t, loc, f.area.bbox, dialect)
    if f.zips:
        conds.append(t.c.zip_code.in_(sorted(set(f.zips))))
    if f.city_key is not None:
        conds.append(t.c.city_key == f.city_key)
    if f.kinds:
        conds.append(t.c.kind.in_(sorted({k.value for k in f.kinds})))
    if f.price_min_cents is not None:
        conds.append(ranged("asking_price_cents") >= f.price_min_cents)
    if f.price_max_cents is not None:
        conds.append(ranged("asking_price_cents") <= f.price_max_cents)
    if f.beds_min is not None:
        conds.append(ranged("bedrooms") >= f.beds_min)
    if f.baths_min is not None:
        conds.append(ranged("bathrooms") >= f.baths_min)
    if f.listed_since is not None:
        conds.append(ranged("listed_at") >= f.listed_since)
    return conds


def visible_leads(
    viewer: Viewer,
    f: LeadFilter,
    statuses: Sequence[LeadStatus],
    *,
    dialect: str,
    t: Any = leads,
    order_column: str | None = None,
    located: bool = False,
    per_status: bool = False,
) -> list[ColumnElement[bool]]:
    """WHERE conditions for the leads of `statuses` the viewer may see under the filter.

    `order_column`: the column the caller sorts by. `per_status`: the caller reads one stored
    status at a time and adds its own `status = ?` (`leads.repository`). Both only steer
    SQLite's planner, which costs every `status`-first index alike and breaks the tie badly:
    given the priority window's `published_at <= ?` or a second test of `status` beside the
    caller's, it takes the default order's index and sorts every match (an agent's search by
    lead price, 100k leads: 200 ms of CPU against 1 ms walking `ix_leads_status_price`).
    Written with unary plus (SQLite's documented way to keep a term out of index choice), those
    tests leave `status = ?` and the sort order's index; the rows are the same.
    """
    return [
        visible_condition(
            viewer,
            statuses,
            t,
            dialect=dialect,
            order_column=order_column,
            per_status=per_status,
        ),
        *filter_conditions(
            viewer, f, dialect=dialect, t=t, order_column=order_column, located=located
        ),
    ]


def market_leads(
    viewer: Viewer,
    f: LeadFilter,
    statuses: Sequence[LeadStatus],
    *,
    dialect: str,
    t: Any = leads,
    located: bool = True,
) -> list[ColumnElement[bool]]:
    """WHERE conditions for the whole-market aggregates of `statuses` under the filter."""
    return [
        market_condition(viewer, statuses, t),
        *filter_conditions(viewer, f, dialect=dialect, t=t, located=located),
    ]
