"""The hot read routes run their statements without a transaction (`deps.reads_only`).

On PostgreSQL a transaction adds BEGIN and COMMIT to a request: two round trips more for a
cached map layer or a cart view, whose answer is one statement (docs/operations/scaling.md,
"Where a request's CPU goes"). These routes write nothing, so nothing needs one; a change that
drops the marker costs every such request those round trips, and fails here.
"""

from __future__ import annotations

from aiqleads.app import create_app
from aiqleads.deps import is_reads_only
from tests.app_routes import app_routes

# GET routes an agent's map page calls on every move, or every page calls, and /auth/me.
HOT_READS = {
    "/api/v1/auth/me",
    "/api/v1/leads",
    "/api/v1/leads/{lead_id}",
    "/api/v1/geo/heatmap",
    "/api/v1/geo/clusters",
    "/api/v1/geo/penetration",
    "/api/v1/geo/competitors",
    "/api/v1/cart",
    "/api/v1/recommendations",
}


def test_every_hot_read_route_reads_without_a_transaction() -> None:
    # Given the application's routes
    gets = {path: r for method, path, r in app_routes(create_app().routes) if method == "GET"}
    # Then each hot read route exists and is marked as reading only
    assert set(gets) >= HOT_READS, sorted(HOT_READS - set(gets))
    handlers = {p: getattr(gets[p], "endpoint", None) for p in sorted(HOT_READS)}
    assert [p for p, handler in handlers.items() if not is_reads_only(handler)] == []
