"""complete databases made before 0001 was final; record the oldest compatible release

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 04:00:00

0001 was rewritten in place three times after it had landed, so a database made by an early
commit (95d63fd and its first successors) claims 0001 yet lacks what the later rewrites added: the
tables recorded_windows and timeline_audit and nine columns. This migration looks for each of
them and adds what is missing (nothing on a database made by 0001 as it is now). It also creates
schema_compat, the oldest release that may run on this database (read by code that finds a
revision it does not know).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One release back (docs/operate/schema-compatibility.md; tests/storage/test_migration_rules.py).
backward_compatible: bool = True
compatibility_note: str = (
    "reminder_claims.state becomes NOT NULL only on databases whose 0001 predates the column; "
    "every release that ran 0004 already writes it"
)
# The oldest release that may run on the schema this migration leaves: the first that reads this
# record (0.1.0 does not: it stops on the unknown revision).
min_version: str = "0.2.0"

# Tables 0001 gained after it had landed, as 0001 creates them today (frozen here: never the models).
_LATE_TABLES: dict[str, tuple[list[sa.Column], list[tuple[str, list[str]]]]] = {
    "recorded_windows": (
        [
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("channel_id", sa.String(), nullable=False),
            sa.Column("start", sa.DateTime(timezone=True), nullable=False),
            sa.Column("end", sa.DateTime(timezone=True), nullable=False),
            sa.Column("source", sa.String(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        ],
        [("ix_recorded_windows_channel_id", ["channel_id"])],
    ),
    "timeline_audit": (
        [
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("event_id", sa.Integer(), nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("actor_id", sa.String(), nullable=True),
            sa.Column("action", sa.String(), nullable=False),
            sa.Column("kind", sa.String(), nullable=True),
            sa.Column("reaction", sa.String(), nullable=True),
            sa.ForeignKeyConstraint(["event_id"], ["timeline_events.id"]),
            sa.PrimaryKeyConstraint("id"),
        ],
        [("ix_timeline_audit_event_id", ["event_id"])],
    ),
}

# Nullable columns 0001 gained after it had landed.
_LATE_COLUMNS: list[tuple[str, str, sa.types.TypeEngine]] = [
    ("channel_messages", "deleted_at", sa.DateTime(timezone=True)),
    ("documents", "file_permalink", sa.String()),
    ("documents", "announce_ts", sa.String()),
    ("documents", "requested_by", sa.String()),
    ("documents", "published_at", sa.DateTime(timezone=True)),
    ("reminder_claims", "sent_at", sa.DateTime(timezone=True)),
    ("reminder_claims", "error", sa.String()),
    ("timeline_marks", "changed_ts", sa.String()),
]


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    tables = set(inspector.get_table_names())
    columns = {table: {c["name"] for c in inspector.get_columns(table)} for table in tables}
    indexes = {table: {i["name"] for i in inspector.get_indexes(table)} for table in tables}

    for table, (definition, table_indexes) in _LATE_TABLES.items():
        if table not in tables:
            op.create_table(table, *definition)
        for name, on in table_indexes:
            if name not in indexes.get(table, set()):
                op.create_index(name, table, on, unique=False)

    for table, column, type_ in _LATE_COLUMNS:
        if column not in columns[table]:
            op.add_column(table, sa.Column(column, type_, nullable=True))

    if "state" not in columns["reminder_claims"]:
        # Before the column, a row was written only for a reminder being sent: "sent" never re-sends it.
        op.add_column("reminder_claims", sa.Column("state", sa.String(), nullable=True))
        op.execute("UPDATE reminder_claims SET state = 'sent'")
        with op.batch_alter_table("reminder_claims") as batch_op:
            batch_op.alter_column("state", existing_type=sa.String(), nullable=False)

    compat = op.create_table(
        "schema_compat",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("min_version", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(compat, [{"id": 1, "min_version": min_version}])


def downgrade() -> None:
    # What upgrade() added to an early database stays: it is what 0001 creates today.
    op.drop_table("schema_compat")
