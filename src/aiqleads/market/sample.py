"""The demo metro's market series bundled with the package (Zillow Research, Seattle cut; see
sample_data/README.md), and the function the demo calls to load them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.market import service
from aiqleads.market.loaders import ZILLOW
from aiqleads.sample.sources import SAMPLE_DATA

BUNDLED_ZILLOW = (
    "zillow_Zip_zori_uc_sfrcondomfr_sm_month_seattle.csv",
    "zillow_City_zori_sm_month_seattle.csv",
    "zillow_County_zori_uc_sfrcondomfr_sm_month_seattle.csv",
    "zillow_Metro_zhvi_uc_sfrcondo_tier_0.33_0.67_sm_sa_month_2022_seattle.csv",
    "zillow_Metro_zori_uc_sfrcondomfr_sm_month_2025_seattle.csv",
)


async def load_bundled(session: AsyncSession) -> dict[str, service.Loaded]:
    """Load every bundled Zillow file into `market_series` (again: updates, no duplicates).
    Returns each file's name with what was loaded."""
    out: dict[str, service.Loaded] = {}
    for name in BUNDLED_ZILLOW:
        out[name] = await service.load(session, SAMPLE_DATA / name, ZILLOW)
    return out
