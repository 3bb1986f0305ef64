"""`incident-bot db backup FILE`: a consistent copy of a live database.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies pages through SQLite itself,
so what is committed but still in the ``-wal`` file is in the copy, and writers may keep going.
Copying ``incident-bot.db`` alone loses everything not yet checkpointed. PostgreSQL: ``pg_dump``
does this job; the command to run is returned, not run (the image has no PostgreSQL client).
"""

from __future__ import annotations

import shlex
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from storage.db import libpq_url, normalise_url


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
    if target.exists():
        raise BackupError(f"{target} already exists; choose a new file name")
    if not target.parent.is_dir():
        raise BackupError(f"no folder {target.parent}")
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


def pg_dump_command(database_url: str, target: str) -> str:
    """The pg_dump line for this database, with the password left out (give it as PGPASSWORD)."""
    url = make_url(libpq_url(database_url))
    shown = url._replace(password=None).render_as_string(hide_password=False)
    return f"pg_dump --format=custom --no-owner --dbname={shlex.quote(shown)} --file={shlex.quote(target)}"
