"""indexes for the overview pages: incidents by declare time, a timeline in order

Revision ID: 0003
Revises: 0002 (0002_followups)
Create Date: 2026-11-29 20:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"  # 0002_followups
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_incidents_created_at", "incidents", ["created_at"], unique=False)
    op.create_index(
        "ix_timeline_events_incident_at", "timeline_events", ["incident_id", "at", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_timeline_events_incident_at", table_name="timeline_events")
    op.drop_index("ix_incidents_created_at", table_name="incidents")
