from __future__ import annotations

from aiqleads.ingestion.batch import Batch, Item
from aiqleads.ingestion.normalize.lead import NormalizedLead
from aiqleads.ingestion.payloads import record_payload
from aiqleads.ingestion.stages.base import PureStage

_SALE_KINDS = ("fsbo", "for_sale", "expired")
# Widths of the identity columns: a longer key would abort the batch's transaction.
_MAX_SOURCE, _MAX_REF = 32, 128


class ValidateStage(PureStage):
    """Business rules normalize does not know: believable prices by kind, storable identities."""

    name = "validate"

    def _reasons(self, lead: NormalizedLead) -> list[str]:
        rules = self.settings.ingest
        reasons = []
        if len(lead.source) > _MAX_SOURCE:
            reasons.append(f"source_too_long: {len(lead.source)} characters")
        if len(lead.source_ref) > _MAX_REF:
            reasons.append(f"source_ref_too_long: {len(lead.source_ref)} characters")
        price = lead.asking_price_cents
        if price is not None:
            if lead.kind in _SALE_KINDS:
                low, high = rules.min_sale_price_cents, rules.max_sale_price_cents
            elif lead.kind == "for_rent":
                low, high = rules.min_rent_cents, rules.max_rent_cents
            else:  # kind unknown: only what no listing of any kind could cost
                low, high = rules.min_rent_cents, rules.max_sale_price_cents
            if not low <= price <= high:
                reasons.append(f"price_implausible: {price / 100:.2f} for a {lead.kind} lead")
        return reasons

    def apply(self, batch: Batch, items: list[Item]) -> None:
        for item in items:
            assert item.lead is not None  # normalize runs first (checked by the settings)
            reasons = self._reasons(item.lead)
            if reasons:
                batch.drop(item, self.name, [*reasons, *item.lead.notes], record_payload(item.raw))
