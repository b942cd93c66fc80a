"""`aiqleads keys rotate`: every encrypted value rewritten under the key ring's first key.

Encrypted at rest (DESIGN.md section 2): leads' owner contact (`owner_name_enc`,
`owner_phone_enc`, `owner_email_enc`, `contacts_enc`), the quarantine's payloads (`raw`,
sealed; a payload stored before sealing is sealed now) and webhook endpoints' signing secrets.
Each stored value names its key id, so a value already under the first key is left alone:
the work is done in batches, each committed on its own, and a rotation stopped half-way (a
crash, a deploy) is finished by running it again. Once it reports nothing left under other
keys, the old keys can leave AIQ_ENCRYPTION_KEYS.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.db.engine import transaction
from aiqleads.db.reencrypt import Page
from aiqleads.ingestion import repository as ingestion
from aiqleads.ingestion.payloads import SEALED, seal, unseal
from aiqleads.kit.crypto import FieldCipher
from aiqleads.leads import writes
from aiqleads.webhooks import repository as webhooks


class _Pager(Protocol):
    def __call__(
        self,
        session: AsyncSession,
        transform: Callable[[Any], Any],
        /,
        *,
        after_id: int,
        limit: int,
    ) -> Awaitable[Page]: ...


@dataclass
class RotationReport:
    """Per table: rows read and rows rewritten."""

    read: dict[str, int] = field(default_factory=dict)
    rewritten: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"read": dict(self.read), "rewritten": dict(self.rewritten)}


def _value_rotator(cipher: FieldCipher) -> Callable[[Any], Any]:
    primary = cipher.primary_key_id

    def rotate(stored: Any) -> Any:
        if stored is None or cipher.key_id_of(stored) == primary:
            return stored
        return cipher.encrypt(cipher.decrypt(stored))

    return rotate


def _payload_rotator(cipher: FieldCipher) -> Callable[[Any], Any]:
    primary = cipher.primary_key_id

    def rotate(stored: Any) -> Any:
        sealed = stored.get(SEALED) if isinstance(stored, dict) else None
        if isinstance(sealed, str) and cipher.key_id_of(sealed) == primary:
            return stored
        return seal(cipher, unseal(cipher, stored))

    return rotate


async def rotate(
    sessions: async_sessionmaker[AsyncSession],
    cipher: FieldCipher,
    *,
    batch_size: int = 500,
    on_batch: Callable[[str, Page], None] | None = None,
) -> RotationReport:
    """Rewrite every encrypted value not under `cipher`'s first key, `batch_size` rows per
    committed transaction; `on_batch(table, page)` after each commit. Raises KeyringError when
    a value names a key the ring lacks (nothing after that batch is written; fix the ring and
    run again)."""
    values, payloads = _value_rotator(cipher), _payload_rotator(cipher)
    steps: list[tuple[str, _Pager, Callable[[Any], Any]]] = [
        ("leads", writes.reencrypt_contacts, values),
        ("quarantine", ingestion.reseal_quarantine, payloads),
        ("webhook_endpoints", webhooks.reencrypt_secrets, values),
    ]
    report = RotationReport()
    for name, pager, transform in steps:
        after = 0
        report.read[name] = report.rewritten[name] = 0
        while True:
            async with transaction(sessions) as session:
                page = await pager(session, transform, after_id=after, limit=batch_size)
            if page.last_id is None:
                break
            report.read[name] += page.rows
            report.rewritten[name] += page.changed
            after = page.last_id
            if on_batch is not None:
                on_batch(name, page)
    return report
