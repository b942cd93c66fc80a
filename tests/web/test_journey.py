"""The agent's whole journey in a real browser (headless Debian Chromium) against a real
`aiqleads serve`: sign in, filter the map, toggle each layer and see its legend, hold two leads,
see the countdown, check out (a declined card first), see the contact, export the CSV, return a
lead; the admin approves the return. Accessibility is checked with axe-core on each page, and
screenshots of the main pages are saved under tests/web/screenshots/."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models.enums import Role, Tier
from tests.conftest import Backend
from tests.factories import make_account
from tests.web.conftest import screenshot_path
from tests.web.market import build_market
from tests.web.pages import PHONE, list_settled, map_rendered, serious_violations, signed_in

LAYER_LEGENDS = {
    "clusters": "clusters of at least",
    "penetration": "Share of offered leads sold",
    "competitors": "Competing listings per km²",
}


async def _no_serious_violations(page: Page, where: str) -> None:
    found = await serious_violations(page)
    assert found == [], f"{where}: {found}"


async def test_agent_journey_from_map_to_return_and_the_admin_approves(
    browser: Browser,
    web_server: str,
    backend: Backend,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    if backend.name != "sqlite":
        # The journey exercises the page, not the database: the API under it is tested on both
        # databases by the API tests, and the live-update tests run the browser on both.
        pytest.skip("the browser journey runs on SQLite only (suite time)")
    # Given a Seattle market and a pro agent
    market = await build_market(sessions, settings, cipher, now=clock.now())
    agent = await make_account(sessions, now=clock.now(), tier=Tier.PRO)
    admin = await make_account(sessions, now=clock.now(), role=Role.ADMIN, tier=Tier.ENTERPRISE)

    # When the agent signs in with a wrong password, the form says so
    context = await browser.new_context(
        viewport={"width": 1366, "height": 900}, accept_downloads=True
    )
    page = await context.new_page()
    await page.goto(web_server + "/")
    await _no_serious_violations(page, "sign-in")
    await page.click("#signin button[type=submit]")
    await expect(page.locator("#signin-error")).to_have_text("Enter your e-mail and password.")
    await page.fill("#signin-email", agent.email)
    await page.fill("#signin-password", "not the password")
    await page.click("#signin button[type=submit]")
    await expect(page.locator("#signin-error")).to_have_text("Wrong e-mail or password.")
    await context.close()

    # And with the right one, the map draws the heatmap and the list counts the leads in view
    context, page = await signed_in(browser, web_server, agent.email)
    await list_settled(page)
    await expect(page.locator("#who")).to_contain_text("pro tier")
    await expect(page.locator("#legends [data-layer=heatmap]")).to_contain_text("leads in view")
    await expect(page.locator("#leads tbody tr").first).to_contain_text(
        re.compile(r"Near \w+, WA 98\d{3}")
    )
    # Prices are dollars and cents; no H3 cell id is shown anywhere
    await expect(page.locator("#leads tbody tr").first).to_contain_text(re.compile(r"\$\d+\.\d\d"))
    assert not re.search(r"\b88[0-9a-f]{13}\b", await page.content())

    # When the agent filters by ZIP, the list, its count and the layers follow
    in_zip = market.available_in("98103")
    await page.fill("#f-zip", "98103")
    await page.click("#filters button[type=submit]")
    await map_rendered(page, "heatmap", 2)
    await expect(page.locator("#result-count")).to_contain_text(f"of {len(in_zip)} leads")
    rows = page.locator("#leads tbody tr")
    await expect(rows).to_have_count(len(in_zip))
    for text in await rows.all_inner_texts():
        assert "98103" in text
    await _no_serious_violations(page, "map")
    # A contradictory filter is named next to its field
    await page.fill("#f-price-min", "900000")
    await page.fill("#f-price-max", "100000")
    await page.click("#filters button[type=submit]")
    await expect(page.locator("#f-price-min-error")).to_contain_text("must not exceed price_max")
    await expect(page.locator("#f-price-min")).to_have_attribute("aria-invalid", "true")
    await page.fill("#f-price-min", "")
    await page.fill("#f-price-max", "")
    await page.click("#filters button[type=submit]")
    await map_rendered(page, "heatmap", 4)

    # When each layer is switched on, it is drawn and its legend appears
    for layer, words in LAYER_LEGENDS.items():
        await page.check(f"#layers input[value={layer}]")
        await map_rendered(page, layer)
        await expect(page.locator(f"#legends [data-layer={layer}]")).to_contain_text(words)
    await expect(page.locator("#legends [data-layer=leads]")).to_contain_text("approximate area")
    await page.screenshot(path=screenshot_path("map-layers.png"))
    for layer in LAYER_LEGENDS:
        await page.uncheck(f"#layers input[value={layer}]")
        await expect(page.locator(f"#legends [data-layer={layer}]")).to_have_count(0)

    # When the agent opens a lead, the preview says its location is approximate
    await rows.first.get_by_role("button").click()
    await expect(page.locator("#detail")).to_contain_text("Approximate location")
    assert "555-0142" not in await page.locator("#detail").inner_text()
    await page.click("#detail-close")

    # When the agent holds two leads, the cart counts them and shows each countdown
    await rows.nth(0).locator("input[type=checkbox]").check()
    await rows.nth(1).locator("input[type=checkbox]").check()
    await expect(page.locator("#hold-selected")).to_have_text("Hold 2 selected leads")
    await page.click("#hold-selected")
    await expect(page.locator("#cart-count")).to_have_text("2")
    await page.click("#nav a[data-view=cart]")
    cart_rows = page.locator("#cart tbody tr")
    await expect(cart_rows).to_have_count(2)
    countdown = cart_rows.first.locator("td.countdown")
    await expect(countdown).to_have_text(re.compile(r"^1 h \d\d min left$"))  # pro: 2 hours
    await expect(page.locator("#cart-summary")).to_contain_text("2 of at most 50 leads held")
    await _no_serious_violations(page, "cart")
    await page.screenshot(path=screenshot_path("cart.png"))

    # When a declined card is used, the cart says so and keeps the holds
    await page.select_option("#payment-token", "tok_decline")
    await page.click("#pay")
    await expect(page.locator("#checkout-result")).to_contain_text("The card was declined")
    await expect(cart_rows).to_have_count(2)
    # And with a good one the leads are paid for
    await page.select_option("#payment-token", "tok_success")
    await page.click("#pay")
    await expect(page.locator("#checkout-result")).to_contain_text("2 leads are yours")
    await expect(page.locator("#cart-empty")).to_be_visible()

    # Then the purchases page shows the owners' contacts
    await page.click("#nav a[data-view=purchases]")
    cards = page.locator("#purchases article")
    await expect(cards).to_have_count(2)
    await expect(cards.first).to_contain_text("(206) 555-0142")
    await expect(cards.first).to_contain_text(re.compile(r"\d+ Test Ave"))
    await _no_serious_violations(page, "purchases")
    await page.screenshot(path=screenshot_path("purchases.png"))

    # When the agent exports the CSV, the file has a row per purchase in the CRM's columns
    async with page.expect_download() as got:
        await page.click("#export-csv")
    download = await got.value
    assert re.fullmatch(r"aiqleads-purchases-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    saved = Path(await download.path())
    text = await asyncio.to_thread(saved.read_text, encoding="utf-8-sig")
    table = list(csv.DictReader(io.StringIO(text)))
    assert len(table) == 2
    assert table[0]["Phone"] == "(206) 555-0142"

    # When the agent returns a lead without a reason, the form says what is missing
    first = cards.first
    await first.get_by_role("button", name=re.compile("Return the lead")).click()
    await first.get_by_role("button", name="Send the return").click()
    await expect(first.locator(".return-form .error")).to_have_text(
        "Choose why you are returning the lead."
    )
    await first.get_by_label("Why are you returning it?").select_option("wrong_number")
    await first.get_by_label("Note (optional)").fill("The number rings a pizzeria.")
    await first.get_by_role("button", name="Send the return").click()
    await expect(page.locator("#purchases article").first).to_contain_text("Return requested")

    # When the admin approves it, the refund goes through
    admin_context, admin_page = await signed_in(browser, web_server, admin.email)
    await admin_page.click("#nav a[data-view=admin]")
    returns = admin_page.locator("#admin-body tbody tr")
    await expect(returns).to_have_count(1)
    await expect(returns.first).to_contain_text("Wrong number")
    await _no_serious_violations(admin_page, "admin returns")
    await admin_page.screenshot(path=screenshot_path("admin-returns.png"))
    await returns.first.get_by_role("button", name="Approve and refund").click()
    await expect(admin_page.locator("#admin-body")).to_contain_text("No return is waiting")
    for sub in ("accounts", "tiers", "quarantine"):
        await admin_page.click(f".subnav a[data-admin={sub}]")
        await expect(admin_page.locator("#admin-body h3")).to_be_visible()
        await _no_serious_violations(admin_page, f"admin {sub}")
    await admin_context.close()

    # Then the agent sees the lead returned and refunded, and the other still bought
    await page.reload()
    await page.click("#nav a[data-view=purchases]")
    await expect(page.locator("#purchases")).to_contain_text("Returned and refunded.")

    # And the map page works on a phone-sized screen
    await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await page.click("#nav a[data-view=map]")
    await page.reload()
    await map_rendered(page, "heatmap")
    await list_settled(page)
    await _no_serious_violations(page, "map on a phone")
    await page.screenshot(path=screenshot_path("map-phone.png"))
    await context.close()
