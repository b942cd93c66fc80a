"""Field encryption with key ids, so keys can rotate.

A stored value is "<key_id>:<Fernet token>". The first configured key encrypts; any configured key
decrypts the values that name it. Rotation: put the new key first, keep the old one until
`aiqleads keys rotate` (or a re-save) has rewritten the old values.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken


class KeyringError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class _Key:
    key_id: str
    fernet: Fernet


class FieldCipher:
    def __init__(self, spec: str) -> None:
        self._keys: dict[str, _Key] = {}
        self._order: list[str] = []
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            key_id, sep, material = part.partition(":")
            if not sep or not key_id or not material:
                raise KeyringError("each encryption key must look like 'key_id:base64key'")
            if key_id in self._keys:
                raise KeyringError(f"encryption key id {key_id!r} is given twice")
            try:
                fernet = Fernet(material.encode())
            except ValueError as exc:
                raise KeyringError(f"encryption key {key_id!r} is not a Fernet key") from exc
            self._keys[key_id] = _Key(key_id, fernet)
            self._order.append(key_id)
        if not self._order:
            raise KeyringError("at least one encryption key is needed")

    @property
    def primary_key_id(self) -> str:
        return self._order[0]

    def encrypt(self, plaintext: str | None) -> str | None:
        if plaintext is None:
            return None
        key = self._keys[self.primary_key_id]
        return f"{key.key_id}:{key.fernet.encrypt(plaintext.encode()).decode()}"

    def decrypt(self, stored: str | None) -> str | None:
        if stored is None:
            return None
        key_id, _, token = stored.partition(":")
        key = self._keys.get(key_id)
        if key is None:
            raise KeyringError(f"no configured key with id {key_id!r}")
        try:
            return key.fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise KeyringError(f"value does not decrypt with key {key_id!r}") from exc

    def key_id_of(self, stored: str) -> str:
        return stored.partition(":")[0]


def blind_index(secret: str, value: str) -> str:
    """A keyed hash that lets equal values be matched without storing them in clear."""
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def generate_key(key_id: str) -> str:
    return f"{key_id}:{Fernet.generate_key().decode()}"
