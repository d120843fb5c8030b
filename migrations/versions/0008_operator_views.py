"""What operators see: one row per document a run exported (the invoice summary and the
tribe-sync page), and who dismissed a quarantined record (dismissed is not fixed).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "export_outcome",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("dag_id", sa.String(250)),
        sa.Column("integration", sa.String(40), nullable=False),
        sa.Column("scope", sa.String(80), nullable=False),
        sa.Column("document_type", sa.String(40), nullable=False),
        sa.Column("tribe_id", sa.String(64), nullable=False),
        sa.Column("number", sa.String(60)),
        sa.Column("customer", sa.String(200)),
        sa.Column("amount", sa.Numeric(18, 2)),
        sa.Column("currency", sa.String(3)),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("external_id", sa.String(120)),
        sa.Column("external_number", sa.String(60)),
        sa.Column("reason", sa.Text),
        sa.Column("finished_at", TS, nullable=False),
        sa.UniqueConstraint("run_id", "integration", "document_type", "tribe_id", name="uq_export_outcome_run"),
    )
    op.create_index("ix_export_outcome_document", "export_outcome", ["integration", "tribe_id"])
    op.add_column("quarantine", sa.Column("dismissed_by", sa.String(128)))


def downgrade() -> None:
    op.drop_column("quarantine", "dismissed_by")
    op.drop_index("ix_export_outcome_document", "export_outcome")
    op.drop_table("export_outcome")
