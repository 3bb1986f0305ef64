"""The live schema against the models: what this code needs that the database lacks.

Alembic's autogenerate comparison, filtered to what breaks the bot at run time: a missing table, a
missing column, a missing unique constraint (exactly-once writes rely on them). What a newer release
added (tables, columns, indexes) is not drift: this release runs on it.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables)

# The full-text indexes of search_entries and search_incidents are engine-specific and made by
# migrations 0008 and 0016 alone: the FTS5 tables and their shadow tables (SQLite), the generated
# tsvector columns and their GIN indexes (PostgreSQL). Autogenerate and the schema checks leave them be.
_UNMODELLED_TABLE_PREFIX = "search_fts"
_UNMODELLED = {("column", "tsv"), ("index", "ix_search_entries_tsv"), ("index", "ix_search_incidents_tsv")}


def modelled(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's ``include_object``: False for the search index's engine-specific parts."""
    if type_ == "table" and (name or "").startswith(_UNMODELLED_TABLE_PREFIX):
        return False
    return (type_, name) not in _UNMODELLED


def _problem(diff: Any) -> str | None:
    kind = diff[0]
    if kind == "add_table":
        return f"missing table {diff[1].name}"
    if kind == "add_column":
        return f"missing column {diff[2]}.{diff[3].name}"
    if kind == "add_constraint" and diff[1].__visit_name__ == "unique_constraint":
        return f"missing unique constraint {diff[1].table.name}({', '.join(c.name for c in diff[1].columns)})"
    if kind == "add_index" and diff[1].unique:
        return f"missing unique index {diff[1].table.name}({', '.join(c.name for c in diff[1].columns)})"
    return None


def schema_drift(engine: Engine) -> list[str]:
    """Each thing the models need that the database lacks, as "missing table X" / "missing column T.C"."""
    with engine.connect() as conn:
        diffs = compare_metadata(
            MigrationContext.configure(conn, opts={"include_object": modelled}), SQLModel.metadata
        )
    flat = [d for entry in diffs for d in (entry if isinstance(entry, list) else [entry])]
    problems = {p for p in map(_problem, flat) if p is not None}
    return sorted(problems, key=lambda p: (not p.startswith("missing table"), p))
