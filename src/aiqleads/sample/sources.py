"""The real sources bundled with the package (see sample_data/README.md) and the demo's settings.

`aiqleads demo` ingests `DEMO_SOURCES` in this order through the ingestion pipeline with the
stages of `demo_settings`: those of `aiqleads ingest` plus the `demo_owners` stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from aiqleads.config import IngestSettings, Settings

SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"
KING_COUNTY_SALES = SAMPLE_DATA / "kc_house_sales.csv.gz"

DEMO_METRO = "seattle"
DEMO_OWNERS_STAGE = "demo_owners"


@dataclass(frozen=True, slots=True)
class BundledSource:
    """Files under sample_data/ read by one parser (`slug`, as in `aiqleads ingest --source`)."""

    slug: str
    files: tuple[str, ...]

    @property
    def paths(self) -> list[Path]:
        return [SAMPLE_DATA / name for name in self.files]


DEMO_SOURCES = (
    BundledSource("king_county_sales", (KING_COUNTY_SALES.name,)),
    BundledSource(
        "craigslist",
        (
            "craigslist_seattle_apa_2014_jsonsearch.json",
            "craigslist_seattle_apa_2014_search.html",
        ),
    ),
    BundledSource("redfin", ("redfin_seattle_search.json.gz",)),
)


def demo_settings(settings: Settings) -> Settings:
    """`settings` with the `demo_owners` stage inserted just before `enrich`, or before `store`
    when enrich is switched off: after dedupe, so that a record which only merges into another
    lead is known as such and left alone, and before enrich, so that the quality score counts the
    fictional contact. Raises pydantic.ValidationError if the stage list is not a valid one (it
    is whenever `settings.ingest.stages` is)."""
    stages = [s for s in settings.ingest.stages if s != DEMO_OWNERS_STAGE]
    before = "enrich" if "enrich" in stages else "store"
    stages.insert(stages.index(before), DEMO_OWNERS_STAGE)
    ingest = IngestSettings.model_validate({**settings.ingest.model_dump(), "stages": stages})
    return settings.model_copy(update={"ingest": ingest})


def demo_publication(settings: Settings, now: datetime) -> datetime:
    """The instant the demo ingests its sample as of: just past the longest priority window
    before `now`, so agents of every tier see the sample at once (a real ingestion publishes
    leads when it runs, and each tier waits its window)."""
    longest = max(policy.priority_delay_minutes for policy in settings.tiers.values())
    return now - timedelta(minutes=longest + 1)
