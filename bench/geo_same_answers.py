"""Digests of the geo answers an agent and an admin get from one database; prints one JSON.

Run it once with the old code and once with the new (PYTHONPATH) on the same data: equal
digests mean byte-identical answers (penetration by ZIP and by H3 cell, competitors around the
agent's purchases and around the metro's centre), whatever the code paths behind them.

    .venv/bin/python bench/geo_same_answers.py --database-url postgresql+asyncpg://…/db
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The bench's data (bench/geo.py): its accounts, metro and instant.
sys.path.insert(0, str(Path(__file__).resolve().parent))
if TYPE_CHECKING:  # mypy names bench's files from the project root (see pyproject.toml)
    from bench.geo import METRO, NOW
else:
    from geo import METRO, NOW


async def _digests(url: str) -> dict[str, str]:
    from sqlalchemy import select

    from aiqleads.auth.principal import Principal
    from aiqleads.config import Settings
    from aiqleads.db.engine import create_engine, session_factory
    from aiqleads.geo import service
    from aiqleads.kit.cache import build_cache
    from aiqleads.leads.filters import Area, LeadFilter
    from aiqleads.leads.visibility import viewer_for
    from aiqleads.metros import get_metro
    from aiqleads.models import Account

    settings = Settings(database_url=url, cache_namespace=f"same-{uuid.uuid4().hex}")
    engine = create_engine(settings)
    sessions = session_factory(engine)
    async with sessions() as s:
        found = {a.email: a for a in (await s.scalars(select(Account))).all()}
    ctx = service.GeoContext(settings=settings, cache=build_cache(None), now=NOW)
    filt = LeadFilter(area=Area(metro=get_metro(METRO)))
    calls: dict[str, tuple[Any, dict[str, Any]]] = {
        "penetration_zip": (service.penetration, {"level": "zip", "resolution": 8}),
        "penetration_h3": (service.penetration, {"level": "h3", "resolution": 8}),
        "competitors": (service.competitors, {"radius_m": 1000.0, "point": None, "top_n": 5}),
        "competitors_one_point": (
            service.competitors,
            {"radius_m": 1000.0, "point": get_metro(METRO).centre, "top_n": 5},
        ),
    }
    out: dict[str, str] = {}
    for who in ("me", "admin"):
        principal = Principal.of(found[f"{who}@bench.example"])
        viewer = viewer_for(principal, settings.tiers[principal.tier], NOW)
        for name, (fn, kw) in calls.items():
            if fn is service.penetration:
                kw = {**kw, "metric": "market"}
            async with sessions() as s:
                body = await fn(s, viewer, filt=filt, ctx=ctx, **kw)
            out[f"{who}_{name}"] = hashlib.sha256(body).hexdigest()[:16]
    await engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(_digests(args.database_url)), indent=2))


if __name__ == "__main__":
    main()
