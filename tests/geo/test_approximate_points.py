"""Leads known only to their ZIP are never clustered as if exact (issue 8, item 5; field case
C16 and two further shapes): DBSCAN and the square grid leave them out and say how many; the
H3 heatmap keeps them in their centroid's cell and says how many of its leads are approximate."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.ingestion.documents import Document
from aiqleads.ingestion.pipeline import Pipeline
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from tests.geo.api_helpers import admin, agent, geo
from tests.shared_data import FIXTURES

C16 = FIXTURES / "field_cases" / "C16_reso_mlsgrid_no_latlong_same_zip.json"


def _exact_cluster(n: int, lat: float, lon: float) -> list[dict[str, Any]]:
    """n listings with their own points, 40 m apart along a street."""
    return [
        {
            "ListingKey": f"EXACT{i}",
            "StandardStatus": "Active",
            "PropertyType": "Residential",
            "ListPrice": 300_000 + 1000 * i,
            "StreetNumber": str(100 + 2 * i),
            "StreetName": "Fictional Test",
            "StreetSuffix": "Ave",
            "City": "Las Vegas",
            "StateOrProvince": "NV",
            "PostalCode": "89102",
            "Latitude": lat + 0.00036 * i,
            "Longitude": lon,
        }
        for i in range(n)
    ]


async def _ingest(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
    records: list[dict[str, Any]],
) -> None:
    pipeline = Pipeline.from_settings(settings, cipher)
    document = Document("x.json", "reso", json.dumps({"value": records}).encode())
    await pipeline.run(sessions, [document], metro="las_vegas", now=clock.now())


async def test_c16_zip_only_listings_are_left_out_of_clusters_and_counted(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given the 8 C16 listings known only to ZIP 89110 and 6 listings with their own points
    zip_only = json.loads(C16.read_text())["value"]
    await _ingest(sessions, settings, cipher, clock, [*zip_only, *_exact_cluster(6, 36.15, -115.2)])
    headers = await admin(client, sessions, clock)
    _, agent_headers = await agent(client, sessions, clock)
    for who in (headers, agent_headers):
        # When clustered
        body = await geo(client, "clusters", who, metro="las_vegas", eps_m=250, min_samples=5)
        # Then the 8 approximate points form no cluster and are counted as left out
        assert body["n_approximate_excluded"] == 8
        assert body["n_points"] == 6
        assert body["n_clusters"] == 1
        # And the heatmap keeps them but says how many of its leads are approximate
        heat = await geo(client, "heatmap", who, metro="las_vegas", resolution=8)
        assert (heat["total_leads"], heat["approximate_leads"]) == (14, 8)
        # And the square grid, a point layer, leaves them out and says so
        grid = await geo(client, "heatmap", who, metro="las_vegas", grid="square", cell_size_m=500)
        assert (grid["total_leads"], grid["approximate_leads"]) == (6, 8)


async def test_listings_known_only_to_several_zips_never_form_a_cluster(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given another shape: 12 listings without points spread over two ZIPs, some giving a
    # street, some only the ZIP, and no exact listing at all
    records = [
        {
            "ListingKey": f"Z{i}",
            "StandardStatus": "Active",
            "PropertyType": "Residential",
            "ListPrice": 250_000 + i,
            "City": "Las Vegas",
            "StateOrProvince": "NV",
            "PostalCode": ("89110", "89121")[i % 2],
            **({"StreetNumber": str(10 + i), "StreetName": "Fictional Row"} if i % 3 else {}),
        }
        for i in range(12)
    ]
    await _ingest(sessions, settings, cipher, clock, records)
    headers = await admin(client, sessions, clock)
    body = await geo(client, "clusters", headers, metro="las_vegas", eps_m=500, min_samples=3)
    assert (body["n_points"], body["n_clusters"], body["n_approximate_excluded"]) == (0, 0, 12)


async def test_an_exact_point_arriving_later_moves_the_lead_into_the_clusters(
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given a third shape: listings first known only to their ZIP, then sent with points
    cluster = _exact_cluster(5, 36.16, -115.21)
    bare = [{k: v for k, v in r.items() if k not in ("Latitude", "Longitude")} for r in cluster]
    await _ingest(sessions, settings, cipher, clock, bare)
    headers = await admin(client, sessions, clock)
    before = await geo(client, "clusters", headers, metro="las_vegas", eps_m=250, min_samples=5)
    assert (before["n_clusters"], before["n_approximate_excluded"]) == (0, 5)
    # When the source sends the same listings with their own points
    await _ingest(sessions, settings, cipher, clock, cluster)
    after = await geo(client, "clusters", headers, metro="las_vegas", eps_m=250, min_samples=5)
    assert (after["n_clusters"], after["n_approximate_excluded"]) == (1, 0)
