"""Payments on exported invoices: amount, open balance and when it last changed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("export_ledger") as batch:
        batch.add_column(sa.Column("total_amount", sa.Numeric(18, 2)))
        batch.add_column(sa.Column("balance", sa.Numeric(18, 2)))
        batch.add_column(sa.Column("balance_changed_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("paid_at", sa.DateTime(timezone=True)))
    op.create_index("ix_export_ledger_external", "export_ledger", ["integration", "scope", "external_id"])


def downgrade() -> None:
    op.drop_index("ix_export_ledger_external", "export_ledger")
    with op.batch_alter_table("export_ledger") as batch:
        for column in ("paid_at", "balance_changed_at", "balance", "total_amount"):
            batch.drop_column(column)
