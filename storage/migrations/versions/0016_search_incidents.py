"""one full-text row per incident: search_incidents kept by triggers on search_entries

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 11:30:00

Ranking every matching *entry* of ``search_entries`` (one per timeline event) made a word found in
thousands of events cost hundreds of milliseconds (bench/README.md, search.py). The ranking now
reads one row per incident, ``search_incidents``: its title, its recorded facts, a bounded digest
of its timeline (the events' text in the order they were indexed, up to ``CAP`` characters: an
event past it adds nothing, so a long incident's writes stay cheap) and the start of its latest
document. ``search_entries`` stays, for the quotes.

The rows are kept by triggers on ``search_entries`` (themselves kept by 0008's triggers), so every
writer keeps them in step in the same transaction, as for 0008. Existing incidents are filled here.
SQLite: an external-content FTS5 table ``search_fts_incidents`` (columns title, facts, events,
document; the rank weighs them); PostgreSQL: a generated ``tsv`` column, the columns weighted
A/B/C/D, with a GIN index.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One release back (docs/operate/schema-compatibility.md; tests/storage/test_migration_rules.py):
# a new table, its index and triggers on a table the previous release never writes itself; the
# previous release's writes keep it in step through 0008's triggers.
backward_compatible: bool = True

CAP = 32000  # characters of the timeline digest and of the document
_NL = "'\n'"

# The digest of one incident's events ({i}): those that start before CAP, in id order.
_STARTS = (
    "SELECT id, body, sum(length(body) + 1) OVER (ORDER BY id) - length(body) - 1 AS start "
    "FROM search_entries WHERE incident_id = {i} AND source = 'event'"
)
_AGG = {
    "sqlite": f"substr(group_concat({_NL} || body, ''), 1, {CAP})",
    "postgresql": f"substr(string_agg({_NL} || body, '' ORDER BY id), 1, {CAP})",
}


def _rebuild(dialect: str, i: str) -> str:
    ordered = " ORDER BY id" if dialect == "sqlite" else ""
    return (
        f"UPDATE search_incidents SET (events, events_upto) = (SELECT coalesce({_AGG[dialect]}, ''), "
        f"coalesce(max(id), 0) FROM ({_STARTS.format(i=i)}{ordered}) AS ev WHERE start < {CAP}) "
        f"WHERE incident_id = {i}"
    )


def _added(dialect: str) -> str:
    """An entry indexed: its text into its incident's row (an event: appended while there is room)."""
    return (
        "INSERT INTO search_incidents (incident_id, title, facts, events, events_upto, document) "
        "VALUES (new.incident_id, '', '', '', 0, '') ON CONFLICT (incident_id) DO NOTHING;\n"
        "UPDATE search_incidents SET "
        "title = CASE WHEN new.source = 'title' THEN new.body ELSE title END, "
        "facts = CASE WHEN new.source = 'facts' THEN new.body ELSE facts END, "
        f"document = CASE WHEN new.source = 'document' THEN substr(new.body, 1, {CAP}) ELSE document END, "
        f"events = CASE WHEN new.source = 'event' THEN substr(events || {_NL} || new.body, 1, {CAP}) "
        "ELSE events END, "
        "events_upto = CASE WHEN new.source = 'event' THEN new.id ELSE events_upto END "
        f"WHERE incident_id = new.incident_id AND (new.source <> 'event' OR length(events) < {CAP})"
    )


def _changed(dialect: str) -> str:
    """An entry's text changed: its column again (an event in the digest: the digest again)."""
    return (
        "UPDATE search_incidents SET "
        "title = CASE WHEN new.source = 'title' THEN new.body ELSE title END, "
        "facts = CASE WHEN new.source = 'facts' THEN new.body ELSE facts END, "
        f"document = CASE WHEN new.source = 'document' THEN substr(new.body, 1, {CAP}) ELSE document END "
        "WHERE incident_id = new.incident_id AND new.source <> 'event';\n"
        f"{_rebuild(dialect, 'new.incident_id')} "
        f"AND new.source = 'event' AND (old.id <= events_upto OR length(events) < {CAP})"
    )


def _removed(dialect: str) -> str:
    """An entry gone: the incident's row with it (its title: the incident is being deleted)."""
    return (
        "DELETE FROM search_incidents WHERE incident_id = old.incident_id AND old.source = 'title';\n"
        "UPDATE search_incidents SET document = '' "
        "WHERE incident_id = old.incident_id AND old.source = 'document';\n"
        f"{_rebuild(dialect, 'old.incident_id')} AND old.source = 'event' AND old.id <= events_upto"
    )


