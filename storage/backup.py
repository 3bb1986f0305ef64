"""`incident-bot db backup FILE`: a consistent copy of a live database.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies pages through SQLite itself,
so what is committed but still in the ``-wal`` file is in the copy, and writers may keep going.
Copying ``incident-bot.db`` alone loses everything not yet checkpointed. PostgreSQL: ``pg_dump -Fc``
(one snapshot, writers keep going), which the image ships; the password goes to it as
``PGPASSWORD``, never on its command line.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from storage.urls import libpq_url, normalise_url


class BackupError(Exception):
    """Why no backup was written: one human line."""


def sqlite_path(database_url: str) -> Path | None:
    url = make_url(normalise_url(database_url))
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise BackupError("DATABASE_URL is an in-memory SQLite database: nothing to back up")
    return Path(url.database)


def backup_sqlite(source: Path, target: Path, pages_per_step: int = 1024) -> int:
    """Copy ``source`` to ``target`` (which must not exist) online; returns the copy's size in bytes."""
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    _new_file(target)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=pages_per_step)
            # The copy is a single self-contained file: no -wal beside it to lose.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        target.unlink(missing_ok=True)
        raise BackupError(f"backup failed: {exc}") from exc
    finally:
        src.close()
    return target.stat().st_size


def _new_file(target: Path) -> None:
    if target.exists():
        raise BackupError(f"{target} already exists; choose a new file name")
    if not target.parent.is_dir():
        raise BackupError(f"no folder {target.parent}")


def backup_postgresql(database_url: str, target: Path) -> int:
    """``pg_dump --format=custom`` of the database into ``target`` (which must not exist); returns
    the dump's size in bytes. A failed dump leaves no file behind."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError(
            "pg_dump not found: install the PostgreSQL client (as new as the server), or run "
            "`incident-bot db backup` in the incident-bot image; nothing was backed up"
        )
    _new_file(target)
    url = make_url(libpq_url(database_url))
    password = url.password
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = str(password)
    partial = target.with_name(f"{target.name}.partial")
    command = [
        pg_dump,
        "--format=custom",
        f"--dbname={url._replace(password=None).render_as_string(hide_password=False)}",
        f"--file={partial}",
    ]
    try:
        run = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise BackupError(f"pg_dump could not run: {exc}") from exc
    if run.returncode != 0:
        partial.unlink(missing_ok=True)
        lines = [line.removeprefix("pg_dump: ") for line in run.stderr.splitlines() if line.strip()]
        reason = "; ".join(line for line in lines if line.startswith(("error:", "detail:"))) or "; ".join(
            lines
        )
        if password:
            reason = reason.replace(str(password), "[redacted]")
        raise BackupError(f"pg_dump failed (exit {run.returncode}): {reason or 'no message'}")
    partial.replace(target)
    return target.stat().st_size
