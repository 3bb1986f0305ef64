"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}

revision: str = ${repr(up_revision)}
down_revision: str | None = ${repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}

# One release back (docs/operate/schema-compatibility.md; tests/storage/test_migration_rules.py):
# True when the previous release still runs on the schema this leaves (only additions: tables,
# nullable columns or columns with a server default, indexes). A drop, a rename, a type change or
# NOT NULL without a default breaks it: then set False, add min_version = "X.Y.Z" (the release
# that ships this migration) and record it in upgrade():
#     op.execute(sa.text("UPDATE schema_compat SET min_version = :v").bindparams(v=min_version))
backward_compatible: bool = True


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
