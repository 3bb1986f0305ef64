"""public status page: public incidents and their public updates

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 08:20:00

One ``public_incidents`` row per incident published to the status page (its public title, state
and impact per component), one ``public_updates`` row per update published. New tables only.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One release back (docs/operate/schema-compatibility.md; tests/storage/test_migration_rules.py):
# new tables only; the previous release does not read them.
backward_compatible: bool = True


def upgrade() -> None:
    op.create_table(
        "public_incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("impacts", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("incident_id"),
    )
    op.create_table(
        "public_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_incident_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("impacts", sa.JSON(), nullable=False),
        sa.Column("author_id", sa.String(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["public_incident_id"], ["public_incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    op.create_index(
        "ix_public_updates_incident_at", "public_updates", ["public_incident_id", "posted_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_public_updates_incident_at", table_name="public_updates")
    op.drop_table("public_updates")
    op.drop_table("public_incidents")
