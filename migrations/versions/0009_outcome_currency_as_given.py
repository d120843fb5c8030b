"""An invoice's currency as Tribe gave it: ``export_outcome.currency`` holds 16 characters, so
a bad code ('EURO') is shown as it is in the summary instead of failing the row.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("export_outcome") as batch:
        batch.alter_column("currency", type_=sa.String(16), existing_type=sa.String(3))


def downgrade() -> None:
    with op.batch_alter_table("export_outcome") as batch:
        batch.alter_column("currency", type_=sa.String(3), existing_type=sa.String(16))
