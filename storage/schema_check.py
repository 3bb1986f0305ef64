"""The live schema against the models: what this code needs that the database lacks.

Filtered to what breaks the bot at run time: a missing table, a missing column, a missing unique
constraint or unique index (exactly-once writes rely on them; either kind satisfies the models'
need, by its columns). What a newer release added (tables, columns, indexes) is not drift: this
release runs on it. Read with SQLAlchemy's bulk reflection (one query per kind on PostgreSQL), at
every start: Alembic's full autogenerate comparison cost 4-9x the CPU (``tests/storage`` holds the
migrations to it).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, UniqueConstraint, inspect
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


def _missing(table: Table, columns: list[Any], uniques: list[Any], indexes: list[Any]) -> list[str]:
    have = {c["name"] for c in columns}
    problems = [
        f"missing column {table.name}.{c.name}"
        for c in table.columns
        if c.name not in have and modelled(c, c.name, "column", False, None)
    ]
    unique = {frozenset(u["column_names"]) for u in uniques}
    unique |= {frozenset(i["column_names"]) for i in indexes if i.get("unique")}
    for c in table.constraints:
        if isinstance(c, UniqueConstraint) and frozenset(c.columns.keys()) not in unique:
            problems.append(f"missing unique constraint {table.name}({', '.join(c.columns.keys())})")
    for ix in table.indexes:
        if ix.unique and frozenset(ix.columns.keys()) not in unique:
            problems.append(f"missing unique index {table.name}({', '.join(ix.columns.keys())})")
    return problems


def schema_drift(engine: Engine) -> list[str]:
    """Each thing the models need that the database lacks, as "missing table X" / "missing column T.C"."""
    wanted = [t for t in SQLModel.metadata.sorted_tables if modelled(t, t.name, "table", False, None)]
    with engine.connect() as conn:
        reflect = inspect(conn)
        present = set(reflect.get_table_names())
        names = [t.name for t in wanted if t.name in present]
        columns = reflect.get_multi_columns(filter_names=names)
        uniques = reflect.get_multi_unique_constraints(filter_names=names)
        indexes = reflect.get_multi_indexes(filter_names=names)
    problems = {f"missing table {t.name}" for t in wanted if t.name not in present}
    for t in wanted:
        if t.name in present:
            key = (None, t.name)
            problems.update(_missing(t, columns.get(key, []), uniques.get(key, []), indexes.get(key, [])))
    return sorted(problems, key=lambda p: (not p.startswith("missing table"), p))
