from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models.enums import Tier
from tests.factories import PASSWORD, insert_leads, lead_row, make_account


async def test_agent_signs_in_searches_and_pages(
    browser: Browser,
    live_server: str,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
    tmp_path: Path,
) -> None:
    # Given 60 leads (published long ago: the live server runs on the real clock) and an agent
    old = clock.now() - timedelta(days=30)
    rows = [
        lead_row(
            settings,
            cipher,
            now=old,
            zip_code="98103" if i < 12 else "98101",
            owner_phone="+12065550142",
            published_at=old,
            updated_at=old,
        )
        for i in range(60)
    ]
    await insert_leads(sessions, rows)
    agent = await make_account(sessions, now=clock.now(), tier=Tier.PRO)
    page = await browser.new_page()
    try:
        # When the agent opens the page and signs in with a wrong password, an error shows
        await page.goto(live_server + "/")
        await page.fill("input[name=username]", agent.email)
        await page.fill("input[name=password]", "not the password")
        await page.click("#login button[type=submit]")
        await expect(page.locator("#login-error")).to_have_text("wrong e-mail or password")
        # And with the right one, the first page of leads appears
        await page.fill("input[name=password]", PASSWORD)
        await page.click("#login button[type=submit]")
        rows_locator = page.locator("#leads tbody tr")
        await expect(rows_locator).to_have_count(50)
        await expect(page.locator("#who")).to_contain_text("pro")
        # And "More" loads the rest
        await page.click("#more")
        await expect(rows_locator).to_have_count(60)
        await expect(page.locator("#more")).to_be_hidden()
        # When filtering by ZIP, only that ZIP's leads remain, priced with the pro discount
        await page.fill("#filters input[name=zip]", "98103")
        await page.click("#filters button[type=submit]")
        await expect(rows_locator).to_have_count(12)
        await expect(rows_locator.first).to_contain_text("$17")
        # The page never shows the owner's phone or the street address
        content = await page.content()
        assert "5550142" not in content
        assert "Test Ave" not in content
        await page.screenshot(path=str(tmp_path / "catalog.png"))
        # A bad filter shows the API's reason instead of failing silently
        await page.fill("#filters input[name=price_min]", "9000")
        await page.fill("#filters input[name=price_max]", "1000")
        await page.click("#filters button[type=submit]")
        await expect(page.locator("#catalog-error")).to_contain_text("price_min")
    finally:
        await page.close()
