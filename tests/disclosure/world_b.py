"""World B of the invariance test (`test_invariance`), built and asked in a process of its own.

World B shares nothing with world A but the public ids it takes from it: its own database,
application, cache namespace and event loop. So it is built and asked while world A is asked,
in a child process (`python -m tests.disclosure.world_b FOLDER`), rather than after it: the
two worlds' questions no longer wait on each other, and the child, like the servers and commands
other tests start, runs outside the coverage tracer (which would measure the same code world A
already runs). The child asks exactly what the test process asked before, through the same
functions, and hands the answers back as they are, bytes for bytes.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import Backend
from tests.disclosure.answers import Answers, ask, everyone
from tests.disclosure.conftest import analyze, another_database, migrated, world_on
from tests.disclosure.table import LEAD, Entry, table
from tests.disclosure.world import RENUMBERED, align_public_ids, take_holds

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TARGET = f"{LEAD} B"  # the admin's view of world B's target, among the admin's answers


@dataclass(frozen=True)
class Spec:
    """What world B takes from world A: the backend, where to put its database, the public ids
    by (source, source_ref), the named leads, and world A's own target id (to check that world
    B's ids were random before they were aligned)."""

    backend: tuple[str, str, str | None]  # Backend's fields, rebuilt in the child
    path: str
    ids: dict[tuple[str, str], uuid.UUID]
    named: dict[str, uuid.UUID]
    a_target_id: uuid.UUID


async def renumbered(spec: Spec) -> dict[str, Answers]:
    """World B's answers: every principal's to the table, and the admin's view of its target."""
    backend = Backend(*spec.backend)
    entries = table(spec.named)
    async with (
        another_database(backend, spec.path) as settings_b,
        migrated(settings_b) as engine_b,
        world_on(engine_b, settings_b, target=RENUMBERED) as b,
    ):
        assert b.target_id != spec.a_target_id  # random, before they are aligned
        await align_public_ids(b.sessions, spec.ids)
        b.named = spec.named
        await take_holds(b)
        await analyze(b.sessions)
        answers = await everyone(b, entries)
        answers["admin"][ADMIN_TARGET] = await ask(
            b.client, b.headers["admin"], Entry(LEAD, lead="target"), spec.named
        )
    return answers


# The two processes hand each other Python values (ids, bytes) in files of the test's own
# temporary folder: pickle keeps them exactly, and nothing else writes there.


@dataclass
class Child:
    """World B's process, started."""

    proc: asyncio.subprocess.Process
    folder: Path

    async def answers(self) -> dict[str, Answers]:
        """Its answers, once it has asked everything (the test's loop runs meanwhile)."""
        await self.proc.wait()
        assert self.proc.returncode == 0, (self.folder / "b.log").read_text()[-5000:]
        found = (self.folder / "out.pickle").read_bytes()
        answers: dict[str, Answers] = pickle.loads(found)  # noqa: S301
        return answers


@asynccontextmanager
async def started(spec: Spec, folder: Path) -> AsyncIterator[Child]:
    """World B's child process, killed if the caller leaves before its answers (a failure in
    world A)."""
    (folder / "spec.pickle").write_bytes(pickle.dumps(vars(spec)))
    # Warnings are errors, as in the test process (pyproject's filterwarnings).
    args = ["-W", "error", "-m", "tests.disclosure.world_b", str(folder)]
    with (folder / "b.log").open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, *args, cwd=ROOT, env=dict(os.environ), stdout=log, stderr=log
        )
    try:
        yield Child(proc, folder)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def main(folder: Path) -> None:
    spec = Spec(**pickle.loads((folder / "spec.pickle").read_bytes()))  # noqa: S301
    (folder / "out.pickle").write_bytes(pickle.dumps(asyncio.run(renumbered(spec))))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
