"""One socket write per HTTP response where uvicorn makes two.

uvicorn's httptools protocol hands a response's head (status line and headers) and its body to
the transport one after the other, and the transport sends each at once: TCP_NODELAY is set
(uvloop and asyncio both set it), so every answer costs two `send` system calls and two TCP
segments, and the client two wake-ups. On 2026-12-03, py-spy put 13 % of an API worker's CPU
under mixed traffic in uvicorn's `send`, where those writes are made.

`OneWriteHttpToolsProtocol` is uvicorn's protocol with its transport wrapped in `HeldWrites`,
which holds a write made when nothing is held, and sends it with the next one: a head and its
body leave in one write. A write left alone (a `100 Continue`, a stream's last chunk, a head
whose body is not ready yet) leaves at the end of the event loop's turn. Closing or aborting
the connection sends or drops what is held first, as the transport itself would.

`aiqleads serve` gives uvicorn this protocol (`http=`). The JSON answers of this API are always
a head and a body sent in the same turn, so none waits.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

Data = bytes | bytearray | memoryview


class HeldWrites(asyncio.Transport):
    """`transport`, but for its writes: one made while nothing is held is held; the next one
    sends both in one `transport.write`; one still held at the end of the loop's turn is sent
    then. Every other method is `transport`'s."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None
        self._flush_scheduled = False

    def write(self, data: Data) -> None:
        if self._held is None:
            # A copy: the caller may reuse its buffer once `write` returns.
            self._held = bytes(data)
            if not self._flush_scheduled:
                self._flush_scheduled = True
                self._loop.call_soon(self._end_of_turn)
            return
        held, self._held = self._held, None
        self._transport.write(b"".join((held, data)))

    def writelines(self, list_of_data: Any) -> None:
        self.write(b"".join(list_of_data))

    def flush(self) -> None:
        """Send what is held now (nothing once the connection is closing)."""
        held, self._held = self._held, None
        if held is not None and not self._transport.is_closing():
            self._transport.write(held)

    def _end_of_turn(self) -> None:
        self._flush_scheduled = False
        self.flush()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + len(self._held or b"")

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, writing through `HeldWrites`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(HeldWrites(transport, self.loop))
