"""This process's id without a system call each time it is asked.

The access log writes it in every line and prometheus_client's multiprocess values check it on
every update (to notice a fork); `os.getpid` is a system call each time. The id is read once
at import and again in the child after a fork, the only way it can change.
"""

from __future__ import annotations

import os

_pid = os.getpid()


def _after_fork() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_after_fork)


def current_pid() -> int:
    """This process's id (an int), as `os.getpid()` would answer it."""
    return _pid
