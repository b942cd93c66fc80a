from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.ingestion.batch import Batch
from aiqleads.ingestion.stages.base import Stage
from aiqleads.leads.pricing import RULES_VERSION, LeadSignals, price_factors, quality_score
from aiqleads.leads.scores import score_bucket


class EnrichStage(Stage):
    """Quality score (rules-1) and the lead's price. H3 cells come from normalize and the metro
    from the store's upsert, which derives it from the point."""

    name = "enrich"

    async def process(self, batch: Batch, session: AsyncSession) -> None:
        for item in batch.live():
            lead = item.lead
            assert lead is not None
            if item.merge_into is not None or item.merge_into_item is not None:
                continue  # only fills another lead's gaps; that lead keeps its own score
            signals = LeadSignals.of(
                owner_name=lead.owner_name,
                owner_phone=lead.owner_phone,
                owner_email=lead.owner_email,
                geocode_precision=item.columns.get("geocode_precision", lead.geocode_precision),
                facts=(
                    lead.bedrooms,
                    lead.bathrooms,
                    lead.living_area_sqft,
                    lead.lot_sqft,
                    lead.year_built,
                ),
                asking_price_cents=lead.asking_price_cents,
                listed_at=lead.listed_at,
            )
            score = quality_score(signals, batch.now)
            price = price_factors(score_bucket(score), self.settings.pricing)
            item.columns.update(
                score=score,
                model_version=RULES_VERSION,
                price_cents=price.cents,
                price_currency=self.settings.pricing.currency,
                price_factors=price.as_dict(),
            )
