from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, MetaData, Table, text
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage.db import make_engine
from storage.migrate import current_revision, head_revision, upgrade
from storage.schema_check import modelled, schema_drift


def test_migrations_build_exactly_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    done = upgrade(engine)
    assert done.before is None
    assert done.after == head_revision() == current_revision(engine)
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


def test_the_start_up_check_names_each_missing_unique_rule_and_nothing_on_a_migrated_database(
    new_database: Any,
) -> None:
    """Exactly-once writes rely on unique constraints and indexes: one lost is drift. A table
    rebuilt without its constraint and a dropped unique index are named; a migrated database
    has no drift."""
    engine = make_engine(new_database.migrated("drift"))
    assert schema_drift(engine) == []
    plain = MetaData()
    milestones = SQLModel.metadata.tables["milestones"]
    rebuilt = Table(
        "milestones",
        plain,
        *(Column(c.name, c.type, nullable=c.nullable, primary_key=c.primary_key) for c in milestones.columns),
    )
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE milestones"))
        rebuilt.create(conn)
        conn.execute(text("DROP INDEX ix_incidents_number"))
    assert schema_drift(engine) == [
        "missing unique constraint milestones(incident_id, name)",
        "missing unique index incidents(number)",
    ]
    engine.dispose()
