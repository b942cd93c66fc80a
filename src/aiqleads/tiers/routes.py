"""Operator endpoints for tier policy: read every tier's, set or reset one."""

from __future__ import annotations

from fastapi import APIRouter

from aiqleads.deps import CurrentAdmin, DbSession, State
from aiqleads.models.enums import Tier
from aiqleads.routing import SessionRoute
from aiqleads.tiers.schemas import TierPolicyIn, TierPolicyOut

router = APIRouter(route_class=SessionRoute, prefix="/api/v1/admin/tiers", tags=["admin"])


async def _all(state: State, session: DbSession) -> list[TierPolicyOut]:
    current = await state.tiers.current(session)
    defaults = state.tiers.defaults()
    return [
        TierPolicyOut(
            tier=tier,
            source="settings" if current[tier.value] == defaults[tier.value] else "admin",
            policy=current[tier.value],
        )
        for tier in Tier
    ]


@router.get("")
async def list_tiers(_: CurrentAdmin, session: DbSession, state: State) -> list[TierPolicyOut]:
    """Every tier's policy in force, and whether an admin set it."""
    return await _all(state, session)


@router.put("/{tier}")
async def set_tier(
    tier: Tier, body: TierPolicyIn, admin: CurrentAdmin, session: DbSession, state: State
) -> TierPolicyOut:
    """Set a tier's whole policy; it applies to new holds, windows and prices at once."""
    policy = await state.tiers.set(
        session, tier, body.policy(), by=admin.account_id, now=state.clock.now()
    )
    return TierPolicyOut(tier=tier, source="admin", policy=policy)


@router.delete("/{tier}")
async def reset_tier(
    tier: Tier, admin: CurrentAdmin, session: DbSession, state: State
) -> TierPolicyOut:
    """Back to the settings' policy for the tier."""
    policy = await state.tiers.set(session, tier, None, by=admin.account_id, now=state.clock.now())
    return TierPolicyOut(tier=tier, source="settings", policy=policy)
