"""A listening socket of its own for each API worker process, all bound to one address with
SO_REUSEPORT, so that the kernel spreads new connections over the workers.

uvicorn's supervisor binds one socket and every worker accepts from it. A worker woken by a
burst of new connections accepts every one queued (asyncio and uvloop accept until the queue is
empty, up to the backlog), so connections opened together (a load balancer's pool, a load
generator's) can all land in one worker while the others idle: on 2026-12-03 one bench phase
had 4,681 of 4,704 requests answered by one of two workers, and its throughput halved. With a
socket per worker, Linux (3.9 and later) picks the socket of each new connection by a hash of
its addresses, so each worker takes a share of every burst.

uvicorn's `Multiprocess` supervisor hands one list of sockets to every worker it starts (or
starts again after a crash), pickled. `SocketPerWorker` is that list: empty in the supervisor,
it unpickles in each worker as a new socket bound to the address. The supervisor holds the
address with a socket that never listens (`hold`), so no other program can take it meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
from typing import Any

from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.supervisors import Multiprocess

# uvicorn's own logger, which its Config has set up, as uvicorn.run would log.
log = logging.getLogger("uvicorn.error")

# Linux only: it balances connections over the sockets of a SO_REUSEPORT group. macOS has the
# option but not the balancing (FreeBSD's is SO_REUSEPORT_LB), so elsewhere the workers keep
# uvicorn's one shared socket.
SUPPORTED = sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _reuse_port_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def hold(host: str, port: int) -> socket.socket:
    """A socket bound to (`host`, `port`) that does not listen, for the supervisor to keep
    while its workers serve: the port is resolved when 0 (`getsockname()[1]`), and no program
    can bind the address without SO_REUSEPORT meanwhile. Raises OSError when something else
    is bound to the address already (another `aiqleads serve` included, whose sockets would
    otherwise share the connections with these)."""
    # A plain bind first: SO_REUSEPORT would join another server's group without a word.
    with socket.socket(_family(host), socket.SOCK_STREAM, socket.IPPROTO_TCP) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        port = probe.getsockname()[1]
    return _reuse_port_socket(host, port)


def listen(host: str, port: int, backlog: int) -> list[socket.socket]:
    """One new socket listening on (`host`, `port`) with SO_REUSEPORT, in a list (what
    uvicorn's `Server.run(sockets=...)` takes). When the address is held by a socket without
    SO_REUSEPORT or by another user, says so on stderr and raises SystemExit with uvicorn's
    start-up failure status, which stops the supervisor instead of restarting the worker."""
    try:
        sock = _reuse_port_socket(host, port)
        sock.listen(backlog)
    except OSError as exc:
        # Logging is not configured yet: this runs as the worker unpickles its arguments.
        print(f"cannot listen on {host}:{port}: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(STARTUP_FAILURE) from exc
    return [sock]


class SocketPerWorker(list[socket.socket]):
    """The sockets uvicorn's `Multiprocess` gives each worker: none in the supervisor, and in
    each worker process, `listen(host, port, backlog)`'s own new socket."""

    def __init__(self, host: str, port: int, backlog: int) -> None:
        super().__init__()
        self.host, self.port, self.backlog = host, port, backlog

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled for a worker: unpickled there, it is that worker's socket.
        return (listen, (self.host, self.port, self.backlog))


def serve(config: Config) -> None:
    """Run uvicorn's supervisor of `config.workers` processes, each listening on a socket of
    its own, until it is told to stop (SIGINT, SIGTERM). Exits with uvicorn's start-up failure
    status when the address is taken."""
    try:
        held = hold(config.host, config.port)
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", config.host, config.port, exc)
        raise SystemExit(STARTUP_FAILURE) from exc
    with held:
        port = held.getsockname()[1]
        log.info(
            "Uvicorn running on http://%s:%d with a socket per worker (Press CTRL+C to quit)",
            config.host,
            port,
        )
        sockets = SocketPerWorker(config.host, port, config.backlog)
        with contextlib.suppress(KeyboardInterrupt):
            Multiprocess(config, sockets=sockets).run()
