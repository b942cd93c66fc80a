"""Which records of a batch the database already holds, and which of those did not change."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.config import Settings
from aiqleads.ingestion import repository
from aiqleads.ingestion.batch import Batch, Item, Outcome
from aiqleads.ingestion.rows import content_hash, phone_hmac


def fingerprint(items: Iterable[Item], settings: Settings) -> None:
    """Set each item's content hash and owner-phone blind index from its normalized lead. Pure
    (no database): the pipeline runs it with the pure stages, on the next batch while the
    database stores this one, so that its 6–8 µs a record are off the batch's critical path;
    `resolve_known` fills any item it did not reach."""
    for item in items:
        assert item.lead is not None
        item.content_hash = content_hash(item.lead)
        item.phone_hmac = phone_hmac(settings, item.lead)


async def resolve_known(batch: Batch, session: AsyncSession, settings: Settings) -> None:
    """Fingerprint each live lead (those `fingerprint` has not reached), load what is stored
    under its (source, source_ref) with one query per source, and settle the items whose
    content is the same as last time. Runs once per batch."""
    if batch.known_loaded:
        return
    batch.known_loaded = True
    live = batch.live()
    fingerprint((i for i in live if i.content_hash is None), settings)
    # The same record twice in one batch (overlapping pages): the last sighting wins.
    last = {item.raw_pair(): item for item in live}
    found = await repository.known_for(session, last)
    for item in live:
        pair = item.raw_pair()
        if last[pair] is not item:
            item.outcome = Outcome.UNCHANGED
            continue
        item.known = found.get(pair)
        if item.known is None:
            continue
        if item.known.content_hash == item.content_hash:
            item.outcome = Outcome.UNCHANGED
        elif not item.known.primary:
            lead = item.lead
            assert lead is not None
            if lead.repost_of and item.known.lead_ref == (lead.source, lead.repost_of):
                # A repost seen again with new content: it updates the post it reposts.
                item.lead_key, item.match_rule = item.known.lead_ref, "repost"
            else:  # a source merged into another lead earlier: fill it again
                item.merge_into, item.merge_metro = item.known.lead_id, item.known.metro
