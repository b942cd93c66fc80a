from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.config import Settings
from aiqleads.ingestion.batch import Batch
from aiqleads.ingestion.stages.base import Stage
from aiqleads.kit.crypto import FieldCipher
from aiqleads.leads.pricing import (
    RULES_VERSION,
    LeadSignals,
    PriceFactors,
    price_factors,
    quality_score,
)
from aiqleads.leads.scores import score_bucket


class EnrichStage(Stage):
    """Quality score (rules-1) and the lead's price. H3 cells come from normalize and the metro
    from the store's upsert, which derives it from the point."""

    name = "enrich"

    def __init__(self, settings: Settings, cipher: FieldCipher) -> None:
        super().__init__(settings, cipher)
        # A new lead's price has no demand or market signals yet, so it is a function of its
        # score bucket alone (and of the settings' policy): a handful of values, each worked
        # out once. Working it out per record was half of this stage's CPU.
        self._prices: dict[str | None, PriceFactors] = {}

    def _price(self, bucket: str | None) -> PriceFactors:
        price = self._prices.get(bucket)
        if price is None:
            price = self._prices[bucket] = price_factors(bucket, self.settings.pricing)
        return price

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
            price = self._price(score_bucket(score))
            item.columns.update(
                score=score,
                model_version=RULES_VERSION,
                price_cents=price.cents,
                price_currency=self.settings.pricing.currency,
                price_factors=price.as_dict(),
            )
