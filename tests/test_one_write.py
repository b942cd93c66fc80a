"""One socket write per response (`aiqleads.one_write`): a head and its body leave together, a
write left alone leaves at the end of the loop's turn, closing sends what is held, aborting
drops it; and uvicorn serving through it answers keep-alive, streamed and HEAD requests as it
does without it. Real loopback connections throughout."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import uvicorn

from aiqleads.one_write import HeldWrites, OneWriteHttpToolsProtocol


class Counted(asyncio.Transport):
    """A real transport, its writes recorded."""

    def __init__(self, transport: asyncio.Transport) -> None:
        super().__init__()
        self.transport = transport
        self.writes: list[bytes] = []

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))
        self.transport.write(data)

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def close(self) -> None:
        self.transport.close()

    def abort(self) -> None:
        self.transport.abort()

    def get_write_buffer_size(self) -> int:
        return self.transport.get_write_buffer_size()


class Server(asyncio.Protocol):
    """Hands its connection's transport, counted and wrapped, to the test."""

    def __init__(self, made: asyncio.Future[tuple[HeldWrites, Counted]]) -> None:
        self.made = made

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        counted = Counted(transport)
        self.made.set_result((HeldWrites(counted, asyncio.get_running_loop()), counted))


@contextlib.asynccontextmanager
async def _connection() -> AsyncIterator[tuple[HeldWrites, Counted, asyncio.StreamReader]]:
    loop = asyncio.get_running_loop()
    made: asyncio.Future[tuple[HeldWrites, Counted]] = loop.create_future()
    server = await loop.create_server(lambda: Server(made), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    held, counted = await made
    try:
        yield held, counted, reader
    finally:
        writer.close()
        server.close()
        await server.wait_closed()


async def test_a_write_and_the_next_leave_in_one() -> None:
    async with _connection() as (held, counted, reader):
        held.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        assert counted.writes == []
        held.write(memoryview(b"{}"))
        assert counted.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
        assert await reader.readexactly(40) == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"


async def test_a_write_left_alone_leaves_at_the_end_of_the_turn() -> None:
    async with _connection() as (held, counted, reader):
        buffer = bytearray(b"HTTP/1.1 100 Continue\r\n\r\n")
        held.write(buffer)
        buffer[:] = b"X" * len(buffer)  # the caller may reuse its buffer at once
        assert held.get_write_buffer_size() >= 25
        assert counted.writes == []
        assert await reader.readexactly(25) == b"HTTP/1.1 100 Continue\r\n\r\n"
        assert counted.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
        # and the next write is held again, then sent with the one after it
        held.writelines([b"a", b"b"])
        held.write(b"c")
        assert counted.writes[1:] == [b"abc"]


async def test_closing_sends_what_is_held_and_aborting_drops_it() -> None:
    async with _connection() as (held, counted, reader):
        held.write(b"last words")
        held.close()
        assert await reader.read() == b"last words"
        assert held.is_closing()
    async with _connection() as (held, counted, reader):
        held.write(b"never sent")
        held.abort()
        assert await reader.read() == b""
        assert counted.writes == []


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A JSON answer, or on /stream three chunks of a streamed one."""
    assert scope["type"] == "http"
    if scope["path"] == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"one,", b"two,", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b""})
        return
    body = b'{"path":"%s"}' % scope["path"].encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def test_uvicorn_serves_through_it() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        _app, http=OneWriteHttpToolsProtocol, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:  # noqa: ASYNC110 (uvicorn says so by a flag only)
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            # Several requests on one kept-alive connection, each answered whole
            for n in range(5):
                answer = await client.get(f"/item/{n}")
                assert answer.json() == {"path": f"/item/{n}"}
            head = await client.head("/item/0")
            assert head.status_code == 200 and head.content == b""
            streamed = await client.get("/stream")
            assert streamed.headers["transfer-encoding"] == "chunked"
            assert streamed.content == b"one,two,three"
            assert (await client.get("/after")).json() == {"path": "/after"}
    finally:
        server.should_exit = True
        await serving
