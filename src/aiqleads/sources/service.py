"""Source and schema monitoring: profile each source, compare it with its baseline, export the
drift as metrics (aiq_source_field_drift, aiq_source_drifted) for the AIQSourceDrift alert.

Profiles are stored (`source_profiles`), so whichever process answers a Prometheus scrape
exports the same numbers: the periodic task `sources.profile` (every
AIQ_SOURCES__PROFILE_SECONDS) and `aiqleads sources report` compute and store them, and
/metrics reads them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.config import SourceMonitorSettings
from aiqleads.observability.metrics import SOURCE_DRIFTED, SOURCE_FIELD_DRIFT, SOURCE_PROFILE_AGE
from aiqleads.sources import repository
from aiqleads.sources.profile import Profile, SourceReport, build, compare

BASELINE = "baseline"
LATEST = "latest"


async def profile(
    session: AsyncSession, source: str, *, now: datetime, settings: SourceMonitorSettings
) -> Profile:
    """The profile of what `source` gave in the `settings.window_days` up to `now`."""
    since = now - timedelta(days=settings.window_days)
    counts = await repository.window_counts(session, source, since)
    return build(
        source,
        computed_at=now,
        window_start=since,
        leads=counts.leads,
        present=counts.present,
        zip_only=counts.zip_only,
        prices_cents=await repository.window_prices(session, source, since),
        quarantined_by_reason=await repository.window_quarantine(session, source, since),
    )


async def _sources(
    session: AsyncSession, sources: list[str] | None, now: datetime, settings: SourceMonitorSettings
) -> list[str]:
    if sources:
        return sorted(set(sources))
    return await repository.active_sources(session, now - timedelta(days=settings.window_days))


async def refresh(
    session: AsyncSession,
    *,
    now: datetime,
    settings: SourceMonitorSettings,
    sources: list[str] | None = None,
) -> list[SourceReport]:
    """Profile each source (those named, else every active one), store it as its latest and,
    for a source without a baseline whose profile has at least `min_records` records, as its
    baseline too; return each compared with its baseline."""
    stored = await repository.stored(session)
    reports = []
    for source in await _sources(session, sources, now, settings):
        latest = await profile(session, source, now=now, settings=settings)
        await repository.save(session, latest, LATEST)
        baseline = stored.get((source, BASELINE))
        if baseline is None and latest.records >= settings.min_records:
            await repository.save(session, latest, BASELINE)
            baseline = latest
        reports.append(compare(latest, baseline, settings))
    return reports


async def set_baseline(
    session: AsyncSession,
    *,
    now: datetime,
    settings: SourceMonitorSettings,
    sources: list[str] | None = None,
) -> list[Profile]:
    """Take each source's profile now as its baseline (accept a change as the new normal)."""
    made = []
    for source in await _sources(session, sources, now, settings):
        current = await profile(session, source, now=now, settings=settings)
        await repository.save(session, current, BASELINE)
        await repository.save(session, current, LATEST)
        made.append(current)
    return made


async def stored_reports(
    session: AsyncSession, settings: SourceMonitorSettings
) -> list[SourceReport]:
    """Each source's stored latest profile compared with its stored baseline."""
    stored = await repository.stored(session)
    return [
        compare(latest, stored.get((source, BASELINE)), settings)
        for (source, role), latest in sorted(stored.items())
        if role == LATEST
    ]


def export(reports: list[SourceReport]) -> None:
    """Set the source gauges from `reports` (in this process)."""
    for report in reports:
        SOURCE_PROFILE_AGE.labels(report.source).set(report.latest.computed_at.timestamp())
        SOURCE_DRIFTED.labels(report.source).set(1 if report.drifted else 0)
        for d in report.drifts:
            if d.drift is not None:
                SOURCE_FIELD_DRIFT.labels(report.source, d.field).set(d.drift)
