"""The unit of work that flows through the record stages and is committed in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from aiqleads.ingestion.normalize.lead import NormalizedLead
from aiqleads.ingestion.records import RawRecord


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    MERGED = "merged"
    QUARANTINED = "quarantined"


def reason_code(reason: str) -> str:
    """The stable code of a reason string "code: detail" (metric labels and the --reason filter)."""
    code = reason.partition(":")[0].strip()
    return code if code and code.replace("_", "").isalnum() and code.islower() else "unknown"


@dataclass(frozen=True, slots=True)
class Known:
    """What the database holds for a record's (source, source_ref)."""

    lead_id: int
    content_hash: str | None  # None for a lead stored without provenance (not by ingestion)
    asking_price_cents: int | None  # the price this source last showed
    primary: bool  # the lead's own (source, source_ref) is this record's
    metro: str | None
    latitude: float | None
    longitude: float | None
    geocode_precision: str
    lead_ref: tuple[str, str] | None = None  # the lead's own (source, source_ref)


@dataclass(slots=True)
class Item:
    raw: RawRecord
    quarantine_id: int | None = None  # set when the record comes back from the quarantine
    lead: NormalizedLead | None = None
    content_hash: str | None = None
    phone_hmac: str | None = None
    known: Known | None = None
    merge_into: int | None = None  # a stored lead this record is another sighting of
    merge_into_item: Item | None = None  # or a new lead of the same batch
    merge_metro: str | None = None
    match_rule: str = "source_ref"
    # The (source, source_ref) of the lead row this record writes, when it is not the record's
    # own: a repost writes the lead of the post it reposts (its own id stays as provenance).
    lead_key: tuple[str, str] | None = None
    columns: dict[str, Any] = field(default_factory=dict)  # set by geocode and enrich
    outcome: Outcome | None = None

    def raw_pair(self) -> tuple[str, str]:
        """(source, source_ref) as stored: the normalized lead's, which strips whitespace."""
        assert self.lead is not None
        return self.lead.source, self.lead.source_ref

    def row_key(self) -> tuple[str, str]:
        """The key of the lead row this record writes (see `lead_key`)."""
        return self.lead_key or self.raw_pair()

    @property
    def settled(self) -> bool:
        """Nothing more to compute: dropped, or the same content as stored."""
        return self.outcome in (Outcome.QUARANTINED, Outcome.UNCHANGED)


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    source: str
    source_ref: str | None
    stage: str
    reasons: list[str]
    raw: dict[str, Any]
    retry_of: int | None = None  # the quarantine row this retry came from

    @property
    def reason(self) -> str:
        return reason_code(self.reasons[0]) if self.reasons else "unknown"


@dataclass(slots=True)
class Batch:
    items: list[Item]
    now: datetime
    metro: str | None
    quarantine: list[QuarantineEntry] = field(default_factory=list)
    known_loaded: bool = False
    notes: dict[str, int] = field(default_factory=dict)

    def live(self) -> list[Item]:
        return [i for i in self.items if not i.settled]

    def sources(self) -> str:
        """The sources of the batch's records, for the status history ("craigslist,redfin")."""
        return ",".join(sorted({i.raw.source for i in self.items if i.raw.source}))

    def drop(self, item: Item, stage: str, reasons: list[str], raw: dict[str, Any]) -> None:
        item.outcome = Outcome.QUARANTINED
        self.quarantine.append(
            QuarantineEntry(
                item.raw.source or "unknown",
                item.raw.source_ref or None,
                stage,
                reasons,
                raw,
                retry_of=item.quarantine_id,
            )
        )

    def note(self, reason: str) -> None:
        code = reason_code(reason)
        self.notes[code] = self.notes.get(code, 0) + 1
