"""``export_outcome.id`` numbers itself on SQLite too: 0008 declared it BIGINT, which is an
identity on PostgreSQL but no rowid alias on SQLite, so every insert there failed with
``NOT NULL constraint failed: export_outcome.id`` (the demo's embedded default). Only SQLite's
table is rebuilt; PostgreSQL keeps its BIGINT identity.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("export_outcome", recreate="always") as batch:
        batch.alter_column("id", type_=sa.Integer(), existing_type=sa.BigInteger(), autoincrement=True,
                           existing_nullable=False)


def downgrade() -> None:
    """Nothing to undo: INTEGER is what the schema declares for SQLite."""
