"""Headers added to an ASGI answer on its way out, by a middleware."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from starlette.types import Message

RawHeader = tuple[bytes, bytes]


def raw_headers(headers: Mapping[str, str]) -> tuple[RawHeader, ...]:
    """`headers` as ASGI's raw pairs: (lower-case name, value), both latin-1 bytes."""
    return tuple((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())


def add_missing(message: Message, headers: Iterable[RawHeader]) -> None:
    """Append to the `http.response.start` `message` each of `headers` (raw pairs, lower-case
    names) whose name the answer does not carry already: a handler's own value wins.

    One pass over the answer's headers, where Starlette's `MutableHeaders` scans them twice for
    each header added (`in`, then the assignment)."""
    raw = list(message.get("headers", ()))
    present = {name.lower() for name, _ in raw}
    raw.extend(pair for pair in headers if pair[0] not in present)
    message["headers"] = raw
