"""Structured (JSON) logs. Owner contact details must never reach a log line: the redaction
filter is a second line of defence behind code that simply never logs them."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from asgi_correlation_id.context import correlation_id

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
# Libraries that log what they are handed at DEBUG: aiosqlite each call with its SQL and
# parameters, the multipart parser pieces of form bodies (the login form's password). They
# stay at INFO whatever the root level.
_QUIET_AT_DEBUG = ("aiosqlite", "multipart", "python_multipart", "asyncio", "hpack")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def redact(text: str) -> str:
    """`text` with e-mails, phone numbers, signed tokens, API keys and password hashes
    replaced by "[email]", "[phone]", "[token]", "[api-key]" and "[hash]"."""
    text = _ARGON2.sub("[hash]", _API_KEY.sub("[api-key]", _JWT.sub("[token]", text)))
    return _PHONE.sub("[phone]", _EMAIL.sub("[email]", text))


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        for key in _SENSITIVE_KEYS & set(vars(record)):
            setattr(record, key, "[redacted]")
        return True


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (asgi-correlation-id's, from the X-Request-ID header or generated) to
    every record logged while a request is being answered, and by tasks it started."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = correlation_id.get()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,  # which worker process, when several serve
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO", *, json_lines: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.addFilter(RequestIdFilter())
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every outbound request's full URL at INFO (webhook receivers, the payment
    # gateway): a URL may carry a query with personal data or a secret. Warnings still show.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    for name in _QUIET_AT_DEBUG:
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))
