"""Query parameters read into a pydantic model in one validation call.

FastAPI reads a model of query parameters (`Annotated[Model, Query()]`) field by field, and asks
of each field's annotation, on every request, whether it is a list (FastAPI 0.165: about 700 of
a catalog search's 950 `isinstance` calls, a fifth of its Python calls; measured with
`bench/request_costs.py`). `QueryModel(Model)` is a dependency that reads the same parameters
the same way, with the list fields found once, and validates them with the model's own
validator:

* a list field takes every value of its name (`?zip=a&zip=b`), another field the last one;
* a name the model does not know reaches the model as an extra input (refused by
  `extra="forbid"`);
* an invalid value raises FastAPI's `RequestValidationError` with each error's `loc` starting
  "query", as FastAPI's own reading does, so the 422 answer is the same
  (`tests/kit/test_query_model.py` compares the two).

The API description documents the model's fields as the query parameters of each route that
depends on it, as FastAPI would (`aiqleads.openapi`, with `described_parameters`).
"""

from __future__ import annotations

import functools
import types
import typing
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, FastAPI, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

_SEQUENCES = (list, tuple, set, frozenset)


def _is_sequence(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in _SEQUENCES or annotation in _SEQUENCES:
        return True
    if origin is typing.Union or origin is types.UnionType:
        return any(_is_sequence(arg) for arg in typing.get_args(annotation))
    if origin is Annotated:
        return _is_sequence(typing.get_args(annotation)[0])
    return False


class QueryModel(Generic[M]):
    """A dependency answering the request's query parameters as a `model` instance.

    Use as `Annotated[Model, from_query(Model)]`, as the route's last parameter: FastAPI
    solves dependencies in the order of the signature, and reads a `Query()` model only after
    all of them, so a caller not signed in gets its 401, and an invalid query counts against
    the caller's rate limit, before the query is judged. Raises RequestValidationError (422)
    for an invalid or unknown parameter. The model's fields may not have aliases (the
    parameter's name is the field's)."""

    def __init__(self, model: type[M]):
        aliased = [name for name, f in model.model_fields.items() if f.alias not in (None, name)]
        if aliased:
            raise TypeError(f"{model.__name__}: query fields with aliases are not read: {aliased}")
        self.model = model
        self.lists = frozenset(
            name for name, f in model.model_fields.items() if _is_sequence(f.annotation)
        )

    async def __call__(self, request: Request) -> M:
        values: dict[str, Any] = {}
        for name, value in request.query_params.multi_items():
            if name in self.lists:
                values.setdefault(name, []).append(value)
            else:
                values[name] = value
        try:
            return self.model.model_validate(values)
        except ValidationError as exc:
            errors = [{**e, "loc": ("query", *e["loc"])} for e in exc.errors()]
            raise RequestValidationError(errors) from None


def from_query(model: type[M]) -> Any:
    """`Depends(QueryModel(model))`: `q: Annotated[Model, from_query(Model)]` in a route's
    signature."""
    return Depends(QueryModel(model))


def query_models(dependant: Dependant) -> list[type[BaseModel]]:
    """The models a route's `dependant` reads with `QueryModel` (its direct dependencies)."""
    return [d.call.model for d in dependant.dependencies if isinstance(d.call, QueryModel)]


@functools.cache
def described_parameters(model: type[BaseModel]) -> tuple[list[Any], dict[str, Any]]:
    """The OpenAPI 3.1 parameters FastAPI writes for `Annotated[model, Query()]`, and the
    component schemas they refer to: FastAPI's own description of a one-route app."""

    async def declared(query: Any) -> None:
        return None

    # The real annotation, not the string this module's annotations are made of.
    declared.__annotations__["query"] = Annotated[model, Query()]
    app = FastAPI()
    app.get("/")(declared)
    schema = app.openapi()
    parameters = schema["paths"]["/"]["get"].get("parameters", [])
    components = schema.get("components", {}).get("schemas", {})
    return parameters, {k: v for k, v in components.items() if "ValidationError" not in k}
