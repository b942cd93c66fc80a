"""The map's layer switch in a real browser: once the shown layers are drawn, the hidden ones
are fetched and handed to MapLibre, so switching one on asks the API for nothing, loads no tile
again and still draws it with its legend; a switch made before that fetches the layer itself."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Request, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models.enums import Tier
from tests.conftest import Backend
from tests.factories import make_account
from tests.web.market import build_market
from tests.web.pages import map_rendered, signed_in

STAGED = "(name) => window.aiqMap.staged[name] === window.aiqMap.seq"
PREFETCHED_SOURCES = ["competitors", "clusters", "cluster-centres"]
SOURCES_LOADED = (
    "(ids) => window.aiqMap.map.loaded() && ids.every((id) => window.aiqMap.map.isSourceLoaded(id))"
)
# Count, per source, the tiles MapLibre loads from now on (a source's "data" event with a tile).
COUNT_TILES = """(ids) => {
  window.tilesLoaded = {};
  window.aiqMap.map.on("sourcedata", (e) => {
    if (e.tile && ids.includes(e.sourceId)) {
      window.tilesLoaded[e.sourceId] = (window.tilesLoaded[e.sourceId] || 0) + 1;
    }
  });
}"""


async def test_a_prefetched_layer_switches_on_without_asking_the_api(
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
    # Given a Seattle market and an agent on the map, its hidden layers prefetched
    await build_market(sessions, settings, cipher, now=clock.now())
    agent = await make_account(sessions, now=clock.now(), tier=Tier.PRO)
    context, page = await signed_in(browser, live_server, agent.email)
    for layer in ("competitors", "clusters"):
        await page.wait_for_function(STAGED, arg=layer)
    # (their tiles built in the background, hidden; from here on count the tiles each loads)
    await page.wait_for_function(SOURCES_LOADED, arg=PREFETCHED_SOURCES)
    await page.evaluate(COUNT_TILES, PREFETCHED_SOURCES)
    asked: list[str] = []

    def note(request: Request) -> None:
        if "/api/v1/geo/" in request.url:
            asked.append(request.url)

    page.on("request", note)
    # When the agent switches competitors and clusters on
    for layer, words in (("competitors", "Competing listings"), ("clusters", "clusters of")):
        await page.check(f"#layers input[value={layer}]")
        # Then each is drawn with its legend, and the API was asked for nothing
        await map_rendered(page, layer)
        await expect(page.locator(f"#legends [data-layer={layer}]")).to_contain_text(words)
    assert asked == []
    # and drawn from the tiles already built: MapLibre loaded none again
    await page.wait_for_function(SOURCES_LOADED, arg=PREFETCHED_SOURCES)
    assert await page.evaluate("() => window.tilesLoaded") == {}

    # When the filters change, the hidden penetration is prefetched again
    await page.fill("#f-zip", "98103")
    await page.click("#filters button[type=submit]")
    await map_rendered(page, "heatmap", 2)
    await page.wait_for_function(STAGED, arg="penetration")
    # Then it was fetched for the new filters, and switches on with them
    assert any("/geo/penetration" in url and "zip=98103" in url for url in asked)
    await page.check("#layers input[value=penetration]")
    await map_rendered(page, "penetration")
    await expect(page.locator("#legends [data-layer=penetration]")).to_contain_text("Share of")
    await context.close()
