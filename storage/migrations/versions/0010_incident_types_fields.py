"""incident types and custom fields: incidents.incident_type, incident_fields (a row per incident x field)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 08:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One release back (docs/operate/schema-compatibility.md; tests/storage/test_migration_rules.py):
# a new table and a column with a server default; the previous release's inserts get "default".
backward_compatible: bool = True


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("incident_type", sa.Text(), server_default="default", nullable=False))
    op.create_table(
        "incident_fields",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("set_by", sa.String(), nullable=True),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id", "name", name="uq_incident_fields_incident_name"),
    )
    with op.batch_alter_table("incident_fields", schema=None) as batch_op:
        batch_op.create_index("ix_incident_fields_name", ["name"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("incident_fields", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_fields_name")
    op.drop_table("incident_fields")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("incident_type")
