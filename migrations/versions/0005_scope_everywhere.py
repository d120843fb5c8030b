"""Scope everywhere: staging and sync_run carry the scope (legal entity, division) of their rows,
and an invoice's external reference is unique per integration and scope, not across all.

``staging`` holds only the rows of runs in progress: it is recreated with the scope in its key
(upgrade between runs). ``sync_run`` keeps its history, every row in scope ``default``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _staging(scoped: bool) -> None:
    op.drop_index("ix_staging_status", "staging")
    op.drop_table("staging")
    key = ["run_id", "integration", *(["scope"] if scoped else []), "stream"]
    op.create_table(
        "staging",
        sa.Column("run_id", sa.String(250), primary_key=True),
        sa.Column("integration", sa.String(40), primary_key=True),
        *([sa.Column("scope", sa.String(80), primary_key=True, server_default="default")] if scoped else []),
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
    op.create_index("ix_staging_status", "staging", [*key, "status"])


def _old_ledger(meta: sa.MetaData) -> sa.Table:
    """export_ledger as 0001/0002 made it, minus the unnamed unique on external_reference
    (SQLite cannot drop a constraint without a name: the table is copied without it)."""
    return sa.Table(
        "export_ledger", meta,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("integration", sa.String(40), nullable=False),
        sa.Column("scope", sa.String(80), nullable=False),
        sa.Column("document_type", sa.String(40), nullable=False),
        sa.Column("tribe_id", sa.String(64), nullable=False),
        sa.Column("document_number", sa.String(60)),
        sa.Column("external_reference", sa.String(50), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("external_id", sa.String(120)),
        sa.Column("external_number", sa.String(60)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("total_amount", sa.Numeric(18, 2)),
        sa.Column("balance", sa.Numeric(18, 2)),
        sa.Column("balance_changed_at", TS),
        sa.Column("paid_at", TS),
        sa.UniqueConstraint("integration", "scope", "document_type", "tribe_id", name="uq_export_ledger_document"),
        sa.Index("ix_export_ledger_external", "integration", "scope", "external_id"),
    )


def upgrade() -> None:
    _staging(scoped=True)
    with op.batch_alter_table("sync_run") as batch:
        batch.add_column(sa.Column("scope", sa.String(80), nullable=False, server_default="default"))
        batch.drop_constraint("uq_sync_run_step", type_="unique")
        batch.create_unique_constraint("uq_sync_run_step", ["run_id", "integration", "scope", "stream", "step"])
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("export_ledger", recreate="always", copy_from=_old_ledger(sa.MetaData())) as batch:
            batch.create_unique_constraint("uq_export_ledger_reference", ["integration", "scope", "external_reference"])
    else:
        op.drop_constraint("export_ledger_external_reference_key", "export_ledger", type_="unique")
        op.create_unique_constraint("uq_export_ledger_reference", "export_ledger",
                                    ["integration", "scope", "external_reference"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("export_ledger", recreate="always") as batch:
            batch.drop_constraint("uq_export_ledger_reference", type_="unique")
            batch.create_unique_constraint("export_ledger_external_reference_key", ["external_reference"])
    else:
        op.drop_constraint("uq_export_ledger_reference", "export_ledger", type_="unique")
        op.create_unique_constraint("export_ledger_external_reference_key", "export_ledger", ["external_reference"])
    with op.batch_alter_table("sync_run") as batch:
        batch.drop_constraint("uq_sync_run_step", type_="unique")
        batch.create_unique_constraint("uq_sync_run_step", ["run_id", "integration", "stream", "step"])
        batch.drop_column("scope")
    _staging(scoped=False)
