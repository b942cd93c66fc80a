"""Agent accounts for experiment tests, made fast."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.db.engine import transaction
from aiqleads.models import Account
from aiqleads.models.enums import Role, Tier


async def agent_ids(
    sessions: async_sessionmaker[AsyncSession], n: int, *, now: datetime
) -> list[int]:
    """n agent accounts that never sign in (no password hashing: the report needs only ids)."""
    async with transaction(sessions) as session:
        rows = [
            Account(
                email=f"exp-agent-{uuid.uuid4().hex}@example.com",
                password_hash="!never-signs-in",
                role=Role.AGENT.value,
                tier=Tier.BASIC.value,
                created_at=now,
                updated_at=now,
            )
            for _ in range(n)
        ]
        session.add_all(rows)
        await session.flush()
        return [r.id for r in rows]
