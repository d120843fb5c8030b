"""OAuth tokens kept between runs, encrypted (rotating single-use refresh tokens: Exact Online).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_token",
        sa.Column("conn_id", sa.String(250), primary_key=True),
        sa.Column("scope", sa.String(80), primary_key=True),
        sa.Column("refresh_token", sa.Text, nullable=False),
        sa.Column("access_token", sa.Text),
        sa.Column("access_expires_at", sa.DateTime(timezone=True)),
        sa.Column("rotations", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("oauth_token")
