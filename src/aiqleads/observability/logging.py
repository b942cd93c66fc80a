"""Structured (JSON) logs. Owner contact details must never reach a log line: the redaction
filter is a second line of defence behind code that simply never logs them."""

from __future__ import annotations

import functools
import json
import logging
import re
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

from asgi_correlation_id.context import correlation_id
from sqlalchemy.exc import DBAPIError

from aiqleads.kit.pid import current_pid

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# North American shapes (206-555-0123, (206) 555.0123, 2065550123) and E.164; not timestamps.
_PHONE = re.compile(r"\+\d{10,15}\b|(?<!\d)(?:1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]\d{4}(?!\d)")
# Signed tokens (JWT: three base64url parts, the first "eyJ"), API keys, password hashes.
_JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")
_API_KEY = re.compile(r"aiq_[a-z0-9]{10}_[\w-]+")
_ARGON2 = re.compile(r"\$argon2(?:id|i|d)\$[^\s'\",)]+")
_SENSITIVE_KEYS = {
    "owner_name",
    "owner_phone",
    "owner_email",
    "password",
    "phone",
    "email",
    "token",
    "access_token",
    "refresh_token",
    "password_hash",
}
# Libraries that log what they are handed at DEBUG: aiosqlite each call it runs, the multipart
# parser pieces of form bodies. They stay at INFO whatever the root level. (SQLAlchemy keeps its
# own WARNING unless an operator lowers it; its engines hide bind parameters in any case.)
_QUIET_AT_DEBUG = ("aiosqlite", "asyncpg", "multipart", "python_multipart", "asyncio", "hpack")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


# One encoder for every line: `json.dumps` with an argument builds a new one each call.
_ENCODER = json.JSONEncoder(default=str)


def redact(text: str) -> str:
    """`text` with e-mails, phone numbers, signed tokens, API keys and password hashes
    replaced by "[email]", "[phone]", "[token]", "[api-key]" and "[hash]"."""
    text = _ARGON2.sub("[hash]", _API_KEY.sub("[api-key]", _JWT.sub("[token]", text)))
    return _PHONE.sub("[phone]", _EMAIL.sub("[email]", text))


@functools.lru_cache(maxsize=256)
def _redact_constant(message: str) -> str:
    """`redact` for a message logged without arguments: most are constants ("request",
    "starting"), logged again and again, so their redaction is kept rather than redone."""
    return redact(message)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not record.args and isinstance(record.msg, str):
            record.msg = _redact_constant(record.msg)
        else:
            record.msg = redact(record.getMessage())
        record.args = ()
        fields = record.__dict__
        for key in _SENSITIVE_KEYS:
            if key in fields:
                fields[key] = "[redacted]"
        return True


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (asgi-correlation-id's, from the X-Request-ID header or generated) to
    every record logged while a request is being answered, and by tasks it started."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = correlation_id.get()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        return True


def format_exception(exc_info: Any) -> str:
    """A traceback for the logs, redacted. A database error's message is withheld: PostgreSQL
    quotes row values in it ("Key (email)=(…) already exists"), so only its type is kept,
    and the same for every exception chained to it."""
    _, value, _ = exc_info
    chain: list[BaseException] = []
    seen: BaseException | None = value
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    if any(isinstance(e, DBAPIError) for e in chain):
        lines = ["Traceback (most recent call last):\n", *traceback.format_tb(value.__traceback__)]
        names = " <- ".join(type(e).__name__ for e in chain)
        lines.append(f"{names} (message withheld: database errors quote row values)")
        return redact("".join(lines))
    return redact("".join(traceback.format_exception(*exc_info)).rstrip("\n"))


class TextFormatter(logging.Formatter):
    def formatException(self, ei: Any) -> str:
        return format_exception(ei)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": current_pid(),  # which worker process, when several serve
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = format_exception(record.exc_info)
        return _ENCODER.encode(entry)


def configure_logging(level: str = "INFO", *, json_lines: bool = True) -> None:
    # A record costs about a third less without what no formatter here prints: the caller's
    # frame, thread and process names, the process id (the JSON lines use `current_pid`). These are
    # the switches the logging HOWTO's "Optimization" section names. The access log writes a
    # record per request.
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False
    logging.logProcesses = False
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.addFilter(RequestIdFilter())
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every outbound request's full URL at INFO (webhook receivers, the payment
    # gateway): a URL may carry a query with personal data or a secret. Warnings still show.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    for name in _QUIET_AT_DEBUG:
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))
