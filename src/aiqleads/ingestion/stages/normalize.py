from __future__ import annotations

from aiqleads.ingestion.batch import Batch, Item
from aiqleads.ingestion.normalize.lead import normalize
from aiqleads.ingestion.payloads import record_payload
from aiqleads.ingestion.stages.base import PureStage


class NormalizeStage(PureStage):
    """Raw source fields → typed lead columns; a record that cannot be placed is quarantined."""

    name = "normalize"

    def apply(self, batch: Batch, items: list[Item]) -> None:
        for item in items:
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
