"""Whole-database backup and restore (`aiqleads db backup PATH`, `aiqleads db restore PATH`).

SQLite: the online backup API (`sqlite3.Connection.backup`, https://sqlite.org/backup.html)
copies the database page by page while the application keeps running; the copy is a
consistent snapshot and an ordinary SQLite file. Restore copies such a file back the same way
over the live database, so other connections see the restored data at their next transaction.

PostgreSQL: `pg_dump --format=custom` (a consistent snapshot taken in one transaction while
the application runs) and `pg_restore --clean --if-exists --single-transaction` (all or
nothing). The client programs come from Debian's postgresql-client; their major version must be
at least the server's. The password travels in PGPASSWORD, never on the command line.

Restoring replaces everything in the database: stop the API and workers first (a running
process would go on with cached data versions and tier policies).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from aiqleads.config import Settings

_PAGES_PER_STEP = 1024  # SQLite backup steps: other connections may write between them


class BackupError(RuntimeError):
    """A backup or restore could not be made; the message says why (never a password)."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    bytes: int
    kind: str  # "sqlite" (a database file) or "pg_dump" (pg_dump's custom format)


def backup(settings: Settings, path: Path) -> BackupResult:
    """Write a consistent copy of the configured database to `path` (replaced if it exists).

    Raises BackupError: an in-memory SQLite database, a missing pg_dump, or its failure."""
    if settings.is_sqlite:
        source = _sqlite_file(settings)
        if not source.exists():
            raise BackupError(f"no SQLite database at {source}")
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.unlink(missing_ok=True)
        _sqlite_copy(source, partial)
        partial.replace(path)  # a crash never leaves a half-written file under PATH
        return BackupResult(path, path.stat().st_size, "sqlite")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    _pg(settings, "pg_dump", ["--format=custom", "--no-owner", f"--file={partial}"])
    partial.replace(path)
    return BackupResult(path, path.stat().st_size, "pg_dump")


def restore(settings: Settings, path: Path) -> BackupResult:
    """Replace the configured database's content with the backup at `path`.

    Raises BackupError: no such file, a file of the other database's kind, or the restore
    program's failure (PostgreSQL: nothing is changed then, it runs in one transaction)."""
    if not path.is_file():
        raise BackupError(f"no backup file at {path}")
    with path.open("rb") as f:
        head = f.read(16)
    if settings.is_sqlite:
        if head != b"SQLite format 3\x00":
            raise BackupError(f"{path} is not a SQLite database (made by `db backup` on SQLite?)")
        target = _sqlite_file(settings)
        target.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(path, target)
        return BackupResult(path, path.stat().st_size, "sqlite")
    if not head.startswith(b"PGDMP"):
        raise BackupError(f"{path} is not a pg_dump archive (made by `db backup` on PostgreSQL?)")
    _pg(
        settings,
        "pg_restore",
        [
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            str(path),
        ],
    )
    return BackupResult(path, path.stat().st_size, "pg_dump")


def _sqlite_file(settings: Settings) -> Path:
    file = settings.sqlite_path()
    if file is None:
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return file


def _sqlite_copy(source: Path, target: Path) -> None:
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst, pages=_PAGES_PER_STEP)
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite backup failed: {exc}") from exc
    finally:
        dst.close()
        src.close()


def _pg(settings: Settings, program: str, args: list[str]) -> None:
    exe = shutil.which(program)
    if exe is None:
        raise BackupError(f"{program} not found: install PostgreSQL's client programs")
    url = make_url(settings.database_url)
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    conn = [f"--dbname={url.database or ''}"]
    if url.host:
        conn.append(f"--host={url.host}")
    if url.port:
        conn.append(f"--port={url.port}")
    if url.username:
        conn.append(f"--username={url.username}")
    done = subprocess.run(  # noqa: S603 (a fixed program, arguments from our settings)
        [exe, *conn, "--no-password", *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{program} failed: {' / '.join(message[-3:]) or done.returncode}")
