"""`QueryModel` reads a query as FastAPI reads `Annotated[Model, Query()]`: for each of the API's
query models and a table of queries, good and bad, an app declaring the model FastAPI's way and
one reading it with `QueryModel` (both with the API's error handlers) give the same answer, and
the API description documents the same parameters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import FastAPI, Query
from pydantic import BaseModel, Field

from aiqleads.errors import install_error_handlers
from aiqleads.geo.schemas import ClusterParams, CompetitorParams, HeatmapParams, PenetrationParams
from aiqleads.kit.query_model import QueryModel, described_parameters, from_query
from aiqleads.leads.schemas import CatalogParams

MODELS: list[type[BaseModel]] = [
    CatalogParams,
    HeatmapParams,
    ClusterParams,
    PenetrationParams,
    CompetitorParams,
]

QUERIES = [
    "",
    "metro=austin",
    "metro=austin&metro=dallas",  # a single field given twice: the last value
    "metro=" + "x" * 41,
    "metro=",
    "bbox=-97.9,30.1,-97.5,30.5",
    "bbox=-97.9,30.1,-97.5",
    "bbox=a,b,c,d",
    "zip=78701",
    "zip=78701&zip=78702&zip=78701",
    "zip=" + "&zip=".join(str(78700 + i) for i in range(60)),
    "kind=sale&kind=rent",
    "kind=castle",
    "status=available&status=sold",
    "status=",
    "price_min=100&price_max=50",
    "price_min=-1",
    "price_min=1e3",
    "price_min=",
    "price_max=99999999999999999999",
    "beds_min=2.5",
    "baths_min=1.5",
    "baths_min=nan",
    "listed_since=2026-01-01T00:00:00Z",
    "listed_since=yesterday",
    "listed_since=2026-13-01",
    "city=Austin",
    "city=",
    "unknown=1",
    "unknown=1&unknown=2",
    "Metro=austin",
    "sort=-asking_price",
    "sort=name",
    "limit=0",
    "limit=20&cursor=abc",
    "cursor=" + "c" * 2001,
    "resolution=7&weight=score",
    "resolution=40",
    "zoom=11",
    "grid=square&cell_size_m=500",
    "eps_m=250&min_samples=3&algorithm=dbscan",
    "eps_m=-1&min_samples=abc",
    "level=zip&metric=penetration",
    "level=county",
    "lat=30.27&lon=-97.74&radius_m=2000&top_n=5",
    "lat=91&lon=-200",
    "radius_m=0",
    "metro=austin&price_min=x&beds_min=y&kind=z",  # several errors at once, in order
    "price_min=%FF",
    "metro=%00",
]


def _apps(model: type[BaseModel]) -> tuple[FastAPI, FastAPI]:
    declared, read = FastAPI(), FastAPI()

    async def by_fastapi(q: Any) -> dict[str, Any]:
        return dict(q.model_dump(mode="json"))

    async def by_query_model(q: Any) -> dict[str, Any]:
        return dict(q.model_dump(mode="json"))

    by_fastapi.__annotations__["q"] = Annotated[model, Query()]
    by_query_model.__annotations__["q"] = Annotated[model, from_query(model)]
    declared.get("/q")(by_fastapi)
    read.get("/q")(by_query_model)
    for app in (declared, read):
        install_error_handlers(app)
    return declared, read


async def _answer(app: FastAPI, query: str) -> tuple[int, Any]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        res = await client.get("/q?" + query if query else "/q")
    return res.status_code, res.json()


@pytest.fixture(params=MODELS, ids=lambda m: m.__name__)
async def apps(request: pytest.FixtureRequest) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    yield _apps(request.param)


async def test_every_query_answers_as_fastapi_declared_it(apps: tuple[FastAPI, FastAPI]) -> None:
    declared, read = apps
    statuses = set()
    for query in QUERIES:
        expected = await _answer(declared, query)
        assert await _answer(read, query) == expected, query
        statuses.add(expected[0])
    assert statuses == {200, 422}  # the table reaches both kinds of answer for every model


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_documented_parameters_are_fastapis(model: type[BaseModel]) -> None:
    declared, read = _apps(model)
    expected = declared.openapi()["paths"]["/q"]["get"]["parameters"]
    parameters, components = described_parameters(model)
    assert parameters == expected
    assert {name for name in components} <= set(declared.openapi()["components"]["schemas"])
    # The app reading with QueryModel alone documents none: aiqleads.openapi adds them.
    assert "parameters" not in read.openapi()["paths"]["/q"]["get"]


def test_the_api_documents_each_query_models_parameters_and_422() -> None:
    from aiqleads.app import create_app
    from aiqleads.config import Settings

    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    paths = app.openapi()["paths"]
    routes: list[tuple[str, type[BaseModel]]] = [
        ("/api/v1/leads", CatalogParams),
        ("/api/v1/geo/heatmap", HeatmapParams),
        ("/api/v1/geo/clusters", ClusterParams),
        ("/api/v1/geo/penetration", PenetrationParams),
        ("/api/v1/geo/competitors", CompetitorParams),
    ]
    for path, model in routes:
        operation = paths[path]["get"]
        names = [p["name"] for p in operation["parameters"]]
        assert names == list(model.model_fields), path
        # In the order FastAPI writes them had it read the model itself
        assert list(operation) == [
            "tags",
            "summary",
            "description",
            "operationId",
            "security",
            "parameters",
            "responses",
        ], path
        assert list(operation["responses"])[:2] == ["200", "422"], path
    names = list(app.openapi()["components"]["schemas"])
    assert names[-1] == "Error" and names[:-1] == sorted(names[:-1])


def test_aliased_fields_are_refused_when_the_dependency_is_made() -> None:
    class Aliased(BaseModel):
        page_size: int = Field(default=10, alias="pageSize")

    with pytest.raises(TypeError, match="page_size"):
        QueryModel(Aliased)
