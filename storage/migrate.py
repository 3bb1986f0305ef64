"""Alembic migrations, run from code so `serve` and `db upgrade` share one path."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK_ID = 7_215_042  # advisory lock so replicas starting together migrate one at a time


def _config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def history(engine: Engine) -> list[tuple[str, str, bool]]:
    """Every migration, newest first: (revision, its message, whether it is the database's current)."""
    current = current_revision(engine)
    script = ScriptDirectory.from_config(_config(engine))
    return [(rev.revision, rev.doc or "", rev.revision == current) for rev in script.walk_revisions()]


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Apply pending migrations; returns (before, after) revisions."""
    before = current_revision(engine)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_ID})
            try:
                command.upgrade(_config(engine), "head")
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_ID})
                conn.commit()
    else:
        command.upgrade(_config(engine), "head")
    return before, current_revision(engine)
