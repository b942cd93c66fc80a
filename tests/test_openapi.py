"""The API description against the application (issue 14, item 4): schemathesis generates
requests from `/openapi.json` for every operation, sends them to the ASGI application, and runs
all its checks on each answer (no server error, the status and the body as documented, the
headers, the content type, valid data accepted and invalid data refused, …), signed in as an
agent and as an admin. Fixed seed (`derandomize`), bounded examples."""

from __future__ import annotations

import asyncio
import atexit
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
import schemathesis
from fastapi import Depends, FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.python.asgi import get_client

from aiqleads.app import create_app
from aiqleads.db import migrate
from aiqleads.db.engine import create_engine, session_factory
from aiqleads.deps import API_KEY, BEARER
from aiqleads.kit.clock import FrozenClock
from aiqleads.models.enums import Role, Tier
from aiqleads.openapi import ERROR_SCHEMA, api_routes, takes_caller
from tests.conftest import T0, Backend
from tests.factories import PASSWORD, make_account

EXAMPLES = 6  # per operation and caller: the whole run stays near a minute on SQLite
AGENT, ADMIN = "agent@example.com", "admin@example.com"


def _app(path: Path) -> Any:
    backend = Backend("sqlite", f"sqlite+aiosqlite:///{path}", None)
    settings_ = backend.settings(cache_namespace="aiq-openapi")

    async def prepare() -> None:
        engine = create_engine(settings_)
        await migrate.upgrade(engine)
        sessions = session_factory(engine)
        await make_account(sessions, now=T0, tier=Tier.ENTERPRISE, email=AGENT)
        await make_account(sessions, now=T0, role=Role.ADMIN, tier=Tier.ENTERPRISE, email=ADMIN)
        await engine.dispose()

    asyncio.run(prepare())
    return create_app(settings_, clock=FrozenClock(T0))


# Made at import, as schemathesis needs the application then; removed when the process ends.
_FOLDER = tempfile.mkdtemp(prefix="aiq-openapi-")
atexit.register(shutil.rmtree, _FOLDER, True)
_DB = Path(_FOLDER) / "api.db"
APP = _app(_DB)
# All checks, as they come, but one: a request valid by the description may still meet a check
# no JSON Schema can state, answered 422 naming the field: a cursor's signature, a password's
# strength (zxcvbn), a bbox's corners in order and in range, a webhook's https:// outside
# loopback, an e-mail's deliverable domain, variant names that differ. So 422 joins the
# statuses `positive_data_acceptance` takes from schema-valid data; everything else stays.
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]
            }
        }
    }
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG)


@pytest.fixture(scope="module")
def tokens() -> Iterator[dict[str, dict[str, str]]]:
    with get_client(APP) as client:
        out = {}
        for name, email in (("agent", AGENT), ("admin", ADMIN)):
            res = client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
            assert res.status_code == 200, res.text
            out[name] = {"Authorization": f"Bearer {res.json()['access_token']}"}
        yield out


# Each operation is generated for the caller it serves: agents for the agents' routes, the admin
# for /admin. Who else may call a route (and what they meet) is the authorization matrix's job
# (tests/security), so sending every case as both callers would double the run for nothing.
ADMIN_PATHS = "^/api/v1/admin/"
HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@schema.exclude(path_regex=ADMIN_PATHS).parametrize()
@HYPOTHESIS
def test_the_api_answers_an_agent_as_its_description_says(
    case: schemathesis.Case[Any], tokens: dict[str, dict[str, str]]
) -> None:
    # Given a request generated from the description, by a signed-in agent
    # When it is sent / Then every check of schemathesis passes on the answer
    case.call_and_validate(headers=tokens["agent"])


@schema.include(path_regex=ADMIN_PATHS).parametrize()
@HYPOTHESIS
def test_the_api_answers_an_admin_as_its_description_says(
    case: schemathesis.Case[Any], tokens: dict[str, dict[str, str]]
) -> None:
    # Given a request generated from the description of an admin route, by an admin
    # When it is sent / Then every check of schemathesis passes on the answer
    case.call_and_validate(headers=tokens["admin"])


def test_every_error_status_is_documented_with_the_error_shape() -> None:
    # Given the description
    spec = APP.openapi()
    # Then the error shape is the one errors.py renders
    assert spec["components"]["schemas"]["Error"] == ERROR_SCHEMA
    # And every error answer an operation lists names it; every /api/v1 operation lists some
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            errors = {k: v for k, v in operation["responses"].items() if k[0] in "45"}
            assert errors or not path.startswith("/api/v1/"), (method, path)
            for status, answer in errors.items():
                ref = answer["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/Error", (method, path, status)


def test_operations_that_sign_their_caller_in_list_how_as_fastapi_would() -> None:
    # `deps.get_principal` reads the bearer token and the API key itself (a dependency each
    # cost every request), so the description adds them: compare with FastAPI's own rendering
    # of the same two schemes declared as dependencies.
    async def caller(
        token: Annotated[str | None, Depends(BEARER)],
        api_key: Annotated[str | None, Depends(API_KEY)],
    ) -> None:
        return None

    reference = FastAPI()

    @reference.get("/signed-in", dependencies=[Depends(caller)])
    async def signed_in() -> None:
        return None

    theirs = reference.openapi()
    spec = APP.openapi()
    assert spec["components"]["securitySchemes"] == theirs["components"]["securitySchemes"]
    expected = theirs["paths"]["/signed-in"]["get"]["security"]
    # Every route that takes a caller lists both; the others (sign-in, sign-up, health) none
    listed = {
        (method.upper(), path): operation.get("security")
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }
    callers = {
        (method, path)
        for path, route in api_routes(APP.routes)
        for method in route.methods or ()
        if takes_caller(route) and route.include_in_schema
    }
    assert ("GET", "/api/v1/leads") in callers and ("GET", "/api/v1/cart") in callers
    assert {k for k, v in listed.items() if v is not None} == callers
    assert {k: v for k, v in listed.items() if v is not None and v != expected} == {}
    assert listed[("POST", "/api/v1/auth/token")] is None
