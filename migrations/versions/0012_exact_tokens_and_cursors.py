"""Exact Online's token rules and sync cursors.

``oauth_token``: when the access token was issued (the database's clock, read after the answer:
Exact refuses a new one until 570 s after the last), the hash of an access token the server
refused (never sent again, by any worker), and the token endpoint calls of the current UTC day
(Exact allows 200). ``watermark.cursor``: a sync endpoint's position (Exact's ``Timestamp``, an
Int64) beside the time watermark, so a run stopped by a spent daily budget resumes where it was.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_token") as batch:
        batch.add_column(sa.Column("issued_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("refused_access_hash", sa.String(64)))
        batch.add_column(sa.Column("calls_day", sa.Date))
        batch.add_column(sa.Column("calls", sa.Integer, nullable=False, server_default="0"))
    with op.batch_alter_table("watermark") as batch:
        batch.add_column(sa.Column("cursor", sa.BigInteger))
        batch.alter_column("value", existing_type=sa.DateTime(timezone=True), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("watermark") as batch:
        batch.alter_column("value", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch.drop_column("cursor")
    with op.batch_alter_table("oauth_token") as batch:
        for name in ("calls", "calls_day", "refused_access_hash", "issued_at"):
            batch.drop_column(name)
