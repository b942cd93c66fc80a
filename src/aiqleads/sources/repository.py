"""The SQL of source monitoring: what a source gave in a window, and the stored profiles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.models import Lead, LeadSource, Quarantine, SourceProfileRow
from aiqleads.sources.profile import COVERAGE_FIELDS, Profile


@dataclass(frozen=True)
class WindowCounts:
    leads: int
    present: dict[str, int]  # coverage field → leads that have it
    zip_only: int


async def active_sources(session: AsyncSession, since: datetime) -> list[str]:
    """Sources that stored, changed or quarantined records since `since`, or have a profile."""
    stmt = union(
        select(LeadSource.source).where(LeadSource.last_seen_at >= since),
        select(Quarantine.source).where(Quarantine.created_at >= since),
        select(SourceProfileRow.source),
    )
    return sorted({row[0] for row in (await session.execute(stmt)).all()})


async def window_counts(session: AsyncSession, source: str, since: datetime) -> WindowCounts:
    """Leads whose record from `source` was stored or changed since `since`, and how many of
    them have each coverage field."""
    exact = case((Lead.geocode_precision == "exact", 1), else_=0)
    zip_only = case((Lead.geocode_precision == "zip_centroid", 1), else_=0)
    stmt = (
        select(
            func.count(),
            func.count(Lead.asking_price_cents),
            func.count(Lead.bedrooms),
            func.count(Lead.bathrooms),
            func.count(Lead.living_area_sqft),
            func.count(Lead.street_address),
            func.count(Lead.zip_code),
            func.coalesce(func.sum(exact), 0),
            func.count(Lead.owner_name_enc),
            func.count(Lead.owner_phone_hmac),
            func.count(Lead.owner_email_enc),
            func.count(Lead.listed_at),
            func.coalesce(func.sum(zip_only), 0),
        )
        .select_from(LeadSource)
        .join(Lead, Lead.id == LeadSource.lead_id)
        .where(LeadSource.source == source, LeadSource.last_seen_at >= since)
    )
    row = (await session.execute(stmt)).one()
    # The counts above are selected in COVERAGE_FIELDS' order.
    counts = row[1 : 1 + len(COVERAGE_FIELDS)]
    present = {name: int(value) for name, value in zip(COVERAGE_FIELDS, counts, strict=True)}
    return WindowCounts(leads=int(row[0]), present=present, zip_only=int(row[12]))


async def window_prices(session: AsyncSession, source: str, since: datetime) -> list[int]:
    stmt = (
        select(Lead.asking_price_cents)
        .select_from(LeadSource)
        .join(Lead, Lead.id == LeadSource.lead_id)
        .where(
            LeadSource.source == source,
            LeadSource.last_seen_at >= since,
            Lead.asking_price_cents.is_not(None),
        )
    )
    return [int(v) for v in (await session.scalars(stmt)).all() if v is not None]


async def window_quarantine(session: AsyncSession, source: str, since: datetime) -> dict[str, int]:
    """The source's records quarantined since `since` and still there, by reason code."""
    stmt = (
        select(Quarantine.reason, func.count())
        .where(
            Quarantine.source == source,
            Quarantine.created_at >= since,
            Quarantine.resolved_at.is_(None),
        )
        .group_by(Quarantine.reason)
    )
    return {str(reason): int(n) for reason, n in (await session.execute(stmt)).all()}


def _profile(row: SourceProfileRow) -> Profile:
    return Profile(
        source=row.source,
        computed_at=row.computed_at,
        window_start=row.window_start,
        leads=row.leads,
        quarantined=row.quarantined,
        fields=dict(row.fields),
        coverage=dict(row.coverage),
    )


async def stored(session: AsyncSession) -> dict[tuple[str, str], Profile]:
    """Every stored profile: (source, role) → profile."""
    rows = (await session.scalars(select(SourceProfileRow))).all()
    return {(row.source, row.role): _profile(row) for row in rows}


async def save(session: AsyncSession, profile: Profile, role: str) -> None:
    row = await session.get(SourceProfileRow, (profile.source, role))
    if row is None:
        row = SourceProfileRow(source=profile.source, role=role)
        session.add(row)
    row.computed_at = profile.computed_at
    row.window_start = profile.window_start
    row.leads = profile.leads
    row.quarantined = profile.quarantined
    row.fields = dict(profile.fields)
    row.coverage = dict(profile.coverage)
    await session.flush()
