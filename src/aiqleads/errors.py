"""One error type carrying its HTTP status, and the handlers that render every error alike.

Every error answer is `{"error": message, "code": stable_code, "detail": ...}`.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ErrorCode(StrEnum):
    VALIDATION = "validation_error"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    CONFLICT = "conflict"
    LOGIN_THROTTLED = "login_throttled"
    RATE_LIMITED = "rate_limited"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    PAYMENT_DECLINED = "payment_declined"
    PAYMENT_UNAVAILABLE = "payment_unavailable"
    INTERNAL = "internal_error"


class AppError(Exception):
    status: int = 400
    code: ErrorCode = ErrorCode.VALIDATION

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: ErrorCode | None = None,
        detail: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.detail = detail
        self.headers = headers


class NotFound(AppError):
    status = 404
    code = ErrorCode.NOT_FOUND


class Unauthorized(AppError):
    status = 401
    code = ErrorCode.UNAUTHORIZED

    def __init__(self, message: str = "not authenticated", **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, **kwargs)


class Forbidden(AppError):
    status = 403
    code = ErrorCode.FORBIDDEN


class Conflict(AppError):
    status = 409
    code = ErrorCode.CONFLICT


class InvalidInput(AppError):
    """A 422 naming the field, for checks pydantic cannot express."""

    status = 422
    code = ErrorCode.VALIDATION

    def __init__(self, field: str, reason: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(
            f"{field}: {reason}", detail=[{"field": field, "reason": reason}], headers=headers
        )


def error_body(message: str, code: str, detail: Any = None) -> dict[str, Any]:
    return {"error": message, "code": code, "detail": detail}


# FastAPI's HTTPException detail when a body fails to decode (fastapi.routing).
_UNPARSABLE = "There was an error parsing the body"
_LOCATIONS = {"query", "body", "path", "header", "cookie", "form"}


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    # ("query", "price_min") -> "price_min"; ("body", "items", 0, "id") -> "items.0.id"
    parts = list(loc)
    where = parts.pop(0) if parts and parts[0] in _LOCATIONS else None
    if where in {"query", "header", "path"}:  # a repeated parameter: name it, not its index
        while parts and isinstance(parts[-1], int):
            parts.pop()
    # Nothing left: the whole body (a JSON value that is not an object), else the request.
    return ".".join(str(p) for p in parts) or ("body" if where == "body" else "request")


def _is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def _whole_body_refused(err: Any) -> bool:
    # The body model met something that is not an object at all (raw bytes of another type).
    return tuple(err.get("loc", ())) == ("body",) and err.get("type") in {
        "model_attributes_type",
        "dict_type",
        "model_type",
    }


def _reason(err: Any) -> str:
    if err.get("type") == "json_invalid":  # say where the JSON broke
        where = (err.get("ctx") or {}).get("error")
        return f"not valid JSON: {where}" if where else "not valid JSON"
    message = str(err.get("msg", "invalid"))
    # A validator's own ValueError reads as its text, without pydantic's "Value error, ".
    return message.removeprefix("Value error, ") if err.get("type") == "value_error" else message


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.message, exc.code, exc.detail), exc.status, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if media and not _is_json(media) and any(_whole_body_refused(e) for e in errors):
            # A JSON body sent as another type reaches the model as bytes: say what to send.
            reason = f"send the body as application/json, not {media}"
            detail = [{"field": "body", "reason": reason}]
            return JSONResponse(error_body(reason, ErrorCode.UNSUPPORTED_MEDIA_TYPE, detail), 415)
        detail = [
            {
                # A body that is not JSON at all has no field; name the body.
                "field": "body"
                if err.get("type") == "json_invalid"
                else _field_name(err.get("loc", ())),
                "reason": _reason(err),
            }
            for err in errors
        ]
        message = "; ".join(f"{d['field']}: {d['reason']}" for d in detail)
        return JSONResponse(error_body(message, ErrorCode.VALIDATION, detail), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == _UNPARSABLE:
            # FastAPI's answer to a body it could not decode (bytes that are not UTF-8, a
            # broken form): a malformed body, like bad JSON, is a 422 naming the body.
            reason = "the body could not be decoded: send UTF-8 JSON (or the form it declares)"
            detail = [{"field": "body", "reason": reason}]
            return JSONResponse(error_body(f"body: {reason}", ErrorCode.VALIDATION, detail), 422)
        headers = exc.headers
        if exc.status_code == 405:
            # Starlette's Allow names the methods of the one route it tried; a path's methods
            # may be spread over several routes: name them all.
            from aiqleads.openapi import allowed_methods

            methods = allowed_methods(request.app, request.url.path)
            headers = {**(exc.headers or {}), "Allow": ", ".join(methods)}
        codes = {
            404: ErrorCode.NOT_FOUND,
            405: ErrorCode.METHOD_NOT_ALLOWED,
            401: ErrorCode.UNAUTHORIZED,
        }
        code = codes.get(exc.status_code, ErrorCode.VALIDATION)
        return JSONResponse(error_body(str(exc.detail), code), exc.status_code, headers=headers)

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        # A unique or check constraint caught what a racing request did first.
        log.info("integrity conflict: %s", type(exc.orig).__name__)
        return JSONResponse(error_body("conflicts with existing data", ErrorCode.CONFLICT), 409)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        # Starlette answers this one outside every middleware: add what they would have.
        from asgi_correlation_id.context import correlation_id

        from aiqleads.security_headers import headers_for

        headers = headers_for(request.url.path, request.url.scheme)
        request_id = correlation_id.get()
        if request_id:
            headers["X-Request-ID"] = request_id
        return JSONResponse(error_body("internal error", ErrorCode.INTERNAL), 500, headers=headers)
