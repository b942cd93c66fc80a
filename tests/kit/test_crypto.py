from __future__ import annotations

import pytest

from aiqleads.kit.crypto import FieldCipher, KeyringError, blind_index, generate_key


def test_round_trip_names_the_key_and_hides_the_plaintext() -> None:
    cipher = FieldCipher(generate_key("k1"))
    stored = cipher.encrypt("+12065550123")
    assert stored is not None and stored.startswith("k1:")
    assert "5550123" not in stored
    assert cipher.decrypt(stored) == "+12065550123"
    assert cipher.encrypt(None) is None and cipher.decrypt(None) is None


def test_rotation_new_key_encrypts_old_values_still_decrypt() -> None:
    old_key, new_key = generate_key("old"), generate_key("new")
    before = FieldCipher(old_key).encrypt("Pat Owner")
    rotated = FieldCipher(f"{new_key},{old_key}")
    assert rotated.primary_key_id == "new"
    assert rotated.decrypt(before) == "Pat Owner"
    assert rotated.key_id_of(rotated.encrypt("x") or "") == "new"
    with pytest.raises(KeyringError, match="no configured key"):
        FieldCipher(new_key).decrypt(before)


def test_tampered_or_foreign_values_fail_loudly() -> None:
    cipher = FieldCipher(generate_key("k1"))
    stored = cipher.encrypt("secret") or ""
    with pytest.raises(KeyringError):
        cipher.decrypt(stored[:-4] + "AAAA")
    with pytest.raises(KeyringError):
        FieldCipher(generate_key("k1")).decrypt(stored)  # same id, other key material


@pytest.mark.parametrize(
    "spec",
    ["", "nokey", "k1:not-base64", f"{generate_key('a')},{generate_key('a')}"],
    # Named, not shown: a random key in a test id differs between pytest-xdist's workers.
    ids=["empty", "no key", "bad base64", "one id twice"],
)
def test_bad_keyrings_are_refused(spec: str) -> None:
    with pytest.raises(KeyringError):
        FieldCipher(spec)


def test_blind_index_is_keyed_and_stable() -> None:
    assert blind_index("s1", "+12065550123") == blind_index("s1", "+12065550123")
    assert blind_index("s1", "+12065550123") != blind_index("s2", "+12065550123")
