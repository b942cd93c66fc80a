"""Password hashing with argon2id, off the event loop, and a strength check with zxcvbn.

argon2id costs about 50 ms of CPU and 64 MiB per hash (argon2-cffi's defaults, RFC 9106's
second recommended option): run on the event loop, a few wrong passwords a second stall every
other request. Hashes and checks run in a small thread pool instead (argon2-cffi releases the
GIL while it hashes), so the loop keeps serving and at most `AIQ_LOGIN__HASH_THREADS` hashes
run at once per process; the rest wait their turn without holding the loop.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from aiqleads.observability.metrics import PASSWORD_CHECKS

_COSTS = {"rfc9106": profiles.RFC_9106_LOW_MEMORY, "cheapest": profiles.CHEAPEST}
_DUMMY_PASSWORD = "not-a-real-password-only-for-timing"  # noqa: S105 (never an account's)
_hasher = PasswordHasher.from_parameters(_COSTS["rfc9106"])
# Verified against when there is no account to check, so every attempt does the same work.
# Made on first need (`dummy_hash`), not at import: one hash is 130 ms of CPU that every
# command-line start and every process that never checks a password would pay.
_dummy_hash: str | None = None

MIN_PASSWORD_LENGTH = 10
# zxcvbn's time grows with the length; its authors check a prefix of long passwords. A
# password this long that is weak in its first 100 characters is weak.
_ZXCVBN_MAX_CHARS = 100
THREAD_NAME_PREFIX = "aiq-argon2"

_pool: ThreadPoolExecutor | None = None
_pool_size = 1
_pool_lock = threading.Lock()


def configure_pool(threads: int) -> None:
    """Size the hashing pool (`AIQ_LOGIN__HASH_THREADS`); takes effect for the next pool made
    (the running one, if any, is let finish its work)."""
    global _pool, _pool_size
    with _pool_lock:
        if threads != _pool_size and _pool is not None:
            _pool.shutdown(wait=False)
            _pool = None
        _pool_size = threads


def configure_hasher(cost: Literal["rfc9106", "cheapest"]) -> None:
    """Hash new passwords at `cost` (`AIQ_LOGIN__HASH_COST`; Settings refuses "cheapest" outside
    tests). Stored hashes are checked with the parameters written in them, whatever the cost."""
    global _hasher, _dummy_hash
    parameters = _COSTS[cost]
    if _hasher.memory_cost != parameters.memory_cost or _hasher.time_cost != parameters.time_cost:
        _hasher = PasswordHasher.from_parameters(parameters)
        _dummy_hash = None


def dummy_hash() -> str:
    """The hash of no account, at the current cost, made on the first call. The server makes
    it as it starts (`create_app`), so its first sign-in for an unknown account costs what any
    other does. Blocks one hash's time on that first call."""
    global _dummy_hash
    if _dummy_hash is None:
        # Two threads racing here both hash, and either result serves: no lock needed.
        _dummy_hash = _hasher.hash(_DUMMY_PASSWORD)
    return _dummy_hash


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_pool_size, thread_name_prefix=THREAD_NAME_PREFIX)
        return _pool


def hash_password(password: str) -> str:
    """argon2id hash in PHC string form ("$argon2id$v=19$m=65536,t=3,p=4$…"). Blocks ~50 ms:
    from async code use `hash_password_async`."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches `password_hash`; with None, checks against a dummy hash (the
    same work) and answers False. Blocks ~50 ms: from async code use `verify_password_async`."""
    PASSWORD_CHECKS.inc()
    try:
        return _hasher.verify(password_hash or dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def hash_password_async(password: str) -> str:
    """`hash_password` in the hashing pool."""
    return await asyncio.get_running_loop().run_in_executor(_executor(), hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    """`verify_password` in the hashing pool."""
    return await asyncio.get_running_loop().run_in_executor(
        _executor(), verify_password, password_hash, password
    )


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def weakness(password: str, *, min_score: int, user_inputs: list[str]) -> str | None:
    """Why `password` is too weak, or None when it is strong enough.

    Length first (at least MIN_PASSWORD_LENGTH characters, no leading or trailing space), then
    zxcvbn (Wheeler, "zxcvbn: Low-Budget Password Strength Estimation", USENIX Security 2016):
    its offline lists of common passwords, names and words, keyboard walks, dates and
    repetitions give a score from 0 to 4; under `min_score` the answer is its warning.
    `user_inputs` (the e-mail and its parts) count as guessable words. CPU-bound (up to a few
    ms): async callers run it in a thread."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    if password.strip() != password or not password.strip():
        return "must not start or end with spaces"
    # Imported on the first check (~30 ms of CPU): its word lists hold ~12 MB that a process
    # which never sets a password (one serving the catalog) need not carry.
    from zxcvbn import zxcvbn

    # zxcvbn refuses (ValueError) a password over its own max_length, 72 by default.
    result = zxcvbn(
        password[:_ZXCVBN_MAX_CHARS], user_inputs=user_inputs, max_length=_ZXCVBN_MAX_CHARS
    )
    if int(result["score"]) >= min_score:
        return None
    feedback = result.get("feedback") or {}
    warning = str(feedback.get("warning") or "").rstrip(".")
    reason = warning or "it is easy to guess"
    return f"is too easy to guess ({reason}); use a longer phrase of uncommon words"
