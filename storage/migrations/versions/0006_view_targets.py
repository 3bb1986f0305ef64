"""view targets: the modals the bot opened (their external id -> who, for what, on what)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 07:22:30.416435
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One release back (docs/operate/schema-compatibility.md; tests/storage/test_migration_rules.py):
# True when the previous release still runs on the schema this leaves (only additions: tables,
# nullable columns or columns with a server default, indexes). A drop, a rename, a type change or
# NOT NULL without a default breaks it: then set False, add min_version = "X.Y.Z" (the release
# that ships this migration) and record it in upgrade():
#     op.execute(sa.text("UPDATE schema_compat SET min_version = :v").bindparams(v=min_version))
backward_compatible: bool = True


def upgrade() -> None:
    op.create_table(
        "view_targets",
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("purpose", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("alert_group_id", sa.Integer(), nullable=True),
        sa.Column("channel_id", sa.String(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("external_id"),
    )
    with op.batch_alter_table("view_targets", schema=None) as batch_op:
        batch_op.create_index("ix_view_targets_opened_at", ["opened_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("view_targets", schema=None) as batch_op:
        batch_op.drop_index("ix_view_targets_opened_at")

    op.drop_table("view_targets")
