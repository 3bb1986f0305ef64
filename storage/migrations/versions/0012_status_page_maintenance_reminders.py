"""status page maintenance reminders

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 10:38:25

One ``maintenance_reminders`` row per reminder of a maintenance window and channel, written by the
scheduler's sweep before it posts the reminder (the claim that makes it go out once across
replicas). A new table only.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One release back (docs/operate/schema-compatibility.md; tests/storage/test_migration_rules.py):
# a new table only; the previous release does not read it.
backward_compatible: bool = True


def upgrade() -> None:
    op.create_table(
        "maintenance_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("window_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("claimed_by", sa.String(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["window_id"],
            ["maintenance_windows.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("window_id", "slot"),
    )
    with op.batch_alter_table("maintenance_reminders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_maintenance_reminders_window_id"), ["window_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("maintenance_reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_maintenance_reminders_window_id"))

    op.drop_table("maintenance_reminders")
