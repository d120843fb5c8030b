"""Webhook events: Tribe webhook calls already handled, so a replayed event starts nothing.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_event",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entity_type", sa.String(120), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("dag_id", sa.String(250)),
        sa.Column("dag_run_id", sa.String(250)),
        sa.Column("status", sa.String(20), nullable=False),
    )
    op.create_index("ix_webhook_event_received", "webhook_event", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_event_received", "webhook_event")
    op.drop_table("webhook_event")
