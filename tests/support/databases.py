"""Throw-away databases for tests, made cheaply: SQLite files, or PostgreSQL databases.

A test whose bot migrates its database at start begins from a copy of a template this process
migrated once with the bot's own `upgrade` (the copy is what that start would have produced; the
bot still runs its migration step and schema check on it). Every other test gets an empty database.
PostgreSQL databases are dropped off the test's path, DROP_BATCH at a time side by side, and the
drops are awaited (and their failures reported) when the session ends. Side by side because each
`DROP DATABASE` waits for a checkpoint (fsync: 1.5–3 s on a busy machine) and the server serves
the drops waiting at once with one: one at a time, a worker's drops fell minutes behind its tests
and the session's end waited for them.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from bot.ops.build import VERSION
from storage.db import make_engine
from storage.migrate import upgrade

DROP_BATCH = 8  # databases dropped together (one checkpoint between them; disk held meanwhile: ~8 MB each)


def _migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine, VERSION)
    finally:
        engine.dispose()


class SqliteTemplate:
    """One migrated SQLite file per process, copied for each test that wants it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._file: Path | None = None

    def copy_to(self, target: Path) -> None:
        with self._lock:
            if self._file is None:
                folder = Path(tempfile.mkdtemp(prefix="ib-template-"))
                _migrate(f"sqlite:///{folder / 'template.db'}")
                self._file = folder / "template.db"
        shutil.copyfile(self._file, target)

    def close(self) -> None:
        if self._file is not None:
            shutil.rmtree(self._file.parent, ignore_errors=True)


class PostgresDatabases:
    """CREATE DATABASE per test (empty, or from this process's migrated template); DROP in the
    background, in batches."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self._admin: Engine | None = None
        self._lock = threading.Lock()
        self._template: str | None = None
        self._drops = ThreadPoolExecutor(max_workers=DROP_BATCH, thread_name_prefix="drop-database")
        self._queue_lock = threading.Lock()
        self._queued: list[str] = []
        self._pending: list[tuple[str, Future[None]]] = []

    @property
    def admin(self) -> Engine:
        if self._admin is None:
            self._admin = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        return self._admin

    def url(self, name: str) -> str:
        return make_url(self.server_url).set(database=name).render_as_string(hide_password=False)

    def _create(self, name: str, template: str | None = None) -> None:
        clause = f' TEMPLATE "{template}"' if template else ""
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))

    def create(self, migrated: bool = False) -> str:
        name = f"ib_test_{uuid.uuid4().hex[:12]}"
        template = self.template() if migrated else None
        self._create(name, template)
        return name

    def template(self) -> str:
        with self._lock:
            if self._template is None:
                name = f"ib_template_{uuid.uuid4().hex[:12]}"
                self._create(name)
                _migrate(self.url(name))
                self._template = name
            return self._template

    def drop_later(self, name: str) -> None:
        """Close ``name`` now (no new connection, the open ones ended: a finished test's pools and
        lingering threads would otherwise hold the server's connection slots until the drop), then
        queue it; every DROP_BATCH queued are dropped together."""
        with self.admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
        with self._queue_lock:
            self._queued.append(name)
            if len(self._queued) < DROP_BATCH:
                return
            batch, self._queued = self._queued, []
        self._drop_all(batch)

    def _drop_all(self, names: list[str]) -> None:
        self._pending.extend((name, self._drops.submit(self._drop, name)) for name in names)

    def _drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> list[str]:
        """Wait for the drops (and drop the template); the problems, one line each."""
        with self._queue_lock:
            batch, self._queued = self._queued, []
        # the template last: the copies' CREATE DATABASE … TEMPLATE are all done by now
        self._drop_all(batch + ([self._template] if self._template is not None else []))
        self._drops.shutdown(wait=True)
        problems = [
            f"could not drop database {name}: {f.exception()}" for name, f in self._pending if f.exception()
        ]
        if self._admin is not None:
            self._admin.dispose()
        return problems
