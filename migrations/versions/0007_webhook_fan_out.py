"""Webhook events fan out: one row per event *and* DAG, so one Tribe event starts the export of
every enabled accounting system, each run deduplicated by the event id on its own.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
COLUMNS = "event_id, received_at, entity_type, entity_id, dag_id, dag_run_id, status"


def _table(name: str, *, per_dag: bool) -> None:
    op.create_table(
        name,
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("dag_id", sa.String(250), primary_key=per_dag, nullable=not per_dag,
                  **({"server_default": ""} if per_dag else {})),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("entity_type", sa.String(120), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("dag_run_id", sa.String(250)),
        sa.Column("status", sa.String(20), nullable=False),
    )


def _copy(per_dag: bool) -> None:
    op.drop_index("ix_webhook_event_received", "webhook_event")
    _table("webhook_event_copy", per_dag=per_dag)
    dag_id = "COALESCE(dag_id, '')" if per_dag else "NULLIF(dag_id, '')"
    pick = COLUMNS.replace("dag_id,", f"{dag_id},")
    # Going back keeps one row per event (the first DAG's): the old key was the event alone.
    where = "" if per_dag else (" WHERE dag_id = (SELECT MIN(w.dag_id) FROM webhook_event w"
                                " WHERE w.event_id = webhook_event.event_id)")
    op.execute(f"INSERT INTO webhook_event_copy ({COLUMNS}) SELECT {pick} FROM webhook_event{where}")
    op.drop_table("webhook_event")
    op.rename_table("webhook_event_copy", "webhook_event")
    op.create_index("ix_webhook_event_received", "webhook_event", ["received_at"])


def upgrade() -> None:
    _copy(per_dag=True)


def downgrade() -> None:
    _copy(per_dag=False)
