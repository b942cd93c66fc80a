"""What `aiqleads worker` hands Dramatiq's command line: `broker`, imported by each worker
process, and `run_dispatcher`, run in a process of its own beside them (Dramatiq's
`--fork-function`): the outbox relay and the periodic schedule."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import dramatiq

from aiqleads.config import get_settings
from aiqleads.observability.logging import configure_logging
from aiqleads.worker.context import build_context
from aiqleads.worker.dispatcher import Dispatcher
from aiqleads.worker.dramatiq_broker import build_broker, sender_for

log = logging.getLogger(__name__)

_settings = get_settings()
broker = build_broker(_settings)
dramatiq.set_broker(broker)


def run_dispatcher() -> int:
    """The relay (and, unless AIQ_WORKER__SCHEDULE is false, the schedule) until SIGTERM."""
    configure_logging(_settings.log_level, json_lines=_settings.log_json)
    _serve_metrics(_settings.worker.metrics_port)
    asyncio.run(_dispatch())
    return 0


async def _dispatch() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    ctx = build_context(_settings)
    dispatcher = Dispatcher(
        ctx,
        mode="relay",
        sender=sender_for(broker, _settings),
        schedule=_settings.worker.schedule,
    )
    dispatcher.start()
    try:
        await stop.wait()
    finally:
        await dispatcher.stop()
        await ctx.aclose()
        log.info("task dispatcher stopped")


def _serve_metrics(port: int) -> None:
    """/metrics of every worker process (Prometheus multiprocess mode), when a port is set."""
    if not port or not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    start_http_server(port, registry=registry)
