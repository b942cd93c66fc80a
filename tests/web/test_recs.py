"""The recommendations panel of the map page in a real browser: a new agent's list (rank, reason,
the recommender's version) with the cold start explained; preferences edited, the API's refusals
said in words next to each field; an empty list explained; a recommendation shown on the map at
its preview cell (the cell's centre, never the lead's point); two held into the cart.
Accessibility is checked with axe-core with the panel and its form open."""

from __future__ import annotations

import re

import h3
import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models.enums import Tier
from tests.conftest import Backend
from tests.factories import make_account
from tests.web.conftest import screenshot_path
from tests.web.market import build_market
from tests.web.pages import PHONE, serious_violations, signed_in

ITEMS = "#recs-list li"


async def _no_serious_violations(page: Page, where: str) -> None:
    found = await serious_violations(page)
    assert found == [], f"{where}: {found}"


async def _save(page: Page, **fields: str) -> None:
    """Open the preferences (if closed), set `fields` (input id → text; "" clears) and save."""
    if await page.locator("#prefs").is_hidden():
        await page.click("#recs-edit")
    for input_id, text in fields.items():
        await page.fill(f"#{input_id}", text)
    await page.click("#prefs button[type=submit]")


async def test_an_agent_reads_edits_shows_and_holds_its_recommendations(
    browser: Browser,
    live_server: str,
    backend: Backend,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    if backend.name != "sqlite":
        pytest.skip("the browser runs on SQLite only (suite time): the API tests cover both")
    # Given a Seattle market and a new pro agent, who has viewed, held and bought nothing
    market = await build_market(sessions, settings, cipher, now=clock.now())
    exact = {str(r["public_id"]): (r["latitude"], r["longitude"]) for r in market.rows}
    agent = await make_account(sessions, now=clock.now(), tier=Tier.PRO)

    # When the agent opens the map page
    context, page = await signed_in(browser, live_server, agent.email)

    # (the panel reads them once the map has drawn its first layers)
    await page.wait_for_selector(ITEMS)
    # Then the panel lists ten recommendations, best first, each with its reason in words,
    # names the recommender's version and explains the cold start
    items = page.locator(ITEMS)
    await expect(items).to_have_count(10)
    await expect(items.first).to_have_attribute("data-rank", "1")
    await expect(items.first).to_contain_text(re.compile(r"^1\. Near \w+, WA 98\d{3}"))
    for i in range(10):
        await expect(items.nth(i)).to_contain_text(re.compile(r"Why: \w+"))
    await expect(page.locator("#recs-version")).to_have_text(re.compile(r"^Ranked by cold-start"))
    await expect(page.locator("#recs-state")).to_contain_text("You are new here")
    await expect(page.locator("#recs-state")).to_contain_text("set your preferences")
    await _no_serious_violations(page, "recommendations")

    # When the agent states an inverted price range, the form says what is wrong by the field
    await _save(page, **{"p-price-min": "900000", "p-price-max": "500000"})
    await expect(page.locator("#p-price-min-error")).to_have_text("Min price: exceeds Max price")
    await expect(page.locator("#p-price-min")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#prefs-error")).to_have_text("Check the highlighted preferences.")
    await _no_serious_violations(page, "preferences with an error")
    # and so for a radius without a centre, and a ZIP that is not one
    await _save(page, **{"p-price-min": "", "p-price-max": "", "p-radius": "2000"})
    await expect(page.locator("#p-radius-error")).to_have_text(
        "Radius: a centre needs a radius and a radius a centre"
    )
    await expect(page.locator("#p-price-min-error")).to_have_count(0)
    await _save(page, **{"p-radius": "", "p-zips": "981"})
    await expect(page.locator("#p-zips-error")).to_have_text("ZIPs: '981' is not a 5-digit ZIP")

    # When the agent's preferences match no available lead (a ZIP without any)
    await _save(page, **{"p-zips": "98199"})
    # Then the panel says so and what to do
    await expect(page.locator("#prefs")).to_be_hidden()
    await expect(items).to_have_count(0)
    await expect(page.locator("#recs-state")).to_contain_text(
        "No available lead matches your preferences right now"
    )

    # When the agent states a ZIP with leads and a kind
    await page.click("#recs-edit")
    await expect(page.locator("#p-zips")).to_have_value("98199")
    await page.fill("#p-zips", "98103")
    await page.check("#prefs input[name=kinds][value=for_sale]")
    await page.click("#prefs button[type=submit]")
    # Then the form closes and every recommendation is in that ZIP (the territory bounds the
    # list; a kind only ranks), homes for sale first
    await expect(page.locator("#prefs")).to_be_hidden()
    await expect(page.locator("#recs-state")).to_contain_text("ranked by your preferences")
    await expect(items.first).to_contain_text("WA 98103")
    await expect(items.first).to_contain_text("For sale ·")
    count = await items.count()
    assert count >= 2
    for i in range(count):
        await expect(items.nth(i)).to_contain_text("WA 98103")

    # When the agent shows the first on the map
    first = items.first
    lead_id = await first.get_attribute("data-lead")
    assert lead_id is not None
    await first.get_by_role("button", name=re.compile("on the map")).click()
    # Then the map marks its preview cell's centre, not the lead's point, and its details open
    marked = await page.evaluate("() => window.aiqMap.focus.features[0].geometry.coordinates")
    lat, lon = exact[lead_id]
    cell_lat, cell_lon = h3.cell_to_latlng(h3.latlng_to_cell(lat, lon, 8))
    assert marked == pytest.approx([cell_lon, cell_lat], abs=1e-6)
    assert marked != pytest.approx([lon, lat], abs=1e-6)
    await expect(page.locator("#detail-title")).to_have_text("Near Seattle, WA 98103")
    await expect(page.locator("#detail-body")).to_contain_text("Approximate location")

    # When the agent selects the first two and holds them
    for i in (0, 1):
        await items.nth(i).locator("input[type=checkbox]").check()
    await expect(page.locator("#recs-hold")).to_have_text("Hold 2 selected recommendations")
    await page.click("#recs-hold")
    # Then both are in the cart, and the panel says so
    await expect(page.locator("#cart-count")).to_have_text("2")
    for i in (0, 1):
        await expect(items.nth(i)).to_contain_text("in your cart")
        await expect(items.nth(i).locator("input[type=checkbox]")).to_be_disabled()
    await page.screenshot(path=screenshot_path("recommendations.png"), full_page=True)
    await context.close()


async def test_the_preferences_form_works_on_a_phone(
    browser: Browser,
    live_server: str,
    backend: Backend,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    if backend.name != "sqlite":
        pytest.skip("the browser runs on SQLite only (suite time): the API tests cover both")
    # Given a market and an agent on a phone-sized screen
    await build_market(sessions, settings, cipher, now=clock.now())
    agent = await make_account(sessions, now=clock.now(), tier=Tier.PRO)
    context, page = await signed_in(browser, live_server, agent.email, viewport=PHONE)
    await page.wait_for_selector(ITEMS)
    # When the agent opens the preferences and centres them on the map with a radius
    await page.click("#recs-edit")
    await expect(page.locator("#recs-edit")).to_have_attribute("aria-expanded", "true")
    await expect(page.locator("#p-zips")).to_be_focused()
    await page.click("#prefs-centre")
    await expect(page.locator("#p-lat")).to_have_value(re.compile(r"^47\.\d+$"))
    await page.fill("#p-radius", "3000")
    await page.click("#prefs button[type=submit]")
    # Then they are saved, and the form reads them back when opened again
    await expect(page.locator("#prefs")).to_be_hidden()
    await page.click("#recs-edit")
    await expect(page.locator("#p-radius")).to_have_value("3000")
    await _no_serious_violations(page, "preferences on a phone")
    await context.close()
