"""Alembic migrations, run from code so `serve` and `db upgrade` share one path.

A database at a revision this code does not know was migrated by a newer release: it is never
migrated here (Alembic cannot), and this code runs on it only when the database's compatibility
record allows this release (storage/compat.py).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Engine

from storage.compat import check_newer

MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK_ID = 7_215_042  # advisory lock so replicas starting together migrate one at a time
_WORK_ITEM = re.compile(r"\s*\(issue \d+\)$")  # a landed title may name one; output never does


@dataclass(frozen=True)
class Migration:
    revision: str
    title: str


@dataclass(frozen=True)
class Upgrade:
    """What `upgrade` did: the revisions before and after, the migrations it applied (oldest first),
    and, for a database a newer release migrated, the oldest release it declares compatible."""

    before: str | None
    after: str | None
    applied: tuple[Migration, ...] = ()
    newer_min_version: str | None = None


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def alembic_config(engine: Engine) -> Config:
    cfg = _config()
    cfg.attributes["engine"] = engine
    return cfg


@functools.cache
def _scripts() -> ScriptDirectory:
    """This code's migrations, read once per process (Alembic compiles every revision file each time
    it reads the folder: a third of a start's CPU at head, three times a start)."""
    return ScriptDirectory.from_config(_config())


def _migration(script: Script) -> Migration:
    return Migration(script.revision, _WORK_ITEM.sub("", script.doc or ""))


def head_revision() -> str | None:
    return _scripts().get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def known(revision: str | None) -> bool:
    """Whether this code has the migration (an empty database counts as known)."""
    return revision is None or revision in {s.revision for s in _scripts().walk_revisions()}


def history(engine: Engine) -> list[tuple[Migration, bool]]:
    """Every migration, newest first, and whether it is the database's current."""
    current = current_revision(engine)
    return [(_migration(s), s.revision == current) for s in _scripts().walk_revisions()]


@contextmanager
def _one_at_a_time(engine: Engine) -> Iterator[None]:
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_ID})
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_ID})
            conn.commit()


def upgrade(engine: Engine, version: str | None = None) -> Upgrade:
    """Apply pending migrations. A database at a revision this code does not know is left as it is:
    returned as such when its record lets release ``version`` run on it, else NewerSchemaError."""
    with _one_at_a_time(engine):
        before = current_revision(engine)
        if not known(before):
            assert before is not None
            minimum = check_newer(engine, before, head_revision(), version)
            return Upgrade(before, before, newer_min_version=minimum)
        if before is not None and before == head_revision():
            return Upgrade(before, before)  # nothing to apply: no Alembic environment to run
        pending = list(_scripts().iterate_revisions("head", before or "base"))
        command.upgrade(alembic_config(engine), "head")
        after = current_revision(engine)
    return Upgrade(before, after, tuple(_migration(s) for s in reversed(pending) if s.revision != before))
