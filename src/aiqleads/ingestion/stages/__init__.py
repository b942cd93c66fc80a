"""The record stages of the pipeline, one small class each, built from settings.

`STAGES` maps the names used in `Settings.ingest.stages` to their classes; the pipeline builds
them in the order the settings give. "parse" is not here: it turns documents into the records
these stages work on, so the pipeline runs it itself. "demo_owners" is here but in no default
list: only `aiqleads demo` switches it on.
"""

from __future__ import annotations

from aiqleads.ingestion.stages.base import Stage
from aiqleads.ingestion.stages.dedupe import DedupeStage
from aiqleads.ingestion.stages.demo_owners import DemoOwnersStage
from aiqleads.ingestion.stages.enrich import EnrichStage
from aiqleads.ingestion.stages.geocode import GeocodeStage
from aiqleads.ingestion.stages.normalize import NormalizeStage
from aiqleads.ingestion.stages.screen import ScreenStage
from aiqleads.ingestion.stages.store import StoreStage
from aiqleads.ingestion.stages.validate import ValidateStage

STAGES: dict[str, type[Stage]] = {
    s.name: s
    for s in (
        NormalizeStage,
        ValidateStage,
        DedupeStage,
        GeocodeStage,
        ScreenStage,
        DemoOwnersStage,
        EnrichStage,
        StoreStage,
    )
}

__all__ = ["STAGES", "Stage"]
