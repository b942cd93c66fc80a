"""Redis stops under a running API: it keeps serving. Caches are bypassed (every answer is
computed from the database), rate limits let requests through (docs/operations/monitoring.md,
"Rate limits"), /ready turns 503 naming Redis, and turns 200 again once Redis is back."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import Backend
from tests.factories import PASSWORD
from tests.faults.servers import migrated, own_redis, ready, wait_until
from tests.live import serve

EMAIL = "redis-fault@example.com"


def test_the_api_keeps_serving_while_redis_is_stopped(tmp_path: Path) -> None:
    # Given a server on SQLite and a Redis of its own, with rate limits on
    with own_redis(tmp_path / "redis") as redis:
        backend = migrated(
            Backend("sqlite", f"sqlite+aiosqlite:///{tmp_path}/api.db", redis.url), tmp_path
        )
        on = serve(
            backend, tmp_path, AIQ_RATE_LIMIT__ENABLED="true", AIQ_WORKER__START_IN_APP="false"
        )
        with on as base, httpx.Client(base_url=base) as http:
            assert (
                http.post(
                    "/api/v1/auth/register", json={"email": EMAIL, "password": PASSWORD}
                ).status_code
                == 201
            )
            heatmap = _signed_in_heatmap(http)
            assert heatmap.status_code == 200  # and now in Redis's cache

            # When Redis stops
            redis.stop()

            # Then /ready is 503 naming Redis, while the database check stays green
            answer = http.get("/ready")
            assert answer.status_code == 503
            checks = answer.json()["checks"]
            assert checks["database"] == "ok" and checks["redis"].startswith("error: ")
            # And the API keeps serving: liveness, a rate-limited sign-in, a cached route
            assert http.get("/health").status_code == 200
            again = _signed_in_heatmap(http)
            assert again.status_code == 200
            assert again.json() == heatmap.json()  # computed again, not read from the cache
            assert http.get("/api/v1/leads", params={"metro": "seattle"}).status_code == 200

            # When Redis is back on the same port
            redis.start()
            # Then /ready turns green without restarting the API
            wait_until(lambda: (r := ready(base)) is not None and r.status_code == 200, "/ready")


def _signed_in_heatmap(http: httpx.Client) -> httpx.Response:
    token = http.post("/api/v1/auth/token", data={"username": EMAIL, "password": PASSWORD})
    assert token.status_code == 200, token.text
    http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    return http.get("/api/v1/geo/heatmap", params={"metro": "seattle"})
