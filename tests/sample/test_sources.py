from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

from aiqleads.config import IngestSettings, Settings
from aiqleads.sample.sources import DEMO_SOURCES, SAMPLE_DATA, demo_settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_bundled_file_is_present_documented_and_shipped() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shipped = project["tool"]["setuptools"]["package-data"]["aiqleads"]
    readme = (SAMPLE_DATA / "README.md").read_text()
    files = [path for source in DEMO_SOURCES for path in source.paths]
    assert {s.slug for s in DEMO_SOURCES} == {"king_county_sales", "craigslist", "redfin"}
    for path in files:
        assert path.is_file(), path
        assert f"`{path.name}`" in readme  # origin and licence noted beside it
        relative = path.relative_to(SAMPLE_DATA.parent).as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in shipped), relative
    for licence in ("LICENSE-craigslist-basic-scraper.txt", "LICENSE-scrapfly-scrapers.txt"):
        assert (SAMPLE_DATA / licence).is_file() and f"`{licence}`" in readme


def test_the_demo_stages_are_the_ingest_stages_plus_demo_owners_before_enrich() -> None:
    settings = Settings()
    assert "demo_owners" not in settings.ingest.stages
    tuned = demo_settings(settings)
    assert tuned.ingest.stages == [
        "parse",
        "normalize",
        "validate",
        "dedupe",
        "geocode",
        "screen",
        "demo_owners",
        "enrich",
        "store",
    ]
    assert tuned.ingest.batch_size == settings.ingest.batch_size
    assert demo_settings(tuned).ingest.stages == tuned.ingest.stages  # inserted once


def test_with_enrich_switched_off_demo_owners_comes_before_store() -> None:
    settings = Settings(ingest=IngestSettings(stages=["parse", "normalize", "store"]))
    assert demo_settings(settings).ingest.stages == ["parse", "normalize", "demo_owners", "store"]
