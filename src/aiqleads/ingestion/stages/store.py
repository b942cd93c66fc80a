from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.ingestion import repository
from aiqleads.ingestion.batch import Batch, Item, Outcome
from aiqleads.ingestion.known import resolve_known
from aiqleads.ingestion.payloads import payload_hash
from aiqleads.ingestion.rows import FILLABLE, fill_empty, lead_row
from aiqleads.ingestion.stages.base import Stage
from aiqleads.leads import store, versions


class StoreStage(Stage):
    """Writes the batch with bulk statements, in the batch's one transaction: new and changed
    leads (the upsert, which bumps metro data versions), merges into stored leads, provenance,
    price observations, and the quarantine."""

    name = "store"

    def _row(self, item: Item, batch: Batch) -> dict[str, Any]:
        assert item.lead is not None
        row = lead_row(
            item.lead,
            settings=self.settings,
            cipher=self.cipher,
            phone_hmac=item.phone_hmac,
            now=batch.now,
        )
        row.update(item.columns)
        return row

    async def process(self, batch: Batch, session: AsyncSession) -> None:
        await resolve_known(batch, session, self.settings)
        live = batch.live()
        rows = {id(item): self._row(item, batch) for item in live}
        for item in live:
            if item.merge_into_item is not None:
                fill_empty(rows[id(item.merge_into_item)], rows[id(item)])
        primaries = [i for i in live if i.merge_into is None and i.merge_into_item is None]
        await store.upsert_leads(
            session, [rows[id(i)] for i in primaries], now=batch.now, keep_when_null=FILLABLE
        )
        ids = await repository.lead_ids(session, [i.raw_pair() for i in primaries])

        fills = [(i.merge_into, rows[id(i)]) for i in live if i.merge_into is not None]
        await repository.fill_leads(session, fills, now=batch.now)
        if fills:
            await versions.bump(
                session, {i.merge_metro for i in live if i.merge_into is not None}, now=batch.now
            )

        provenance, prices = [], []
        for item in live:
            lead_id = self._lead_id(item, ids)
            row = rows[id(item)]
            price = item.lead.asking_price_cents if item.lead else None
            provenance.append(
                {
                    "lead_id": lead_id,
                    "source": row["source"],
                    "source_ref": row["source_ref"],
                    "source_url": row["source_url"],
                    "content_hash": item.content_hash,
                    "asking_price_cents": price,
                    "match_rule": item.match_rule,
                    "first_seen_at": batch.now,
                    "last_seen_at": batch.now,
                }
            )
            if price is not None and (item.known is None or item.known.asking_price_cents != price):
                prices.append(
                    {
                        "lead_id": lead_id,
                        "source": row["source"],
                        "asking_price_cents": price,
                        "currency": row["currency"],
                        "observed_at": batch.now,
                    }
                )
            if item.outcome is None:
                item.outcome = Outcome.CREATED if item.known is None else Outcome.UPDATED
            elif item.outcome is Outcome.MERGED and item.known is not None:
                item.outcome = Outcome.UPDATED
        await repository.upsert_sources(session, provenance)
        await repository.add_price_observations(session, prices)
        await self._quarantine(batch, session)

    @staticmethod
    def _lead_id(item: Item, ids: dict[tuple[str, str], int]) -> int:
        if item.merge_into is not None:
            return item.merge_into
        owner = item.merge_into_item or item
        return ids[owner.raw_pair()]

    async def _quarantine(self, batch: Batch, session: AsyncSession) -> None:
        fresh = [(e, payload_hash(e.source, e.raw)) for e in batch.quarantine if e.retry_of is None]
        await repository.add_quarantine(session, fresh, metro=batch.metro, now=batch.now)
        again = [e for e in batch.quarantine if e.retry_of is not None]
        await repository.record_retry_failures(session, again, now=batch.now)
        resolved = [
            i.quarantine_id
            for i in batch.items
            if i.quarantine_id is not None and i.outcome is not Outcome.QUARANTINED
        ]
        await repository.resolve_quarantine(session, resolved, now=batch.now)
