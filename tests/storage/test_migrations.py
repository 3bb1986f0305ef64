from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage.db import make_engine
from storage.migrate import current_revision, head_revision, upgrade
from storage.schema_check import modelled


def test_migrations_build_exactly_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    done = upgrade(engine)
    assert done.before is None
    assert done.after == head_revision(engine) == current_revision(engine)
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"include_object": modelled}), SQLModel.metadata
        )
    assert diff == [], f"models and migrations disagree: {diff}"
    again = upgrade(engine)  # idempotent
    assert (again.before, again.after, again.applied) == (done.after, done.after, ())


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000
