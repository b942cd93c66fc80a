"""The application's routes as (method, path, route), through FastAPI's included routers (which
keep their routes apart, under their prefix, rather than copying them into the app's list)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from starlette.routing import BaseRoute


def app_routes(
    routes: Iterable[BaseRoute], prefix: str = ""
) -> Iterator[tuple[str, str, BaseRoute]]:
    """(method, path, route) of every route (HEAD left out; "*" for a route of every method,
    such as a mount)."""
    for r in routes:
        inner = getattr(r, "original_router", None)
        if inner is not None:  # FastAPI's included router: its routes, under its prefix
            context = getattr(r, "include_context", None)
            yield from app_routes(inner.routes, prefix + str(getattr(context, "prefix", "") or ""))
            continue
        path = prefix + str(getattr(r, "path", ""))
        for method in sorted(getattr(r, "methods", None) or ["*"]):
            if method != "HEAD":
                yield method, path, r
