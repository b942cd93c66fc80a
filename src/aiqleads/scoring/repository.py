"""All SQL of the scoring domain: the model registry (`scoring_models`, owned here) and the
reads of leads the simulator needs. Scores are written through `leads.writes.set_scores`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.kit.clock import as_utc
from aiqleads.leads.pricing import LeadSignals, quality_score
from aiqleads.models import Lead, ScoringModelRow

models = cast(Table, ScoringModelRow.__table__)
leads = cast(Table, Lead.__table__)


async def add(session: AsyncSession, row: dict[str, Any]) -> ScoringModelRow:
    """Register a model (the columns of ScoringModelRow, is_active false). A version already
    registered violates the unique constraint (IntegrityError)."""
    model = ScoringModelRow(**{**row, "is_active": False})
    session.add(model)
    await session.flush()
    return model


async def activate(session: AsyncSession, version: str) -> bool:
    """Make `version` the one active model (every other row inactive). False when no such
    version is registered (nothing changes)."""
    exists = await session.scalar(select(models.c.id).where(models.c.version == version))
    if exists is None:
        return False
    await session.execute(update(models).where(models.c.version != version).values(is_active=False))
    await session.execute(update(models).where(models.c.version == version).values(is_active=True))
    return True


async def listed(session: AsyncSession) -> list[ScoringModelRow]:
    """Every registered model, newest training first."""
    found = await session.scalars(
        select(ScoringModelRow).order_by(ScoringModelRow.trained_at.desc(), ScoringModelRow.id)
    )
    return list(found.all())


async def active(session: AsyncSession) -> ScoringModelRow | None:
    """The active model, if any."""
    found: ScoringModelRow | None = await session.scalar(
        select(ScoringModelRow).where(ScoringModelRow.is_active.is_(True))
    )
    return found


@dataclass(frozen=True, slots=True)
class SimLead:
    """What the simulator reads of a lead: its id, kind, ZIP, asking price (cents, None when
    unknown), whether an owner phone is on file, and when it was published."""

    id: int
    kind: str
    zip_code: str | None
    asking_price_cents: int | None
    has_owner_phone: bool
    published_at: datetime


async def simulation_leads(
    session: AsyncSession, *, published_before: datetime | None, limit: int | None = None
) -> list[SimLead]:
    """Leads published before the instant (None: every lead), in id order (at most `limit`)."""
    stmt = select(
        leads.c.id,
        leads.c.kind,
        leads.c.zip_code,
        leads.c.asking_price_cents,
        leads.c.owner_phone_enc.is_not(None).label("has_phone"),
        leads.c.published_at,
    ).order_by(leads.c.id)
    if published_before is not None:
        stmt = stmt.where(leads.c.published_at < published_before)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        SimLead(r.id, r.kind, r.zip_code, r.asking_price_cents, bool(r.has_phone), r.published_at)
        for r in await session.execute(stmt)
    ]


async def all_lead_ids(session: AsyncSession, *, only: Sequence[int] | None = None) -> list[int]:
    """Every lead id in id order (or those of `only` that exist)."""
    stmt = select(leads.c.id).order_by(leads.c.id)
    if only is not None:
        stmt = stmt.where(leads.c.id.in_(list(only)))
    return list((await session.scalars(stmt)).all())


async def rules_scores(
    session: AsyncSession, lead_ids: Sequence[int], *, at: Mapping[int, datetime]
) -> dict[int, float]:
    """The rules-1 quality score (`leads.pricing.quality_score`, today's formula) of each lead
    as of `at[lead_id]` (aware datetimes; freshness counts from then), computed from its stored
    values rather than read: a lead a model has scored no longer stores its rules-1 score, and
    the heuristic baseline must still be judged on it. Leads not found are left out."""
    found: dict[int, float] = {}
    ids = list(lead_ids)
    for start in range(0, len(ids), 1000):
        rows = await session.execute(
            select(
                leads.c.id,
                leads.c.owner_name_enc,
                leads.c.owner_phone_enc,
                leads.c.owner_email_enc,
                leads.c.geocode_precision,
                leads.c.bedrooms,
                leads.c.bathrooms,
                leads.c.living_area_sqft,
                leads.c.lot_sqft,
                leads.c.year_built,
                leads.c.asking_price_cents,
                leads.c.listed_at,
            ).where(leads.c.id.in_(ids[start : start + 1000]))
        )
        for r in rows:
            signals = LeadSignals.of(
                owner_name=r.owner_name_enc,
                owner_phone=r.owner_phone_enc,
                owner_email=r.owner_email_enc,
                geocode_precision=r.geocode_precision,
                facts=(r.bedrooms, r.bathrooms, r.living_area_sqft, r.lot_sqft, r.year_built),
                asking_price_cents=r.asking_price_cents,
                listed_at=as_utc(r.listed_at) if r.listed_at is not None else None,
            )
            found[r.id] = quality_score(signals, at[r.id])
    return found


async def set_territory_cuts(
    session: AsyncSession, version: str, cuts: dict[str, list[list[Any]]]
) -> None:
    """Store a model's per-metro bucket cuts, each metro's [low, high] of rank keys
    [score, raw margin, public id] (leads.scores.territory_cuts), replacing what it had."""
    await session.execute(
        update(models).where(models.c.version == version).values(territory_cuts=cuts)
    )


async def lead_ids_scored_by(session: AsyncSession, version: str, *, limit: int) -> list[int]:
    """Up to `limit` ids of leads whose score `version` made (e.g. rules-1: not yet modelled),
    ascending."""
    rows = await session.scalars(
        select(leads.c.id).where(leads.c.model_version == version).order_by(leads.c.id).limit(limit)
    )
    return [int(i) for i in rows.all()]
