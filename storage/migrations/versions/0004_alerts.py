"""alert groups and alerts (issue 18)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_key", sa.String(length=1000), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("receiver", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("group_labels", sa.JSON(), nullable=False),
        sa.Column("common_labels", sa.JSON(), nullable=False),
        sa.Column("common_annotations", sa.JSON(), nullable=False),
        sa.Column("external_url", sa.String(), nullable=False),
        sa.Column("truncated", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("auto_declare", sa.Boolean(), nullable=False),
        sa.Column("triage", sa.String(), nullable=False),
        sa.Column("triaged_by", sa.String(), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("notifications", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("shown_version", sa.Integer(), nullable=False),
        sa.Column("card_ts", sa.String(), nullable=True),
        sa.Column("card_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("group_key"),
    )
    op.create_index("ix_alert_groups_incident_id", "alert_groups", ["incident_id"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("annotations", sa.JSON(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("generator_url", sa.Text(), nullable=False),
        sa.Column("dashboard_url", sa.Text(), nullable=False),
        sa.Column("panel_url", sa.Text(), nullable=False),
        sa.Column("silence_url", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["alert_groups.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("group_id", "fingerprint"),
    )
    op.create_index("ix_alerts_group_id", "alerts", ["group_id"])


def downgrade() -> None:
    op.drop_index("ix_alerts_group_id", table_name="alerts")
    op.drop_table("alerts")
    op.drop_index("ix_alert_groups_incident_id", table_name="alert_groups")
    op.drop_table("alert_groups")
