"""incident embeddings for similar incidents

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 10:23:57

One ``incident_embeddings`` row per incident the optional model (``[assist]``) has embedded: the
model, the digest of the (redacted) text sent, and the vector as JSON. A new table only; written
by the assist service's embedding sweep. No vector extension: cosine is computed in Python.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One release back (docs/operate/schema-compatibility.md; tests/storage/test_migration_rules.py):
# a new table only; the previous release does not read it.
backward_compatible: bool = True


def upgrade() -> None:
    op.create_table(
        "incident_embeddings",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("vector", sa.JSON(), nullable=False),
        sa.Column("embedded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("incident_id"),
    )


def downgrade() -> None:
    op.drop_table("incident_embeddings")
