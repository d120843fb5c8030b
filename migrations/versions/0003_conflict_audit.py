"""Conflict audit: records changed on both sides since the last sync, and how they were resolved.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conflict_audit",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("integration", sa.String(40), nullable=False),
        sa.Column("scope", sa.String(80), nullable=False),
        sa.Column("stream", sa.String(60), nullable=False),
        sa.Column("tribe_id", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(120), nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("run_id", sa.String(250)),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_conflict_audit_record", "conflict_audit", ["integration", "tribe_id"])


def downgrade() -> None:
    op.drop_index("ix_conflict_audit_record", "conflict_audit")
    op.drop_table("conflict_audit")
