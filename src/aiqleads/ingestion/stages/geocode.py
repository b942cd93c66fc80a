from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.ingestion.batch import Batch
from aiqleads.ingestion.stages.base import Stage


class GeocodeStage(Stage):
    """Where a lead is stored: the source's point, else the ZIP centroid normalize found.

    A stored exact point is never replaced by a coarser one: a source that drops a listing's
    coordinates in a later crawl should not move the lead to its ZIP's centre.
    """

    name = "geocode"
    needs_known = True

    async def process(self, batch: Batch, session: AsyncSession) -> None:
        for item in batch.live():
            assert item.lead is not None
            known = item.known
            precision = item.lead.geocode_precision
            if known is not None and known.geocode_precision == "exact" and precision != "exact":
                # The write path keeps the stored point anyway; taking it here too lets the
                # later stages (dedupe, the score) see where the lead really is.
                item.columns.update(
                    latitude=known.latitude,
                    longitude=known.longitude,
                    geocode_precision=known.geocode_precision,
                )
                precision = "exact"
            batch.note(f"geocode_{precision}")
