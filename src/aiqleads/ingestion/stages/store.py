from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.ingestion import repository
from aiqleads.ingestion.batch import Batch, Item, Outcome
from aiqleads.ingestion.payloads import payload_hash, seal
from aiqleads.ingestion.rows import fill_empty, lead_row
from aiqleads.ingestion.stages.base import Stage
from aiqleads.leads import writes


class StoreStage(Stage):
    """Writes the batch through the leads' one write path, in the batch's one transaction: new
    and changed leads, merges into stored leads, price observations (`leads.writes`, which also
    keeps status history and data versions), then provenance and the quarantine."""

    name = "store"
    needs_known = True

    def _row(self, item: Item) -> dict[str, Any]:
        assert item.lead is not None
        row = lead_row(
            item.lead, settings=self.settings, cipher=self.cipher, phone_hmac=item.phone_hmac
        )
        row.update(item.columns)
        if item.lead_key is not None:
            row["source"], row["source_ref"] = item.lead_key
        return row

    async def process(self, batch: Batch, session: AsyncSession) -> None:
        live = batch.live()
        rows = {id(item): self._row(item) for item in live}
        for item in live:
            if item.merge_into_item is not None:
                fill_empty(rows[id(item.merge_into_item)], rows[id(item)])
        primaries = [i for i in live if i.merge_into is None and i.merge_into_item is None]
        # Two records writing one lead row (a post and its repost): the later listing last, so
        # that it wins (the upsert keeps the last row of a key).
        primaries.sort(key=_listed_order)
        cause = f"ingest:{batch.sources()}"
        ids = await writes.upsert(
            session, [rows[id(i)] for i in primaries], now=batch.now, cause=cause
        )
        sightings = [(i.merge_into, rows[id(i)]) for i in live if i.merge_into is not None]
        await writes.merge(session, sightings, now=batch.now, cause=cause)

        provenance, prices = [], []
        for item in live:
            lead_id = self._lead_id(item, ids)
            row = rows[id(item)]
            price = item.lead.asking_price_cents if item.lead else None
            provenance.append(
                {
                    "lead_id": lead_id,
                    "source": item.raw_pair()[0],
                    "source_ref": item.raw_pair()[1],
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
        await writes.add_prices(session, prices)
        await self._quarantine(batch, session)

    @staticmethod
    def _lead_id(item: Item, ids: dict[tuple[str, str], int]) -> int:
        if item.merge_into is not None:
            return item.merge_into
        owner = item.merge_into_item or item
        return ids[owner.row_key()]

    async def _quarantine(self, batch: Batch, session: AsyncSession) -> None:
        # The hash is of the payload in clear (the same bad input is the same row); the row
        # keeps it sealed.
        fresh = [
            (replace(e, raw=seal(self.cipher, e.raw)), payload_hash(e.source, e.raw))
            for e in batch.quarantine
            if e.retry_of is None
        ]
        await repository.add_quarantine(session, fresh, metro=batch.metro, now=batch.now)
        again = [e for e in batch.quarantine if e.retry_of is not None]
        await repository.record_retry_failures(session, again, now=batch.now)
        resolved = [
            i.quarantine_id
            for i in batch.items
            if i.quarantine_id is not None and i.outcome is not Outcome.QUARANTINED
        ]
        await repository.resolve_quarantine(session, resolved, now=batch.now)


def _listed_order(item: Item) -> tuple[int, float]:
    listed = item.lead.listed_at if item.lead is not None else None
    return (0, 0.0) if listed is None else (1, listed.timestamp())
