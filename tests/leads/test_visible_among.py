"""`leads.service.visible_among`: which of some named leads a live notice may tell a viewer of
— by the catalog's own rule — now, or once its priority window has passed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.leads import service
from aiqleads.leads.filters import LeadFilter
from aiqleads.leads.visibility import Viewer
from aiqleads.models.enums import Tier
from tests.factories import insert_leads, lead_row, make_account, record_purchase


def _viewer(tier: Tier, clock: FrozenClock, delay_minutes: int, *, account_id: int) -> Viewer:
    now = clock.now()
    before = now - timedelta(minutes=delay_minutes) if delay_minutes else now
    return Viewer(account_id, False, tier, before, 0, now)


async def test_named_leads_are_told_now_later_or_never(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given a lead published a day ago, one ten minutes ago, one sold, one withdrawn
    now = clock.now()
    old = lead_row(settings, cipher, now=now, published_at=now - timedelta(days=1))
    new = lead_row(settings, cipher, now=now, published_at=now - timedelta(minutes=10))
    sold = lead_row(settings, cipher, now=now, published_at=now - timedelta(days=1))
    gone = lead_row(
        settings, cipher, now=now, published_at=now - timedelta(days=1), status="withdrawn"
    )
    await insert_leads(sessions, [old, new, sold, gone], now=now)
    buyer = await make_account(sessions, now=now, tier=Tier.PRO)
    await record_purchase(sessions, lead_public_id=sold["public_id"], account=buyer, now=now)
    ids = [r["public_id"] for r in (new, old, sold, gone)]
    async with sessions() as session:
        # When a basic agent (30-minute window) is the viewer
        basic = _viewer(Tier.BASIC, clock, 30, account_id=buyer.id + 1)
        ready, later = await service.visible_among(session, basic, ids)
        # Then the old lead is told now, the new one when it leaves the window, the others never
        assert ready == [old["public_id"]]
        assert later == [(new["published_at"] + timedelta(minutes=30), new["public_id"])]
        # When an enterprise agent is the viewer, both are told now, in the order named
        enterprise = _viewer(Tier.ENTERPRISE, clock, 0, account_id=buyer.id + 1)
        ready, later = await service.visible_among(session, enterprise, ids)
        assert (ready, later) == ([new["public_id"], old["public_id"]], [])
        # And a saved search narrows them: a ZIP none of them is in tells nothing
        ready, later = await service.visible_among(
            session, enterprise, ids, filt=LeadFilter(zips=("98199",))
        )
        assert (ready, later) == ([], [])
