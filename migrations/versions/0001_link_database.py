"""The link database: id_link, watermark, export_ledger, staging, quarantine, sync_run.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BIGID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "id_link",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("integration", sa.String(40), nullable=False),
        sa.Column("scope", sa.String(80), nullable=False),
        sa.Column("entity", sa.String(60), nullable=False),
        sa.Column("tribe_id", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(120), nullable=False),
        sa.Column("external_number", sa.String(60)),
        sa.Column("tribe_hash", sa.String(64)),
        sa.Column("external_hash", sa.String(64)),
        sa.Column("tribe_modified_at", TS),
        sa.Column("external_modified_at", TS),
        sa.Column("synced_at", TS, nullable=False),
        sa.UniqueConstraint("integration", "scope", "entity", "tribe_id", name="uq_id_link_tribe"),
        sa.UniqueConstraint("integration", "scope", "entity", "external_id", name="uq_id_link_external"),
    )
    op.create_table(
        "watermark",
        sa.Column("integration", sa.String(40), primary_key=True),
        sa.Column("scope", sa.String(80), primary_key=True),
        sa.Column("entity", sa.String(60), primary_key=True),
        sa.Column("direction", sa.String(10), primary_key=True),
        sa.Column("value", TS, nullable=False),
        sa.Column("run_id", sa.String(250)),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "export_ledger",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("integration", sa.String(40), nullable=False),
        sa.Column("scope", sa.String(80), nullable=False),
        sa.Column("document_type", sa.String(40), nullable=False),
        sa.Column("tribe_id", sa.String(64), nullable=False),
        sa.Column("document_number", sa.String(60)),
        sa.Column("external_reference", sa.String(50), nullable=False, unique=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("external_id", sa.String(120)),
        sa.Column("external_number", sa.String(60)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("integration", "scope", "document_type", "tribe_id", name="uq_export_ledger_document"),
    )
    op.create_table(
        "staging",
        sa.Column("run_id", sa.String(250), primary_key=True),
        sa.Column("integration", sa.String(40), primary_key=True),
        sa.Column("stream", sa.String(60), primary_key=True),
        sa.Column("source_id", sa.String(120), primary_key=True),
        sa.Column("source_modified_at", TS),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("mapped", sa.JSON),
        sa.Column("match_keys", sa.JSON),
        sa.Column("decision", sa.String(20)),
        sa.Column("target_id", sa.String(120)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("integration", sa.String(40), nullable=False),
        sa.Column("scope", sa.String(80), nullable=False),
        sa.Column("system", sa.String(40), nullable=False),
        sa.Column("stream", sa.String(60), nullable=False),
        sa.Column("record_id", sa.String(120), nullable=False),
        sa.Column("field", sa.String(120)),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("payload", sa.JSON),
        sa.Column("run_id", sa.String(250)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("resolved_at", TS),
        sa.UniqueConstraint("integration", "scope", "stream", "record_id", name="uq_quarantine_record"),
    )
    op.create_table(
        "sync_run",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("dag_id", sa.String(250)),
        sa.Column("integration", sa.String(40), nullable=False),
        sa.Column("stream", sa.String(60), nullable=False),
        sa.Column("step", sa.String(20), nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("window_start", TS),
        sa.Column("window_end", TS),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=False),
        sa.UniqueConstraint("run_id", "integration", "stream", "step", name="uq_sync_run_step"),
    )
    op.create_index("ix_staging_status", "staging", ["run_id", "integration", "stream", "status"])
    op.create_index("ix_quarantine_open", "quarantine", ["integration", "resolved_at"])


def downgrade() -> None:
    for table in ("sync_run", "quarantine", "staging", "export_ledger", "watermark", "id_link"):
        op.drop_table(table)
