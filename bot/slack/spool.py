"""This replica's spool: Events API deliveries on local disk, written (fsync'd) before they are acked.

One SQLite file per process (WAL, ``synchronous=FULL``: a commit is on disk when it returns), named
``spool-<n>.sqlite3`` in the spool folder and held with an exclusive ``flock`` on ``spool-<n>.lock``
for the life of the process, so two processes never share one. A process takes the lowest free
slot, so a restarted replica finds the deliveries its predecessor left; the rows of any other slot
whose lock it can take (a replica that died and did not come back) are moved into its own.

A row is deleted once its delivery's work is done (that delete need not be durable: a row replayed
twice is absorbed by the delivery claims). The spool is bounded by rows and body bytes; past
either, ``append`` refuses (``SpoolFull``), and a disk that cannot be written refuses too
(``SpoolUnwritable``): the delivery is then not acknowledged, so Slack delivers it again.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at REAL NOT NULL,
    transport TEXT NOT NULL,
    event_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
)
"""
MAX_SLOTS = 1000


class SpoolError(Exception):
    """The spool cannot be opened: one human line (a start-up error)."""


class SpoolRefused(Exception):
    """A delivery the spool cannot take now; ``str()`` says why, for logs and /readyz."""


class SpoolFull(SpoolRefused):
    pass


class SpoolUnwritable(SpoolRefused):
    pass


@dataclass
class _Append:
    transport: str
    event_id: str
    body: str
    row: int | None = None
    error: SpoolRefused | None = None
    done: bool = False


@dataclass(frozen=True)
class Spooled:
    id: int
    transport: str
    event_id: str
    body: str
    received_at: float
    attempts: int


