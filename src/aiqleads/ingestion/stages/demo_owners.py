"""The demo's own step: a fictional owner for every lead its source gave no owner contact.

Never in the default stage list: `aiqleads demo` switches it on (aiqleads.sample.sources), and
`aiqleads ingest` never invents contacts. What it adds is obviously fictional (see
aiqleads.sample.fictional_owners) and every lead it touches counts a `demo_owner_fictional` note.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.ingestion.batch import Batch
from aiqleads.ingestion.stages.base import Stage
from aiqleads.metros import metro_for_point
from aiqleads.sample.fictional_owners import owner_for

NOTE = "demo_owner_fictional"


class DemoOwnersStage(Stage):
    """Gives each new or changed lead with no owner name, phone or e-mail a deterministic
    fictional owner, seeded from (source, source_ref), with the area code of the run's metro
    (else of the metro holding the lead's point).

    It needs the known-record lookup to have run first, so the content hash ("nothing changed
    since last run") and the phone blind index are those of what the source said: a re-run
    stays unchanged, and a fictional phone gets no blind index, so phone matching never takes
    two homes for one because they drew the same of the hundred fictional numbers. A record
    that only merges into another lead is left alone: that lead has an owner of its own.
    """

    name = "demo_owners"
    needs_known = True

    async def process(self, batch: Batch, session: AsyncSession) -> None:
        for item in batch.live():
            lead = item.lead
            assert lead is not None  # normalize runs first (checked by the settings)
            if item.merge_into is not None or item.merge_into_item is not None:
                continue
            if lead.owner_name or lead.owner_phone or lead.owner_email:
                continue
            metro = batch.metro
            if metro is None and lead.latitude is not None and lead.longitude is not None:
                found = metro_for_point(lead.latitude, lead.longitude)
                metro = found.slug if found is not None else None
            owner = owner_for(lead.source, lead.source_ref, metro)
            item.lead = replace(
                lead,
                owner_name=owner.name,
                owner_phone=owner.phone,
                owner_email=owner.email,
                notes=(*lead.notes, NOTE),
            )
            batch.note(NOTE)
