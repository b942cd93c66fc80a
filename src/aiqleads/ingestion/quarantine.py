"""The quarantine, for operators: list what ingestion could not use, and try it again."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.db.engine import transaction
from aiqleads.ingestion import repository
from aiqleads.ingestion.batch import Batch, Item, Outcome
from aiqleads.ingestion.payloads import record_from_payload, unseal
from aiqleads.ingestion.pipeline import Pipeline
from aiqleads.ingestion.summary import IngestSummary
from aiqleads.models import Quarantine


def as_dict(row: Quarantine) -> dict[str, Any]:
    return {
        "id": row.id,
        "source": row.source,
        "source_ref": row.source_ref,
        "metro": row.metro,
        "stage": row.stage,
        "reason": row.reason,
        "reasons": row.reasons,
        "attempts": row.attempts,
        "created_at": row.created_at.isoformat(),
        "retried_at": row.retried_at.isoformat() if row.retried_at else None,
        "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None,
    }


async def list_rows(
    sessions: async_sessionmaker[AsyncSession],
    *,
    source: str | None = None,
    reason: str | None = None,
    include_resolved: bool = False,
    limit: int | None = None,
    after_id: int | None = None,
) -> list[Quarantine]:
    """Quarantined rows in id order (unresolved ones unless `include_resolved`), after
    `after_id` when given."""
    async with transaction(sessions) as session:
        return await repository.list_quarantine(
            session,
            source=source,
            reason=reason,
            include_resolved=include_resolved,
            limit=limit,
            after_id=after_id,
        )


@dataclass
class RetryResult:
    retried: int = 0
    resolved: int = 0
    still_failing: int = 0
    # Parser rejects and unreadable documents hold no record: they come back by re-ingesting
    # their file once the parser is fixed.
    not_retryable: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "retried": self.retried,
            "resolved": self.resolved,
            "still_failing": self.still_failing,
            "not_retryable": self.not_retryable,
            "outcomes": dict(sorted(self.outcomes.items())),
        }


async def retry(
    sessions: async_sessionmaker[AsyncSession],
    pipeline: Pipeline,
    *,
    now: datetime,
    source: str | None = None,
    row_id: int | None = None,
) -> RetryResult:
    """Run the stored records of unresolved rows through normalize → store again.

    A record that now passes is stored and its row gets resolved_at; one that still fails keeps
    its row with attempts + 1 and the new reasons. Rows are grouped by the metro they were
    ingested for, so the same metro check applies again.
    """
    async with transaction(sessions) as session:
        rows = await repository.list_quarantine(session, source=source, row_id=row_id)
    result = RetryResult()
    by_metro: dict[str | None, list[Item]] = {}
    for row in rows:
        record = record_from_payload(unseal(pipeline.cipher, row.raw))
        if record is None:
            result.not_retryable += 1
            continue
        by_metro.setdefault(row.metro, []).append(Item(record, quarantine_id=row.id))
    size = pipeline.settings.ingest.batch_size
    summary = IngestSummary()
    for metro, items in by_metro.items():
        for start in range(0, len(items), size):
            batch = Batch(items[start : start + size], now, metro)
            await pipeline.run_batch(sessions, batch, summary)
            for item in batch.items:
                result.retried += 1
                if item.outcome is Outcome.QUARANTINED:
                    result.still_failing += 1
                else:
                    result.resolved += 1
    result.outcomes.update(summary.outcomes)
    return result
