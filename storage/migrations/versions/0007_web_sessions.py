"""web sessions kept in the database (revocable sign-ins)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 07:10:01

One row per signed-in browser of the web UI; the cookie holds a random token, the row its SHA-256.
A new table only: the previous release does not read it (its sessions were in the cookie).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0007"
down_revision: str | None = "0006"
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
        "web_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("team_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("user_agent", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_sessions_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_user_id"))

    op.drop_table("web_sessions")