def _fill(dialect: str) -> str:
    starts = (
        "SELECT incident_id, id, body, "
        "sum(length(body) + 1) OVER (PARTITION BY incident_id ORDER BY id) - length(body) - 1 AS start "
        "FROM search_entries WHERE source = 'event'"
    )
    ordered = " ORDER BY incident_id, id" if dialect == "sqlite" else ""
    return (
        "INSERT INTO search_incidents (incident_id, title, facts, events, events_upto, document) "
        "SELECT i.id, coalesce(t.body, ''), coalesce(f.body, ''), coalesce(d.events, ''), "
        f"coalesce(d.upto, 0), coalesce(substr(doc.body, 1, {CAP}), '') FROM incidents i "
        "LEFT JOIN search_entries t ON t.source = 'title' AND t.ref_id = i.id "
        "LEFT JOIN search_entries f ON f.source = 'facts' AND f.ref_id = i.id "
        "LEFT JOIN search_entries doc ON doc.source = 'document' AND doc.incident_id = i.id "
        f"LEFT JOIN (SELECT incident_id, {_AGG[dialect]} AS events, max(id) AS upto "
        f"FROM ({starts}{ordered}) AS ev WHERE start < {CAP} GROUP BY incident_id) AS d ON d.incident_id = i.id"
    )


_COLUMNS = ("title", "facts", "events", "document")
_SQLITE_TRIGGERS = (
    "search_fts_incidents_ai",
    "search_fts_incidents_ad",
    "search_fts_incidents_au",
    "search_incidents_entry_ai",
    "search_incidents_entry_au",
    "search_incidents_entry_ad",
)


def _sqlite() -> list[str]:
    t = "CREATE TRIGGER {name} {when} ON {table} BEGIN\n{body};\nEND"
    cols = ", ".join(_COLUMNS)
    new = ", ".join(f"new.{c}" for c in _COLUMNS)
    old = ", ".join(f"old.{c}" for c in _COLUMNS)
    return [
        f"CREATE VIRTUAL TABLE search_fts_incidents USING fts5({cols}, content='search_incidents', "
        "content_rowid='incident_id', tokenize='porter unicode61 remove_diacritics 2')",
        "INSERT INTO search_fts_incidents(search_fts_incidents) VALUES ('rebuild')",
        t.format(
            name="search_fts_incidents_ai",
            when="AFTER INSERT",
            table="search_incidents",
            body=f"INSERT INTO search_fts_incidents(rowid, {cols}) VALUES (new.incident_id, {new})",
        ),
        t.format(
            name="search_fts_incidents_ad",
            when="AFTER DELETE",
            table="search_incidents",
            body=f"INSERT INTO search_fts_incidents(search_fts_incidents, rowid, {cols}) "
            f"VALUES ('delete', old.incident_id, {old})",
        ),
        t.format(
            name="search_fts_incidents_au",
            when=f"AFTER UPDATE OF {cols}",
            table="search_incidents",
            body=f"INSERT INTO search_fts_incidents(search_fts_incidents, rowid, {cols}) "
            f"VALUES ('delete', old.incident_id, {old});\n"
            f"INSERT INTO search_fts_incidents(rowid, {cols}) VALUES (new.incident_id, {new})",
        ),
        t.format(
            name="search_incidents_entry_ai",
            when="AFTER INSERT",
            table="search_entries",
            body=_added("sqlite"),
        ),
        t.format(
            name="search_incidents_entry_au",
            when="AFTER UPDATE OF body",
            table="search_entries",
            body=_changed("sqlite"),
        ),
        t.format(
            name="search_incidents_entry_ad",
            when="AFTER DELETE",
            table="search_entries",
            body=_removed("sqlite"),
        ),
    ]


_PG_TRIGGERS = ("search_incidents_entry_ai", "search_incidents_entry_au", "search_incidents_entry_ad")
_PG_FUNCTIONS = ("search_incidents_added", "search_incidents_changed", "search_incidents_removed")


def _postgresql() -> list[str]:
    def function(name: str, body: str) -> str:
        return f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n{body};\nRETURN NULL;\nEND\n$$"

    weighted = " || ".join(
        f"setweight(to_tsvector('english'::regconfig, {c}), '{w}')"
        for c, w in zip(_COLUMNS, "ABCD", strict=True)
    )
    return [
        f"ALTER TABLE search_incidents ADD COLUMN tsv tsvector GENERATED ALWAYS AS ({weighted}) STORED",
        "CREATE INDEX ix_search_incidents_tsv ON search_incidents USING gin (tsv)",
        function("search_incidents_added", _added("postgresql")),
        function("search_incidents_changed", _changed("postgresql")),
        function("search_incidents_removed", _removed("postgresql")),
        "CREATE TRIGGER search_incidents_entry_ai AFTER INSERT ON search_entries "
        "FOR EACH ROW EXECUTE FUNCTION search_incidents_added()",
        "CREATE TRIGGER search_incidents_entry_au AFTER UPDATE OF body ON search_entries "
        "FOR EACH ROW EXECUTE FUNCTION search_incidents_changed()",
        "CREATE TRIGGER search_incidents_entry_ad AFTER DELETE ON search_entries "
        "FOR EACH ROW EXECUTE FUNCTION search_incidents_removed()",
    ]


def upgrade() -> None:
    op.create_table(
        "search_incidents",
        sa.Column("incident_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("events_upto", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("incident_id"),
    )
    dialect = op.get_bind().dialect.name
    op.execute(_fill(dialect))
    for statement in _sqlite() if dialect == "sqlite" else _postgresql():
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS search_fts_incidents")
    else:
        for trigger in _PG_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON search_entries")
        for function in _PG_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    op.drop_table("search_incidents")
