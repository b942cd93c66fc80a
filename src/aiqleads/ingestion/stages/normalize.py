from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.ingestion.batch import Batch
from aiqleads.ingestion.normalize.lead import normalize
from aiqleads.ingestion.payloads import record_payload
from aiqleads.ingestion.stages.base import Stage


class NormalizeStage(Stage):
    """Raw source fields → typed lead columns; a record that cannot be placed is quarantined."""

    name = "normalize"

    async def process(self, batch: Batch, session: AsyncSession) -> None:
        for item in batch.live():
            try:
                result = normalize(item.raw, metro=batch.metro, now=batch.now)
            except Exception as exc:  # one odd record must not stop a run of thousands
                result = [f"normalize_failed: {type(exc).__name__}: {str(exc)[:200]}"]
            if isinstance(result, list):
                batch.drop(item, self.name, result, record_payload(item.raw))
                continue
            item.lead = result
            for note in result.notes:
                batch.note(note)