class Spool:
    def __init__(self, folder: Path, max_deliveries: int, max_bytes: int) -> None:
        self.folder = folder
        self.max_deliveries = max_deliveries
        self.max_bytes = max_bytes
        self._lock = threading.Lock()  # the connection and the counts
        self._batch = threading.Condition()  # appends waiting for the next group commit
        self._waiting: list[_Append] = []
        self._writing = False
        self._problem: str | None = None  # the last append's failure, until one succeeds
        self._closed = False
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self.slot, self._lock_fd = _take_free_slot(folder)
            self.path = folder / f"spool-{self.slot}.sqlite3"
            self._db = _connect(self.path)
        except (OSError, sqlite3.Error) as exc:
            raise SpoolError(f"spool folder {folder}: {_why(exc)}") from exc
        self.adopted = self._adopt_orphans()
        self._count, self._bytes = self._db.execute(
            "SELECT count(*), coalesce(sum(length(body)), 0) FROM deliveries"
        ).fetchone()

    # ------------------------------------------------------------------ writing
    def append(self, transport: str, event_id: str, body: str) -> int | None:
        """Store a delivery durably; its row id, or None when that event is already waiting here.

        Group commit: appends that arrive while one is being written wait, then go to disk together
        in one transaction (one fsync) written by the first of them, so concurrent deliveries share
        the cost of the fsync instead of queueing for one each."""
        entry = _Append(transport, event_id, body)
        with self._batch:
            self._waiting.append(entry)
            while not entry.done:
                if self._writing:
                    self._batch.wait()
                    continue
                batch, self._waiting, self._writing = self._waiting, [], True
                self._batch.release()
                try:
                    self._write(batch)
                finally:
                    self._batch.acquire()
                    self._writing = False
                    self._batch.notify_all()
        if entry.error is not None:
            raise entry.error
        return entry.row

    def _write(self, batch: list[_Append]) -> None:
        with self._lock:
            try:
                if self._closed:
                    raise SpoolUnwritable("closed")
                added: list[_Append] = []
                count, size = self._count, self._bytes
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    for entry in batch:
                        if count >= self.max_deliveries or size + len(entry.body) > self.max_bytes:
                            entry.error = SpoolFull(self._full_reason())
                            continue
                        cur = self._db.execute(
                            "INSERT OR IGNORE INTO deliveries (received_at, transport, event_id, body) "
                            "VALUES (?, ?, ?, ?)",
                            (time.time(), entry.transport, entry.event_id, entry.body),
                        )
                        if cur.rowcount:
                            entry.row = int(cur.lastrowid or 0)
                            count, size = count + 1, size + len(entry.body)
                            added.append(entry)
                    self._db.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                    raise
            except (OSError, sqlite3.Error, SpoolUnwritable) as exc:
                if not isinstance(exc, SpoolUnwritable):
                    self._problem = f"unwritable ({_why(exc)})"
                for entry in batch:
                    entry.row, entry.error = None, SpoolUnwritable(self._problem or str(exc))
            else:
                self._problem = None
                self._count, self._bytes = count, size
            finally:
                for entry in batch:
                    entry.done = True

    def remove(self, row_id: int) -> None:
        """Forget a delivery whose work is done. Not fsync'd: the next append's commit carries it,
        and a row that comes back after a crash is replayed, which the delivery claims absorb."""
        with self._lock:
            self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                cur = self._db.execute(
                    "DELETE FROM deliveries WHERE id = ? RETURNING length(body)", (row_id,)
                )
                removed = cur.fetchall()
            finally:
                self._db.execute("PRAGMA synchronous=FULL")
            for (size,) in removed:
                self._count -= 1
                self._bytes -= size

    def attempt(self, row_id: int) -> int:
        """Count one more failed replay of a delivery; how many so far."""
        with self._lock:
            row = self._db.execute(
                "UPDATE deliveries SET attempts = attempts + 1 WHERE id = ? RETURNING attempts", (row_id,)
            ).fetchone()
        return int(row[0]) if row else 0

    # ------------------------------------------------------------------ reading
    def pending(self, limit: int = 100, skip: frozenset[int] = frozenset()) -> list[Spooled]:
        """The oldest waiting deliveries, in arrival order, except the ``skip`` ones."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, transport, event_id, body, received_at, attempts FROM deliveries "
                "ORDER BY id LIMIT ?",
                (limit + len(skip),),
            ).fetchall()
        return [Spooled(*row) for row in rows if row[0] not in skip][:limit]

    def depth(self) -> int:
        with self._lock:
            return int(self._count)

    def oldest_age(self) -> float:
        with self._lock:
            if self._closed:
                return 0.0
            (oldest,) = self._db.execute("SELECT min(received_at) FROM deliveries").fetchone()
        return max(0.0, time.time() - oldest) if oldest is not None else 0.0

    def state(self) -> str:
        """ok, or why deliveries are refused now (for /healthz and /readyz)."""
        with self._lock:
            if self._problem is not None:
                return self._problem
            if self._count >= self.max_deliveries or self._bytes >= self.max_bytes:
                return self._full_reason()
        return "ok"

    def _full_reason(self) -> str:
        return (
            f"full ({self._count} deliveries, {self._bytes} bytes; "
            f"limits {self.max_deliveries} deliveries, {self.max_bytes} bytes)"
        )

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)

    # ------------------------------------------------------------------ orphans
    def _adopt_orphans(self) -> int:
        """Move into this spool the rows of every other spool file whose owner is gone."""
        moved = 0
        for path in sorted(self.folder.glob("spool-*.sqlite3")):
            slot = path.name.removeprefix("spool-").removesuffix(".sqlite3")
            if path == self.path or not slot.isdigit():
                continue
            fd = _try_lock(self.folder / f"spool-{slot}.lock")
            if fd is None:
                continue  # a live replica's
            try:
                moved += self._move_rows(path)
            except (OSError, sqlite3.Error) as exc:
                log.error("spool: cannot read the orphaned spool %s (%s); left in place", path, _why(exc))
            finally:
                os.close(fd)
        if moved:
            log.info("spool: took over %d deliveries from the spool of a replica that is gone", moved)
        return moved

    def _move_rows(self, path: Path) -> int:
        other = _connect(path)
        try:
            rows = other.execute(
                "SELECT received_at, transport, event_id, body, attempts FROM deliveries ORDER BY id"
            ).fetchall()
        finally:
            other.close()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT OR IGNORE INTO deliveries (received_at, transport, event_id, body, attempts) "
                    "VALUES (?, ?, ?, ?, ?)",
                    sorted(rows),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{path}{suffix}").unlink()
        return len(rows)


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute(SCHEMA)
    return db


def _take_free_slot(folder: Path) -> tuple[int, int]:
    for slot in itertools.count():
        if slot >= MAX_SLOTS:
            raise SpoolError(f"spool folder {folder}: {MAX_SLOTS} spools are in use")
        fd = _try_lock(folder / f"spool-{slot}.lock")
        if fd is not None:
            return slot, fd
    raise AssertionError("unreachable")


def _try_lock(path: Path) -> int | None:
    """An exclusive lock on ``path`` (created if missing) as an open descriptor; None if held.
    Lock files are never deleted: a new file of the same name would not share the old one's lock."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}"[:200]
