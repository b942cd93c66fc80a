"""Database statement timing (aiq_db_query_seconds), from SQLAlchemy's cursor events."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from aiqleads.observability.metrics import DB_QUERY_SECONDS

_OPERATIONS = {"select", "insert", "update", "delete"}
_START = "aiq_query_started"


def operation_of(statement: str) -> str:
    """The SQL verb of a statement, for the metric's label: select, insert, update, delete
    (a WITH … query counts as select unless it writes), else "other" (DDL, BEGIN, COPY…)."""
    head = statement.lstrip()[:12].split(None, 1)
    verb = head[0].lower() if head else ""
    if verb == "with":
        lowered = statement.lower()
        for write in ("insert", "update", "delete"):
            if f" {write} " in lowered or f"\n{write} " in lowered:
                return write
        return "select"
    return verb if verb in _OPERATIONS else "other"


def _before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
    conn.info.setdefault(_START, []).append(time.perf_counter())


def _after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
    started = conn.info.get(_START)
    if started:
        DB_QUERY_SECONDS.labels(operation_of(statement)).observe(
            time.perf_counter() - started.pop()
        )


def _failed(context: Any) -> None:
    # A statement that raised never reaches after_cursor_execute: drop its start time.
    started = context.connection.info.get(_START) if context.connection is not None else None
    if started:
        started.pop()


def instrument(engine: Engine) -> None:
    """Time every statement `engine` runs (the sync engine behind an AsyncEngine)."""
    event.listen(engine, "before_cursor_execute", _before)
    event.listen(engine, "after_cursor_execute", _after)
    event.listen(engine, "handle_error", _failed)
