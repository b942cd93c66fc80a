"""What one ingestion run did: counts by outcome, by quarantine reason, and time per stage."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiqleads.ingestion.batch import Batch, Outcome, QuarantineEntry


@dataclass
class StageStats:
    seconds: float = 0.0
    records: int = 0  # records that entered the stage
    dropped: int = 0  # of which quarantined by it


@dataclass
class IngestSummary:
    documents: int = 0
    read: int = 0  # records and parser rejects found in the documents
    outcomes: Counter[str] = field(default_factory=Counter)
    quarantined_by_reason: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)
    stages: dict[str, StageStats] = field(default_factory=dict)
    seconds: float = 0.0

    def stage(self, name: str) -> StageStats:
        return self.stages.setdefault(name, StageStats())

    def count_quarantine(self, entries: list[QuarantineEntry]) -> None:
        self.quarantined_by_reason.update(e.reason for e in entries)

    def add_batch(self, batch: Batch) -> None:
        """Counted after the batch committed, so a failed batch counts nothing."""
        self.outcomes.update(str(i.outcome) for i in batch.items if i.outcome is not None)
        self.count_quarantine(batch.quarantine)
        self.notes.update(batch.notes)

    @property
    def quarantined(self) -> int:
        return sum(self.quarantined_by_reason.values())

    def as_dict(self) -> dict[str, Any]:
        stored = sum(self.outcomes[o] for o in (Outcome.CREATED, Outcome.UPDATED, Outcome.MERGED))
        return {
            "documents": self.documents,
            "read": self.read,
            **{str(o): self.outcomes[o] for o in Outcome if o is not Outcome.QUARANTINED},
            "quarantined": self.quarantined,
            "quarantined_by_reason": dict(sorted(self.quarantined_by_reason.items())),
            "notes": dict(sorted(self.notes.items())),
            "stages": {
                name: {
                    "seconds": round(s.seconds, 4),
                    "records": s.records,
                    "dropped": s.dropped,
                }
                for name, s in self.stages.items()
            },
            "seconds": round(self.seconds, 3),
            "records_per_second": round(self.read / self.seconds, 1) if self.seconds else None,
            "stored": stored,
        }
