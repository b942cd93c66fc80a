"""The page's own routes: the page, its configuration, the offline basemap's outlines."""

from __future__ import annotations

import gzip
import json

import httpx

from aiqleads.metros import METROS
from aiqleads.web.routes import map_assets_present


async def test_the_page_and_its_configuration(client: httpx.AsyncClient) -> None:
    # When the page is asked for, it is the app's HTML with its module script, nothing inline
    page = await client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/js/main.js"></script>' in page.text
    assert "<script>" not in page.text and "style=" not in page.text
    # And its configuration says what the page needs, without signing in
    config = (await client.get("/api/v1/web/config")).json()
    assert config["map_assets"] is map_assets_present()
    assert config["tile_style_url"] is None and config["gateway"] == "sandbox"
    assert [t["token"] for t in config["sandbox_tokens"]][:2] == ["tok_success", "tok_decline"]
    assert {m["slug"] for m in config["metros"]} == set(METROS)
    seattle = next(m for m in config["metros"] if m["slug"] == "seattle")
    assert seattle["centre"] == [-122.3321, 47.6062] and seattle["zip_outlines"] is True
    dallas = next(m for m in config["metros"] if m["slug"] == "dallas")
    assert dallas["zip_outlines"] is False


async def test_the_offline_basemap_outlines(client: httpx.AsyncClient) -> None:
    # When a browser asks for Seattle's outlines, they come gzipped, cacheable for a day
    res = await client.get(
        "/api/v1/geo/outlines",
        params={"metro": "seattle"},
        headers={"Accept-Encoding": "gzip"},
    )
    assert res.status_code == 200
    assert res.headers["content-encoding"] == "gzip"
    assert res.headers["cache-control"] == "public, max-age=86400"
    body = res.json()  # httpx decodes the gzip
    kinds = [f["properties"]["kind"] for f in body["features"]]
    assert kinds.count("zip") == 274 and kinds.count("metro") == 1
    zips = {f["properties"]["zip"] for f in body["features"] if f["properties"]["kind"] == "zip"}
    assert {"98101", "98103", "98004"} <= zips
    # And without gzip they are the same GeoJSON
    plain = await client.get(
        "/api/v1/geo/outlines", params={"metro": "seattle"}, headers={"Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in plain.headers
    assert json.loads(plain.content) == body
    assert len(gzip.compress(plain.content)) < 300_000
    # Dallas, which has no ZIP file, gets its counties' boxes; an unknown metro a clear 422
    dallas = (await client.get("/api/v1/geo/outlines", params={"metro": "dallas"})).json()
    assert {f["properties"]["name"] for f in dallas["features"]} == {
        "Dallas",
        "Collin",
        "Denton",
        "Tarrant",
    }
    bad = await client.get("/api/v1/geo/outlines", params={"metro": "gotham"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "metro"
