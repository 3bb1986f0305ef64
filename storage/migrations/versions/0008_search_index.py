"""full-text search over incidents: search_entries kept by triggers, FTS5 or tsvector + GIN

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 07:30:00

One row per searchable text of an incident (its title, its recorded facts, each visible timeline
event, its latest non-empty document) in ``search_entries``, indexed for full text:
SQLite: an external-content FTS5 table ``search_fts`` (porter stemming, diacritics folded);
PostgreSQL: a generated ``tsv`` column (``english``) with a GIN index.

The database keeps the rows in step itself, with triggers on incidents, timeline_events and
documents: whatever writes (this release, the previous one running on this schema, a second
replica), the index changes in the same transaction as the row. Existing rows are indexed here.

A later migration that drops or renames a column these triggers read (see ``_title``, ``_FACTS``,
``_event``, ``_LATEST_DOCUMENT``) drops and recreates the triggers around it: SQLite refuses the
change otherwise, and PostgreSQL would fail the writes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One release back (docs/operate/schema-compatibility.md; tests/storage/test_migration_rules.py):
# a new table, an index and triggers; the previous release's writes keep the index in step.
backward_compatible: bool = True

# What each source indexes, as SQL over a row named ``{r}`` (``new`` in a trigger). Frozen here.
_NL = "' \n '"
_FACTS = (
    "summary",
    "impact_users",
    "impact_functionality",
    "impact_business",
    "customer_impact",
    "root_cause",
    "fix",
    "resolution_summary",
)


def _title(r: str) -> str:
    return f"{r}.title || ' ' || coalesce({r}.channel_name, '')"


def _facts(r: str) -> str:
    return f" || {_NL} || ".join(f"coalesce({r}.{c}, '')" for c in _FACTS)


def _event(r: str) -> str:
    return f"CASE WHEN {r}.plain_text <> '' THEN {r}.plain_text ELSE {r}.text END"


def _upsert(source: str, body: str, incident: str = "new.id", ref: str = "new.id") -> str:
    return (
        "INSERT INTO search_entries (incident_id, source, ref_id, body) "
        f"VALUES ({incident}, '{source}', {ref}, {body}) "
        "ON CONFLICT (source, ref_id) DO UPDATE SET body = excluded.body"
    )


_LATEST_DOCUMENT = (
    "DELETE FROM search_entries WHERE source = 'document' AND incident_id = {i};\n"
    "INSERT INTO search_entries (incident_id, source, ref_id, body) "
    "SELECT d.incident_id, 'document', d.id, d.markdown FROM documents d "
    "WHERE d.incident_id = {i} AND d.markdown <> '' ORDER BY d.revision DESC LIMIT 1"
)
_EVENT_ROW = (
    "DELETE FROM search_entries WHERE source = 'event' AND ref_id = {old}.id;\n"
    "INSERT INTO search_entries (incident_id, source, ref_id, body) "
    "SELECT new.incident_id, 'event', new.id, {body} WHERE NOT new.hidden"
)
_REBUILD = [
    f"INSERT INTO search_entries (incident_id, source, ref_id, body) SELECT i.id, 'title', i.id, {_title('i')} "
    "FROM incidents i",
    f"INSERT INTO search_entries (incident_id, source, ref_id, body) SELECT i.id, 'facts', i.id, {_facts('i')} "
    "FROM incidents i",
    f"INSERT INTO search_entries (incident_id, source, ref_id, body) SELECT e.incident_id, 'event', e.id, "
    f"{_event('e')} FROM timeline_events e WHERE NOT e.hidden",
    "INSERT INTO search_entries (incident_id, source, ref_id, body) "
    "SELECT d.incident_id, 'document', d.id, d.markdown FROM documents d WHERE d.markdown <> '' "
    "AND d.revision = (SELECT max(x.revision) FROM documents x WHERE x.incident_id = d.incident_id "
    "AND x.markdown <> '')",
]


def _sqlite() -> list[str]:
    t = "CREATE TRIGGER {name} {when} ON {table}{cond} BEGIN\n{body};\nEND"
    return [
        "CREATE VIRTUAL TABLE search_fts USING fts5(body, content='search_entries', content_rowid='id', "
        "tokenize='porter unicode61 remove_diacritics 2')",
        "INSERT INTO search_fts(search_fts) VALUES ('rebuild')",
        t.format(
            name="search_fts_ai",
            when="AFTER INSERT",
            table="search_entries",
            cond="",
            body="INSERT INTO search_fts(rowid, body) VALUES (new.id, new.body)",
        ),
        t.format(
            name="search_fts_ad",
            when="AFTER DELETE",
            table="search_entries",
            cond="",
            body="INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', old.id, old.body)",
        ),
        t.format(
            name="search_fts_au",
            when="AFTER UPDATE",
            table="search_entries",
            cond="",
            body="INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', old.id, old.body);\n"
            "INSERT INTO search_fts(rowid, body) VALUES (new.id, new.body)",
        ),
        t.format(
            name="search_incident_ai",
            when="AFTER INSERT",
            table="incidents",
            cond="",
            body=f"{_upsert('title', _title('new'))};\n{_upsert('facts', _facts('new'))}",
        ),
        t.format(
            name="search_incident_title_au",
            when="AFTER UPDATE OF title, channel_name",
            table="incidents",
            cond="",
            body=_upsert("title", _title("new")),
        ),
        t.format(
            name="search_incident_facts_au",
            when=f"AFTER UPDATE OF {', '.join(_FACTS)}",
            table="incidents",
            cond="",
            body=_upsert("facts", _facts("new")),
        ),
        t.format(
            name="search_incident_bd",
            when="BEFORE DELETE",
            table="incidents",
            cond="",
            body="DELETE FROM search_entries WHERE incident_id = old.id",
        ),
        t.format(
            name="search_event_ai",
            when="AFTER INSERT",
            table="timeline_events",
            cond=" WHEN NOT new.hidden",
            body=_upsert("event", _event("new"), incident="new.incident_id"),
        ),
        t.format(
            name="search_event_au",
            when="AFTER UPDATE OF text, plain_text, hidden",
            table="timeline_events",
            cond="",
            body=_EVENT_ROW.format(old="old", body=_event("new")),
        ),
        t.format(
            name="search_event_ad",
            when="AFTER DELETE",
            table="timeline_events",
            cond="",
            body="DELETE FROM search_entries WHERE source = 'event' AND ref_id = old.id",
        ),
        t.format(
            name="search_document_ai",
            when="AFTER INSERT",
            table="documents",
            cond="",
            body=_LATEST_DOCUMENT.format(i="new.incident_id"),
        ),
        t.format(
            name="search_document_au",
            when="AFTER UPDATE OF markdown, revision",
            table="documents",
            cond="",
            body=_LATEST_DOCUMENT.format(i="new.incident_id"),
        ),
        t.format(
            name="search_document_ad",
            when="AFTER DELETE",
            table="documents",
            cond="",
            body=_LATEST_DOCUMENT.format(i="old.incident_id"),
        ),
    ]


def _postgresql() -> list[str]:
    def function(name: str, body: str, result: str = "NULL") -> str:
        return (
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n{body};\n"
            f"RETURN {result};\nEND\n$$"
        )

    return [
        # A document can be long: past a million characters the rest is not indexed (tsvector's limit).
        "ALTER TABLE search_entries ADD COLUMN tsv tsvector "
        "GENERATED ALWAYS AS (to_tsvector('english'::regconfig, left(body, 1000000))) STORED",
        "CREATE INDEX ix_search_entries_tsv ON search_entries USING gin (tsv)",
        function("search_incident_title", _upsert("title", _title("new"))),
        function("search_incident_facts", _upsert("facts", _facts("new"))),
        function("search_incident_forget", "DELETE FROM search_entries WHERE incident_id = old.id", "old"),
        function(
            "search_event_upsert",
            "IF NOT new.hidden THEN\n"
            + _upsert("event", _event("new"), incident="new.incident_id")
            + ";\nEND IF",
        ),
        function("search_event_update", _EVENT_ROW.format(old="old", body=_event("new"))),
        function(
            "search_event_forget", "DELETE FROM search_entries WHERE source = 'event' AND ref_id = old.id"
        ),
        function("search_document_latest", _LATEST_DOCUMENT.format(i="new.incident_id")),
        function("search_document_forget", _LATEST_DOCUMENT.format(i="old.incident_id")),
        "CREATE TRIGGER search_incident_ai AFTER INSERT OR UPDATE OF title, channel_name ON incidents "
        "FOR EACH ROW EXECUTE FUNCTION search_incident_title()",
        f"CREATE TRIGGER search_incident_facts AFTER INSERT OR UPDATE OF {', '.join(_FACTS)} ON incidents "
        "FOR EACH ROW EXECUTE FUNCTION search_incident_facts()",
        "CREATE TRIGGER search_incident_bd BEFORE DELETE ON incidents "
        "FOR EACH ROW EXECUTE FUNCTION search_incident_forget()",
        "CREATE TRIGGER search_event_ai AFTER INSERT ON timeline_events "
        "FOR EACH ROW EXECUTE FUNCTION search_event_upsert()",
        "CREATE TRIGGER search_event_au AFTER UPDATE OF text, plain_text, hidden ON timeline_events "
        "FOR EACH ROW EXECUTE FUNCTION search_event_update()",
        "CREATE TRIGGER search_event_ad AFTER DELETE ON timeline_events "
        "FOR EACH ROW EXECUTE FUNCTION search_event_forget()",
        "CREATE TRIGGER search_document_ai AFTER INSERT OR UPDATE OF markdown, revision ON documents "
        "FOR EACH ROW EXECUTE FUNCTION search_document_latest()",
        "CREATE TRIGGER search_document_ad AFTER DELETE ON documents "
        "FOR EACH ROW EXECUTE FUNCTION search_document_forget()",
    ]


_PG_TRIGGERS = {
    "search_incident_ai": "incidents",
    "search_incident_facts": "incidents",
    "search_incident_bd": "incidents",
    "search_event_ai": "timeline_events",
    "search_event_au": "timeline_events",
    "search_event_ad": "timeline_events",
    "search_document_ai": "documents",
    "search_document_ad": "documents",
}
_PG_FUNCTIONS = (
    "search_incident_title",
    "search_incident_facts",
    "search_incident_forget",
    "search_event_upsert",
    "search_event_update",
    "search_event_forget",
    "search_document_latest",
    "search_document_forget",
)
_SQLITE_TRIGGERS = (
    "search_fts_ai",
    "search_fts_ad",
    "search_fts_au",
    "search_incident_ai",
    "search_incident_title_au",
    "search_incident_facts_au",
    "search_incident_bd",
    "search_event_ai",
    "search_event_au",
    "search_event_ad",
    "search_document_ai",
    "search_document_au",
    "search_document_ad",
)


def upgrade() -> None:
    op.create_table(
        "search_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "ref_id"),
    )
    op.create_index(op.f("ix_search_entries_incident_id"), "search_entries", ["incident_id"], unique=False)
    for statement in _REBUILD:
        op.execute(statement)
    engine = op.get_bind().dialect.name
    for statement in _sqlite() if engine == "sqlite" else _postgresql():
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    else:
        for trigger, table in _PG_TRIGGERS.items():
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
        for function in _PG_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    op.drop_index(op.f("ix_search_entries_incident_id"), table_name="search_entries")
    op.drop_table("search_entries")
