"""What the quarantine keeps of a record or document, and how a record is rebuilt from it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime
from typing import Any

from aiqleads.ingestion.records import RawContact, RawRecord, Rejected
from aiqleads.kit.crypto import FieldCipher

_RAW_FIELDS = {f.name for f in dataclasses.fields(RawRecord)}
DOCUMENT_HEAD_BYTES = 512


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


SEALED = "sealed"


def seal(cipher: FieldCipher, raw: dict[str, Any]) -> dict[str, Any]:
    """`raw` as the quarantine stores it: {"sealed": "<key_id>:<Fernet token>"} of its JSON.
    A quarantined record holds the owner's name, phone and e-mail as the source gave them, so
    it is encrypted with the contacts' key ring (DESIGN.md section 2)."""
    return {SEALED: cipher.encrypt(json.dumps(raw, sort_keys=True, default=str))}


def unseal(cipher: FieldCipher, stored: dict[str, Any]) -> dict[str, Any]:
    """The payload `seal` stored; a row stored before payloads were sealed comes back as it is.
    Raises KeyringError when its key is not configured."""
    sealed = stored.get(SEALED) if isinstance(stored, dict) else None
    if not isinstance(sealed, str) or len(stored) != 1:
        return stored
    value = json.loads(cipher.decrypt(sealed) or "{}")
    return value if isinstance(value, dict) else {}


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
