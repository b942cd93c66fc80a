"""All SQL of tier policies."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.config import TierPolicy
from aiqleads.models import TierPolicyRow

policies = cast(Table, TierPolicyRow.__table__)
FIELDS = tuple(TierPolicy.model_fields)


async def overrides(session: AsyncSession) -> dict[str, TierPolicy]:
    """The tiers an admin has set, by tier name."""
    rows = await session.execute(select(policies))
    return {r.tier: TierPolicy(**{f: getattr(r, f) for f in FIELDS}) for r in rows}


async def save(
    session: AsyncSession, tier: str, policy: TierPolicy, *, by: int, now: datetime
) -> None:
    """Insert or replace the tier's row."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    values = {**policy.model_dump(), "updated_at": now, "updated_by": by}
    stmt = insert(policies).values(tier=tier, **values)
    await session.execute(stmt.on_conflict_do_update(index_elements=["tier"], set_=values))


async def delete(session: AsyncSession, tier: str) -> None:
    await session.execute(policies.delete().where(policies.c.tier == tier))
