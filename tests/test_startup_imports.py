"""A process that serves only the catalog does not carry the analytics libraries.

scipy, scikit-learn and LightGBM (~60 MB of resident memory together), zxcvbn's word lists
(~12 MB) and parsel/lxml are imported by the functions that use them: geo clusters, scores,
experiment reports, password checks, page parsing. Creating the application must not import
them, nor must answering catalog searches; the first request that needs one imports it and is
answered as before.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.kit.clock import SystemClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models.enums import Role, Tier
from tests.conftest import TEST_ENCRYPTION_KEYS, TEST_SECRET, Backend
from tests.factories import insert_leads, lead_row, login, make_account
from tests.live import access_lines, serve

# Top-level packages a catalog-only process must not import, with their native libraries'
# folders (for the live server, whose sys.modules the test cannot read: its memory map can).
HEAVY = ("scipy", "sklearn", "lightgbm", "zxcvbn", "parsel", "lxml")
NATIVE = ("/scipy/", "/sklearn/", "/lightgbm/")

_CREATE = """
import json, sys
from aiqleads import app
app.{factory}()
print(json.dumps(sorted({{name.partition(".")[0] for name in sys.modules}})))
"""


@pytest.mark.parametrize("factory", ["create_served_app", "create_app"])
def test_creating_the_app_imports_no_analytics_library(factory: str, tmp_path: Path) -> None:
    # Given a fresh interpreter with the settings a server reads
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIQ_")}
    env.update(
        {
            "AIQ_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'app.db'}",
            "AIQ_SECRET_KEY": TEST_SECRET,
            "AIQ_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS,
        }
    )
    # When it creates the application as `aiqleads serve` (or an embedder) does
    out = subprocess.run(
        [sys.executable, "-c", _CREATE.format(factory=factory)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    imported = set(json.loads(out.stdout.splitlines()[-1]))
    # Then it has the application's own modules and none of the heavy libraries
    assert {"aiqleads", "fastapi", "sqlalchemy", "numpy"} <= imported
    assert imported.isdisjoint(HEAVY), sorted(imported.intersection(HEAVY))


def _native_libraries(pid: int) -> set[str]:
    """Which of NATIVE the process has mapped (a package's extension modules load with it)."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return {folder for folder in NATIVE if folder in maps}


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc/PID/maps")
async def test_the_catalog_is_served_without_them_and_the_first_analytics_request_loads_them(
    backend: Backend,
    engine: object,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    tmp_path: Path,
) -> None:
    # Given leads close together (a cluster), an agent, an admin, and a one-process server
    now = SystemClock().now()
    cipher = FieldCipher(settings.encryption_keys)
    rows = [
        lead_row(
            settings,
            cipher,
            now=now,
            latitude=47.61 + i * 0.0002,
            longitude=-122.33 - i * 0.0002,
            published_at=now - timedelta(hours=2),
        )
        for i in range(12)
    ]
    await insert_leads(sessions, rows, now=now)
    agent = await make_account(sessions, now=now, tier=Tier.ENTERPRISE)
    boss = await make_account(sessions, now=now, role=Role.ADMIN, tier=Tier.ENTERPRISE)
    with serve(backend, tmp_path, AIQ_LOG_JSON="true", AIQ_WORKER__SCHEDULE="false") as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            as_agent = await login(client, agent.email)
            as_admin = await login(client, boss.email)
            # When both search the catalog and open a lead
            for headers in (as_agent, as_admin):
                page = await client.get("/api/v1/leads", headers=headers)
                assert page.status_code == 200, page.text
                assert len(page.json()["items"]) == len(rows)
                lead_id = page.json()["items"][0]["id"]
                detail = await client.get(f"/api/v1/leads/{lead_id}", headers=headers)
                assert detail.status_code == 200, detail.text
            (pid,) = {e["pid"] for e in access_lines(tmp_path, base)}
            assert isinstance(pid, int)
            # Then the server has loaded none of the analytics libraries
            assert _native_libraries(pid) == set()
            # When the agent asks for clusters and recommendations, and the admin for an
            # experiment's report
            clusters = await client.get(
                "/api/v1/geo/clusters",
                params={"metro": "seattle", "eps_m": 500, "min_samples": 3},
                headers=as_agent,
            )
            recommendations = await client.get(
                "/api/v1/recommendations", params={"limit": 5}, headers=as_agent
            )
            experiment = {
                "name": "lazy-imports",
                "variants": [{"name": "control", "weight": 50}, {"name": "model", "weight": 50}],
                "salt": "s1",
            }
            created = await client.post(
                "/api/v1/admin/experiments", json=experiment, headers=as_admin
            )
            assert created.status_code == 201, created.text
            report = await client.get(
                "/api/v1/admin/experiments/lazy-imports/report", headers=as_admin
            )
            # Then each is answered, the clusters from the leads, and scipy is loaded now
            assert clusters.status_code == 200, clusters.text
            sizes = [f["properties"]["size"] for f in clusters.json()["features"]]
            assert sum(sizes) == len(rows), clusters.text
            assert recommendations.status_code == 200, recommendations.text
            assert report.status_code == 200, report.text
            assert "/scipy/" in _native_libraries(pid)
