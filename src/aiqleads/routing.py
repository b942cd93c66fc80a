"""The class of every API route: FastAPI's, ending the request's database session between the
handler and its answer.

`deps.get_session` opens a session when a dependency asks for one; `SessionRoute` ends it once
the handler has returned or raised, before the answer is sent: committed (so a failed commit is
the answer, never a 200 for a write that did not happen) or rolled back, then closed
(`deps.end_session`). Every router of the application is made with
`APIRouter(route_class=SessionRoute)`; `tests/test_request_session.py` checks that every route
of the application that opens a session is of this class.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import anyio
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from aiqleads.deps import end_session

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class SessionRoute(APIRoute):
    """An APIRoute whose handler ends the request's session (`deps.end_session`) before its
    answer leaves."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except BaseException:
                # Shielded: a request cancelled (its client gone) still returns its connection.
                with anyio.CancelScope(shield=True):
                    await end_session(request.scope, failed=True)
                raise
            await end_session(request.scope, failed=False)
            return response

        return handle
