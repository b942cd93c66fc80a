"""Password hashing off the event loop, and the strength check."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading

from aiqleads.auth import passwords


async def test_a_verification_runs_in_the_pool_while_the_loop_keeps_serving() -> None:
    # Given a ticker on the event loop and a hash stored at the production cost (the suite
    # hashes at the cheapest, which would leave the loop nothing to wait for)
    passwords.configure_hasher("rfc9106")
    try:
        stored = await passwords.hash_password_async("correct horse battery")
    finally:
        passwords.configure_hasher("cheapest")
    ticks = 0
    threads: list[str] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0)

    def checking(password_hash: str | None, password: str) -> bool:
        threads.append(threading.current_thread().name)
        return passwords.verify_password(password_hash, password)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = ticks
    # When eight verifications run at once
    loop = asyncio.get_running_loop()
    pool = passwords._executor()
    results = await asyncio.gather(
        *(loop.run_in_executor(pool, checking, stored, "correct horse battery") for _ in range(4)),
        *(passwords.verify_password_async(stored, "wrong") for _ in range(4)),
    )
    stop.set()
    await task
    # Then each answered rightly, in the hashing pool's threads, and the loop ran meanwhile
    assert results == [True] * 4 + [False] * 4
    assert threads and all(t.startswith(passwords.THREAD_NAME_PREFIX) for t in threads)
    assert ticks > before


def test_a_missing_hash_is_checked_against_the_dummy_and_fails() -> None:
    assert passwords.verify_password(None, "anything at all") is False
    assert passwords.verify_password("not-a-hash", "anything at all") is False


def test_weakness_names_the_reason_and_passes_strong_phrases() -> None:
    assert passwords.weakness("short", min_score=3, user_inputs=[]) is not None
    assert "spaces" in (passwords.weakness(" padded phrase ok ", min_score=3, user_inputs=[]) or "")
    common = passwords.weakness("password1234", min_score=3, user_inputs=[])
    assert common is not None and "common" in common
    assert passwords.weakness("correct horse battery", min_score=3, user_inputs=[]) is None
    # The e-mail's parts count as known words
    assert passwords.weakness("smithersjane", min_score=3, user_inputs=["jane", "smithers"])


def test_a_hash_is_checked_at_the_cost_it_was_made_with() -> None:
    # Given a hash made at the production cost, and the hasher then set to the tests' cost
    passwords.configure_hasher("rfc9106")
    try:
        strong = passwords.hash_password("correct horse battery")
    finally:
        passwords.configure_hasher("cheapest")
    cheap = passwords.hash_password("correct horse battery")
    # Then each carries its own parameters and both still verify
    assert strong.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert cheap.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert passwords.verify_password(strong, "correct horse battery")
    assert passwords.verify_password(cheap, "correct horse battery")
    assert not passwords.verify_password(strong, "wrong")


def test_a_long_password_is_judged_not_refused_by_zxcvbn() -> None:
    # Given a strong password longer than zxcvbn's own limit (72 characters)
    password = "violet tractor umbrella " * 8
    # When its strength is judged / Then it is strong, and nothing raises
    assert passwords.weakness(password.strip(), min_score=3, user_inputs=[]) is None


def test_the_dummy_hash_follows_the_cost() -> None:
    # An unknown account's check costs what a real one does only if the dummy it verifies
    # against was made at the cost real hashes are made at
    passwords.configure_hasher("rfc9106")
    try:
        strong = passwords.dummy_hash()
    finally:
        passwords.configure_hasher("cheapest")
    assert strong.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert passwords.dummy_hash().startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert passwords.dummy_hash() == passwords.dummy_hash()  # made once per cost


def test_importing_the_hasher_hashes_nothing() -> None:
    # A command-line start pays no hash (130 ms at the production cost) for a dummy it may
    # never use: a fresh interpreter imports the module and finds no dummy made
    code = "from aiqleads.auth import passwords; print(passwords._dummy_hash)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "None"
