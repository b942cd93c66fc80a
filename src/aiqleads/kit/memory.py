"""Give freed heap memory back to the operating system (glibc's malloc_trim).

A long bulk load frees as much as it allocates, batch after batch, but glibc keeps freed pages
in its arenas (one per thread: the SQLite driver's thread has its own), so the process's
resident size creeps up with the input. Trimming after each batch keeps it flat. Elsewhere than
on glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache
from typing import Any


@cache
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def release_free_memory() -> None:
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
