"""PostgreSQL restarts under a running API: /ready turns 503, then 200 once the database is
back, and every request after that succeeds without restarting the API (the pools' pre-ping
replaces the connections the restart closed), the cart's writes on their own pool and the cache
keys read on the driver itself included."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import Backend
from tests.factories import PASSWORD
from tests.faults.servers import migrated, own_postgres, ready, wait_until
from tests.live import serve

# Like the suite's other PostgreSQL tests, only in runs that have PostgreSQL (this one starts
# a cluster of its own, so that restarting it never hits the one other tests share).
pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        not os.environ.get("AIQ_TEST_POSTGRES_URL"), reason="a run without PostgreSQL"
    ),
]
EMAIL = "pg-fault@example.com"


def test_the_api_recovers_when_postgresql_restarts(tmp_path: Path) -> None:
    # Given a server with two workers on a PostgreSQL of its own, its pools warmed up
    with own_postgres() as pg:
        backend = migrated(Backend("postgres", pg.url, None), tmp_path)
        with serve(backend, tmp_path, workers=2) as base, httpx.Client(base_url=base) as http:
            assert (
                http.post(
                    "/api/v1/auth/register", json={"email": EMAIL, "password": PASSWORD}
                ).status_code
                == 201
            )
            _sign_in(http)
            for _ in range(10):
                assert http.get("/api/v1/auth/me").status_code == 200
                # (the cart's writes have a pool of their own: db.engine.generic_plan_engine)
                assert _hold_unknown(http) == 200
                # (and the cache keys are read on that pool's connections by the driver
                # itself: db.row_reads)
                assert _cached_reads(http) == [200, 200]

            # When PostgreSQL stops
            pg.stop()
            # Then /ready says the database is down, and liveness still answers
            answer = http.get("/ready")
            assert answer.status_code == 503
            assert answer.json()["checks"]["database"].startswith("error: ")
            assert http.get("/health").status_code == 200

            # When it starts again
            pg.start()
            # Then /ready turns green without restarting the API
            wait_until(lambda: (r := ready(base)) is not None and r.status_code == 200, "/ready")
            # And every request succeeds, through connections made before the restart or after
            _sign_in(http)
            for _ in range(30):
                with httpx.Client(base_url=base, headers=http.headers) as fresh:
                    assert fresh.get("/api/v1/auth/me").status_code == 200
                    assert _cached_reads(fresh) == [200, 200]
                    assert _hold_unknown(fresh) == 200
                    assert fresh.delete(f"/api/v1/cart/holds/{uuid.uuid4()}").status_code == 404


def _hold_unknown(http: httpx.Client) -> int:
    """A hold of a lead that does not exist: answered (refused, not_found) after the cart's
    lock and view ran on the cart's pool."""
    res = http.post("/api/v1/cart/holds", json={"lead_ids": [str(uuid.uuid4())]})
    assert res.status_code == 200, res.text
    assert res.json()["items"][0]["refused"] == "not_found", res.text
    return res.status_code


def _cached_reads(http: httpx.Client) -> list[int]:
    """A catalog search and a heatmap: answers whose cache keys are read first."""
    return [
        http.get("/api/v1/leads", params={"metro": "seattle"}).status_code,
        http.get("/api/v1/geo/heatmap", params={"metro": "seattle"}).status_code,
    ]


def _sign_in(http: httpx.Client) -> None:
    token = http.post("/api/v1/auth/token", data={"username": EMAIL, "password": PASSWORD})
    assert token.status_code == 200, token.text
    http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
