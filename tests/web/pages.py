"""What the browser tests do again and again: sign in, wait for the map, check accessibility."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.factories import PASSWORD

LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


async def signed_in(
    browser: Browser, base: str, email: str, *, viewport: dict[str, int] = LAPTOP
) -> tuple[BrowserContext, Page]:
    """A new browser context signed in as `email`, on the map page with its first render."""
    context = await browser.new_context(viewport=viewport, accept_downloads=True)  # type: ignore[arg-type]
    page = await context.new_page()
    await page.goto(base + "/")
    await page.fill("#signin-email", email)
    await page.fill("#signin-password", PASSWORD)
    await page.click("#signin button[type=submit]")
    await map_rendered(page, "heatmap")
    return context, page


async def signed_in_at(
    browser: Browser, base: str, email: str, where: str, *, viewport: dict[str, int] = LAPTOP
) -> tuple[BrowserContext, Page]:
    """A new browser context signed in as `email` straight onto the page at `where` (a hash
    such as "#/admin/runs"): the map is never opened."""
    context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = await context.new_page()
    await page.goto(f"{base}/{where}")
    await page.fill("#signin-email", email)
    await page.fill("#signin-password", PASSWORD)
    await page.click("#signin button[type=submit]")
    await expect(page.locator("#main > section.view:not([hidden])")).not_to_have_id("view-signin")
    return context, page


async def map_rendered(page: Page, layer: str, times: int = 1) -> None:
    """Wait until the map has drawn `layer` at least `times` times."""
    await page.wait_for_function(
        "([layer, n]) => window.aiqMap && (window.aiqMap.rendered[layer] || 0) >= n",
        arg=[layer, times],
    )


async def list_settled(page: Page) -> None:
    """Wait until the list says how many leads match."""
    await expect(page.locator("#result-count")).to_contain_text("lead")


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    results = await Axe().run(page)
    return [
        {"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
