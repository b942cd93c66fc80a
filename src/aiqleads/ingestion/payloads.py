"""What the quarantine keeps of a record or document, and how a record is rebuilt from it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime
from typing import Any

from aiqleads.ingestion.records import RawContact, RawRecord, Rejected

_RAW_FIELDS = {f.name for f in dataclasses.fields(RawRecord)}
DOCUMENT_HEAD_BYTES = 512


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def record_payload(record: RawRecord) -> dict[str, Any]:
    """The RawRecord's fields, datetimes as ISO text (normalize reads ISO dates like others)."""
    return dumpable({"record": {k: _jsonable(v) for k, v in dataclasses.asdict(record).items()}})


def record_from_payload(raw: dict[str, Any]) -> RawRecord | None:
    """The RawRecord a record row stored, or None for rows that hold no record (parse rejects)."""
    fields = raw.get("record")
    if not isinstance(fields, dict) or not {"source", "source_ref", "payload"} <= set(fields):
        return None
    values = {k: v for k, v in fields.items() if k in _RAW_FIELDS}
    values["contacts"] = [
        RawContact(str(c["value"]), str(c["role"]), str(c["origin"]))
        for c in values.get("contacts") or []
        if isinstance(c, dict) and {"value", "role", "origin"} <= set(c)
    ]
    return RawRecord(**values)


def rejected_payload(rejected: Rejected) -> dict[str, Any]:
    return {"rejected": rejected.payload}


def document_payload(name: str, size: int, head: bytes) -> dict[str, Any]:
    text = head[:DOCUMENT_HEAD_BYTES].decode("utf-8", errors="replace")
    return {"document": {"name": name, "size": size, "head": text}}


def payload_hash(source: str, raw: dict[str, Any]) -> str:
    text = json.dumps([source, raw], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def dumpable(raw: dict[str, Any]) -> dict[str, Any]:
    """Plain JSON types: parsers promise them, but a stray Decimal must not abort a batch."""
    loaded: dict[str, Any] = json.loads(json.dumps(raw, default=str))
    return loaded
