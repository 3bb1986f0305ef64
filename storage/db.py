"""Engine and sessions. SQLite gets WAL and a busy timeout; PostgreSQL a connect timeout."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from weakref import WeakKeyDictionary

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlmodel import Session, create_engine

from storage.urls import normalise_url

SQLITE_BUSY_TIMEOUT_MS = 15_000
CONNECT_TIMEOUT_S = 5
PING_IDLE_AFTER_S = 1.0
_SQLITE_LOCKS: WeakKeyDictionary[Engine, AbstractContextManager[bool]] = WeakKeyDictionary()


def make_engine(database_url: str) -> Engine:
    database_url = normalise_url(database_url)
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(
            database_url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # isolation_level=None lets us issue BEGIN IMMEDIATE ourselves: writers queue on the
            # busy timeout instead of failing with "database is locked" on lock upgrade.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        _SQLITE_LOCKS[engine] = threading.RLock()
        return engine
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_S} if url.get_backend_name() == "postgresql" else {}
    engine = create_engine(database_url, pool_size=10, max_overflow=20, connect_args=connect_args)
    _ping_idle_connections(engine)
    return engine


def _ping_idle_connections(engine: Engine) -> None:
    """Ping a pooled connection before use only if it sat idle (SQLAlchemy's pool_pre_ping pings
    on every checkout: a round trip to the database per unit of work, 3-5 per Slack event).

    A connection used within the last second is known good; one that broke while busy fails its
    unit of work, and SQLAlchemy then invalidates the whole pool, so the next one reconnects.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn, record, _proxy):
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_IDLE_AFTER_S:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError("pooled connection failed its ping") from exc  # the pool retries


def ping(engine: Engine) -> None:
    """Raise if the database cannot answer a trivial query."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on error.

    On SQLite, units of work in one process take turns on a lock: SQLite has one writer at a
    time anyway, and queueing here is far cheaper than its busy-wait back-off (sleeps up to
    100 ms), which under concurrent listeners dominated latency.
    """
    lock = _SQLITE_LOCKS.get(engine)
    with lock if lock is not None else nullcontext(), Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
