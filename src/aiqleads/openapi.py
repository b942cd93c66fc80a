"""The API description tells the truth about errors: every error answer has one shape
(`{"error", "code", "detail"}`, `aiqleads.errors`), and each operation lists the error statuses
it can answer, derived from what the route depends on.

* 401 and 403: routes that need a caller (403: a role or tier that may not, or an admin-only
  route); 404: routes with a path parameter (or a lead, order, hold, webhook they name);
* 409: writes by a caller (a state that forbids the change, a racing request);
* 413, 415, 422: routes that take a body (too large, another media type, invalid); 422 too for
  every route with parameters;
* 429: every route under /api/v1 (the request rate limits, and the login delays);
* 400, 402, 503: the few routes that answer them (a refused gateway event, a declined or
  unreachable payment).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.encoders import jsonable_encoder
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, compile_path

from aiqleads.deps import CALLER_SCHEMES, get_principal, get_principal_apart, get_viewer
from aiqleads.errors import ErrorCode
from aiqleads.kit.query_model import described_parameters, query_models

ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error", "code", "detail"],
    "properties": {
        "error": {"type": "string", "description": "what went wrong, for a person"},
        "code": {"type": "string", "enum": [c.value for c in ErrorCode]},
        "detail": {
            "description": 'null, a list of {"field", "reason"}, or an object of facts',
            "anyOf": [
                {"type": "null"},
                {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["field", "reason"],
                        "properties": {
                            "field": {"type": "string"},
                            "reason": {"type": "string"},
                        },
                    },
                },
                {"type": "object"},
            ],
        },
    },
}
DESCRIPTIONS = {
    "400": "a request the route cannot take (an unsigned or malformed gateway event)",
    "401": "not signed in, or the token or API key is not valid",
    "402": "the payment was declined",
    "403": "the caller's role or tier may not do this",
    "404": "no such resource, or not the caller's",
    "409": "the resource's state forbids it (a hold taken, a return decided, …)",
    "413": "the request body is over AIQ_MAX_BODY_BYTES",
    "415": "the body is not application/json",
    "422": "a parameter or the body is invalid: `detail` names each field and why",
    "429": "too many requests (Retry-After says when to retry)",
    "503": "the payment gateway did not answer",
}
# Statuses only some routes answer, by (method, path).
EXTRA: dict[tuple[str, str], tuple[str, ...]] = {
    ("POST", "/api/v1/payments/webhooks/{gateway}"): ("400", "404"),
    ("POST", "/api/v1/auth/register"): ("409",),  # the e-mail has an account
    ("POST", "/api/v1/auth/token"): ("401",),  # wrong e-mail or password
    ("POST", "/api/v1/auth/refresh"): ("401",),  # not a live refresh token
    ("POST", "/api/v1/checkout"): ("402", "503"),
    ("POST", "/api/v1/admin/returns/{return_id}/approve"): ("503",),
}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dep in dependant.dependencies:
        if dep.call is not None:
            yield dep.call
        yield from _calls(dep)


def api_routes(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """(full path, route) of every APIRoute, through included routers (which FastAPI keeps
    apart, their prefix in their include context)."""
    for r in routes:
        inner = getattr(r, "original_router", None)
        if inner is not None:
            context = getattr(r, "include_context", None)
            yield from api_routes(inner.routes, prefix + str(getattr(context, "prefix", "") or ""))
        elif isinstance(r, APIRoute):
            yield prefix + r.path, r


def allowed_methods(app: FastAPI, url_path: str) -> list[str]:
    """The methods (sorted, HEAD with GET) some route of `app` answers at `url_path`."""
    methods: set[str] = set()
    for path, route in api_routes(app.routes):
        if compile_path(path)[0].match(url_path):
            methods |= route.methods or set()
    return sorted(methods)


def takes_caller(route: APIRoute) -> bool:
    """Whether `route` signs its caller in (`deps.get_principal`, `get_principal_apart` or
    `get_viewer`, which calls `get_principal`)."""
    signs_in = (get_principal, get_principal_apart, get_viewer)
    return any(call in signs_in for call in _calls(route.dependant))


def error_statuses(route: APIRoute, path: str, method: str) -> set[str]:
    """The error statuses (strings, as OpenAPI keys) `route` can answer to `method`."""
    authenticated = takes_caller(route)
    out: set[str] = set()
    if authenticated:
        out |= {"401", "403"}
    if route.dependant.path_params or authenticated:
        out.add("404")
    if authenticated and method != "GET":
        out.add("409")
    body = route.body_field is not None
    if body:
        out |= {"413", "415", "422"}
    dependant = route.dependant
    if (
        dependant.query_params
        or dependant.path_params
        or dependant.header_params
        or query_models(dependant)
    ):
        out.add("422")
    if path.startswith("/api/v1/"):
        out.add("429")
    out |= set(EXTRA.get((method, path), ()))
    return out


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` document the error shape and every operation's error statuses."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = _describe(app)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _describe(app: FastAPI) -> dict[str, Any]:
    """The API description as FastAPI makes it, with the error shape and statuses."""
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    _describe_query_models(app, schema)
    components["Error"] = ERROR_SCHEMA
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    schema["components"]["securitySchemes"] = {
        scheme.scheme_name: jsonable_encoder(scheme.model, by_alias=True, exclude_none=True)
        for scheme in CALLER_SCHEMES
    }
    for path, route in api_routes(app.routes):
        for method in route.methods or ():
            operation = schema["paths"].get(path, {}).get(method.lower())
            if operation is None:
                continue
            if takes_caller(route):
                # `deps.get_principal` reads these itself, so FastAPI does not see them.
                operation["security"] = [{scheme.scheme_name: []} for scheme in CALLER_SCHEMES]
                _in_fastapis_order(operation)
            responses = operation.setdefault("responses", {})
            for status in sorted(error_statuses(route, path, method)):
                responses[status] = {
                    "description": DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": ERROR_REF}},
                }
    return schema


def _describe_query_models(app: FastAPI, schema: dict[str, Any]) -> None:
    # A route reading its query with `QueryModel` gets the parameters FastAPI would have
    # described had the model been declared `Annotated[Model, Query()]`, after its path
    # parameters, as FastAPI orders them.
    components = schema["components"]["schemas"]
    for path, route in api_routes(app.routes):
        for model in query_models(route.dependant):
            parameters, referred = described_parameters(model)
            components.update(referred)
            for method in route.methods or ():
                operation = schema["paths"].get(path, {}).get(method.lower())
                if operation is None:
                    continue
                own = operation.get("parameters", [])
                at_path = [p for p in own if p["in"] == "path"]
                others = [p for p in own if p["in"] != "path"]
                operation["parameters"] = at_path + parameters + others
                # FastAPI lists the 422 of a route with parameters right after its success;
                # `_describe` gives it the error shape with the other statuses.
                operation.setdefault("responses", {}).setdefault("422", {})
                _in_fastapis_order(operation)
    # FastAPI writes the component schemas in name order (and ours, "Error", after them).
    ordered = sorted(components.items())
    components.clear()
    components.update(ordered)


# The order FastAPI 0.165 writes an operation's members in (`fastapi.openapi.utils`), so the
# document reads as FastAPI's would, member for member.
_OPERATION_ORDER = (
    "tags",
    "summary",
    "description",
    "operationId",
    "deprecated",
    "security",
    "parameters",
    "requestBody",
    "callbacks",
    "responses",
)


def _in_fastapis_order(operation: dict[str, Any]) -> None:
    rank = {name: i for i, name in enumerate(_OPERATION_ORDER)}
    members = sorted(operation.items(), key=lambda kv: rank.get(kv[0], len(rank)))
    operation.clear()
    operation.update(members)
