"""What a person can do about a quarantined record besides fixing the source: the page's
controls (``quarantine.action``: map an unmapped code, link anyway or create new for a match
by number whose names differ), and the answers given (``match_decision``).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quarantine") as batch:
        batch.add_column(sa.Column("action", sa.JSON))
    op.create_table(
        "match_decision",
        sa.Column("integration", sa.String(40), primary_key=True),
        sa.Column("scope", sa.String(80), primary_key=True),
        sa.Column("entity_set", sa.String(120), primary_key=True),
        sa.Column("source_id", sa.String(120), primary_key=True),
        sa.Column("choice", sa.String(10), nullable=False),
        sa.Column("target_id", sa.String(120)),
        sa.Column("decided_by", sa.String(128), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("match_decision")
    with op.batch_alter_table("quarantine") as batch:
        batch.drop_column("action")
