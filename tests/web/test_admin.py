"""The operator's ingestion pages in a real browser against a real `aiqleads serve`: the
ingestion runs with a run's quarantine reasons leading to its quarantined records, and the
sources with a drifted field marked. Accessibility is checked with axe-core on each page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import IngestSettings, Settings
from aiqleads.db.engine import transaction
from aiqleads.ingestion.pipeline import Pipeline
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models.enums import Role, Tier
from aiqleads.sources import service
from tests.conftest import Backend
from tests.factories import make_account
from tests.live import serve
from tests.sources.kc import NO_COORDINATES, kc_document
from tests.web.conftest import screenshot_path
from tests.web.pages import serious_violations, signed_in_at

SOURCE = "king_county_sales"


@pytest.fixture
def quiet_server(backend: Backend, engine: object, tmp_path: Path) -> Iterator[str]:
    """`aiqleads serve` running no background task: the periodic profile (on the real clock)
    would replace the profiles the test stores on its own."""
    with serve(backend, tmp_path, AIQ_WORKER__START_IN_APP="false") as base:
        yield base


async def test_the_admin_sees_runs_their_quarantine_and_a_drifted_source(
    browser: Browser,
    quiet_server: str,
    backend: Backend,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    if backend.name != "sqlite":
        pytest.skip("the browser runs on SQLite only (suite time): the API tests cover both")
    # Given a source profiled, then drifted a week later (its sales came without coordinates)
    pipeline = Pipeline.from_settings(settings, cipher, clock=clock)
    await pipeline.run(sessions, [kc_document(0, 60)], metro="seattle", now=clock.now())
    async with transaction(sessions) as session:
        await service.refresh(session, now=clock.now(), settings=settings.sources)
    clock.advance(timedelta(days=8))
    blank = kc_document(60, 120, blank=NO_COORDINATES)
    await pipeline.run(sessions, [blank], metro="seattle", now=clock.now())
    async with transaction(sessions) as session:
        await service.refresh(session, now=clock.now(), settings=settings.sources)
    # And a last run whose price rule quarantined some sales
    strict = settings.model_copy(update={"ingest": IngestSettings(max_sale_price_cents=300_000_00)})
    clock.advance(timedelta(minutes=5))
    summary = await Pipeline.from_settings(strict, cipher, clock=clock).run(
        sessions, [kc_document(120, 150)], metro="seattle", now=clock.now()
    )
    held = summary.quarantined_by_reason["price_implausible"]
    assert held > 0
    admin = await make_account(sessions, now=clock.now(), role=Role.ADMIN, tier=Tier.ENTERPRISE)

    # When the admin opens the ingestion runs
    context, page = await signed_in_at(browser, quiet_server, admin.email, "#/admin/runs")
    runs = page.locator("#admin-body table.runs tbody tr")
    # Then the three runs are listed newest first, with their counts
    await expect(runs).to_have_count(3)
    await expect(runs.first).to_contain_text(SOURCE)
    await expect(runs.first).to_contain_text("Succeeded")
    await expect(runs.first.locator("td.num").nth(1)).to_have_text("30")  # read
    assert await serious_violations(page) == []
    await page.screenshot(path=screenshot_path("admin-runs.png"))

    # When the admin opens the last run's details from the keyboard
    await runs.first.get_by_role("button", name=re.compile("^Details of run")).focus()
    await page.keyboard.press("Enter")
    # Then the details take the focus and list its quarantine reasons
    await expect(page.locator("#run-detail-title")).to_be_focused()
    detail = page.locator("#admin-body .run-detail")
    await expect(detail.get_by_role("row", name=re.compile("price_implausible"))).to_contain_text(
        str(held)
    )
    assert await serious_violations(page) == []
    await page.screenshot(path=screenshot_path("admin-run-detail.png"), full_page=True)

    # When the admin follows the reason, the quarantine shows that source's records for it
    await detail.get_by_role("link", name="price_implausible").click()
    await expect(page).to_have_url(re.compile(r"#/admin/quarantine\?source=king_county_sales"))
    await expect(page.locator("#admin-body tbody tr")).to_have_count(held)
    await expect(page.locator("#admin-body .banner")).to_contain_text(f"source {SOURCE}")

    # When the admin opens the sources
    await page.click(".subnav a[data-admin=sources]")
    report = page.locator(f"#admin-body [data-source={SOURCE}]")
    # Then the source is marked drifted, and so is the field that drifted, alone
    await expect(report.locator("h4")).to_contain_text("Drifted")
    await expect(report.locator("tr.drifted")).to_have_count(1)
    zip_only = report.locator("tr[data-field=zip_only]")
    await expect(zip_only).to_have_class(re.compile("drifted"))
    await expect(zip_only).to_contain_text("0.0 %")
    await expect(zip_only.locator("td").last).to_have_text("Drifted")
    assert await serious_violations(page) == []
    await page.screenshot(path=screenshot_path("admin-sources.png"), full_page=True)
    await context.close()
