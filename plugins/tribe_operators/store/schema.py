"""SQLAlchemy Core tables of the link database (Alembic migrations mirror these)."""
from __future__ import annotations

import sqlalchemy as sa

__all__ = ["conflict_audit", "export_ledger", "export_outcome", "id_link", "match_decision", "metadata", "quarantine",
           "staging", "sync_run", "watermark", "webhook_event"]

metadata = sa.MetaData()
TS = sa.DateTime(timezone=True)

id_link = sa.Table(
    "id_link", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
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

watermark = sa.Table(
    "watermark", metadata,
    sa.Column("integration", sa.String(40), primary_key=True),
    sa.Column("scope", sa.String(80), primary_key=True),
    sa.Column("entity", sa.String(60), primary_key=True),
    sa.Column("direction", sa.String(10), primary_key=True),  # import | export
    sa.Column("value", TS),  # the time watermark (None: a stream read by its cursor only)
    sa.Column("cursor", sa.BigInteger),  # a sync endpoint's position (Exact's Timestamp)
    sa.Column("run_id", sa.String(250)),
    sa.Column("updated_at", TS, nullable=False),
)

export_ledger = sa.Table(
    "export_ledger", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("integration", sa.String(40), nullable=False),
    sa.Column("scope", sa.String(80), nullable=False),
    sa.Column("document_type", sa.String(40), nullable=False),
    sa.Column("tribe_id", sa.String(64), nullable=False),
    sa.Column("document_number", sa.String(60)),
    sa.Column("external_reference", sa.String(50), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),  # in_flight | created | sent | failed
    sa.Column("external_id", sa.String(120)),
    sa.Column("external_number", sa.String(60)),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    # Payments (accounting → Tribe): the invoice total, what is still open, and when it changed.
    sa.Column("total_amount", sa.Numeric(18, 2)),
    sa.Column("balance", sa.Numeric(18, 2)),
    sa.Column("balance_changed_at", TS),
    sa.Column("paid_at", TS),
    sa.UniqueConstraint("integration", "scope", "document_type", "tribe_id", name="uq_export_ledger_document"),
    # The reference is unique where the accounting system checks it: per integration and scope
    # (one Tribe invoice may go to two legal entities, or two systems, each once).
    sa.UniqueConstraint("integration", "scope", "external_reference", name="uq_export_ledger_reference"),
)

staging = sa.Table(
    "staging", metadata,
    sa.Column("run_id", sa.String(250), primary_key=True),
    sa.Column("integration", sa.String(40), primary_key=True),
    sa.Column("scope", sa.String(80), primary_key=True, server_default="default"),
    sa.Column("stream", sa.String(60), primary_key=True),
    sa.Column("source_id", sa.String(120), primary_key=True),
    sa.Column("source_modified_at", TS),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("mapped", sa.JSON),
    sa.Column("match_keys", sa.JSON),
    sa.Column("decision", sa.String(20)),  # create | update | link | skip | conflict
    sa.Column("target_id", sa.String(120)),
    sa.Column("status", sa.String(20), nullable=False),  # extracted | mapped | decided | loaded | quarantined
    sa.Column("error", sa.Text),
    sa.Column("created_at", TS, nullable=False),
)

quarantine = sa.Table(
    "quarantine", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("integration", sa.String(40), nullable=False),
    sa.Column("scope", sa.String(80), nullable=False),
    sa.Column("system", sa.String(40), nullable=False),  # where the bad record lives
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
    sa.Column("dismissed_by", sa.String(128)),  # set when a person stopped its retries (not fixed)
    # What a person can do about it besides fixing the source (the page's controls): an unmapped
    # code → {"kind": "unmapped_code", setting, code, variable}; a match by number whose names
    # differ → {"kind": "number_match", key, source_name, target_id, target_name}; a dedupe hold
    # → {"kind": "held", "at_fault": system}.
    sa.Column("action", sa.JSON),
    sa.UniqueConstraint("integration", "scope", "stream", "record_id", name="uq_quarantine_record"),
)

# A person's answer to a match by number held for its names (the page's "link anyway" / "create
# new"), per contact: dedupe follows it on the next runs. One row per contact and target set.
match_decision = sa.Table(
    "match_decision", metadata,
    sa.Column("integration", sa.String(40), primary_key=True),
    sa.Column("scope", sa.String(80), primary_key=True),
    sa.Column("entity_set", sa.String(120), primary_key=True),
    sa.Column("source_id", sa.String(120), primary_key=True),
    sa.Column("choice", sa.String(10), nullable=False),  # link | create
    sa.Column("target_id", sa.String(120)),  # the record "link anyway" accepts
    sa.Column("decided_by", sa.String(128), nullable=False),
    sa.Column("decided_at", TS, nullable=False),
)

sync_run = sa.Table(
    "sync_run", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(250), nullable=False),
    sa.Column("dag_id", sa.String(250)),
    sa.Column("integration", sa.String(40), nullable=False),
    sa.Column("scope", sa.String(80), nullable=False, server_default="default"),
    sa.Column("stream", sa.String(60), nullable=False),
    sa.Column("step", sa.String(20), nullable=False),  # extract | map | dedupe | load
    sa.Column("dry_run", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("window_start", TS),
    sa.Column("window_end", TS),
    sa.Column("counts", sa.JSON, nullable=False),
    sa.Column("started_at", TS, nullable=False),
    sa.Column("finished_at", TS, nullable=False),
    sa.UniqueConstraint("run_id", "integration", "scope", "stream", "step", name="uq_sync_run_step"),
)

# What one run did with each document it exported (a retry of the task replaces its row): the
# invoice summary's rows, and the tribe-sync page's ledger with customer and amount.
export_outcome = sa.Table(
    "export_outcome", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(250), nullable=False),
    sa.Column("dag_id", sa.String(250)),
    sa.Column("integration", sa.String(40), nullable=False),
    sa.Column("scope", sa.String(80), nullable=False),
    sa.Column("document_type", sa.String(40), nullable=False),
    sa.Column("tribe_id", sa.String(64), nullable=False),
    sa.Column("number", sa.String(60)),
    sa.Column("customer", sa.String(200)),
    sa.Column("amount", sa.Numeric(18, 2)),
    sa.Column("currency", sa.String(16)),  # as Tribe gave it: a bad code is shown, not refused
    sa.Column("status", sa.String(40), nullable=False),  # draft | booked | posted | already exported | would … | failed
    sa.Column("external_id", sa.String(120)),
    sa.Column("external_number", sa.String(60)),
    sa.Column("reason", sa.Text),
    sa.Column("finished_at", TS, nullable=False),
    sa.UniqueConstraint("run_id", "integration", "document_type", "tribe_id", name="uq_export_outcome_run"),
)

# One row per conflict: which fields differed on both sides, which side won each, and why.
conflict_audit = sa.Table(
    "conflict_audit", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("integration", sa.String(40), nullable=False),
    sa.Column("scope", sa.String(80), nullable=False),
    sa.Column("stream", sa.String(60), nullable=False),
    sa.Column("tribe_id", sa.String(64), nullable=False),
    sa.Column("external_id", sa.String(120), nullable=False),
    sa.Column("fields", sa.JSON, nullable=False),  # {field: {"tribe": …, "external": …, "winner": …}}
    sa.Column("run_id", sa.String(250)),
    sa.Column("detected_at", TS, nullable=False),
)

sa.Index("ix_conflict_audit_record", conflict_audit.c.integration, conflict_audit.c.tribe_id)
sa.Index("ix_staging_status", staging.c.run_id, staging.c.integration, staging.c.scope, staging.c.stream,
         staging.c.status)
sa.Index("ix_export_ledger_external", export_ledger.c.integration, export_ledger.c.scope, export_ledger.c.external_id)
sa.Index("ix_export_outcome_document", export_outcome.c.integration, export_outcome.c.tribe_id)
sa.Index("ix_quarantine_open", quarantine.c.integration, quarantine.c.resolved_at)

# Tribe webhook events already handled (replay protection): one row per event id.
# OAuth tokens kept between runs (Exact Online's single-use, rotating refresh tokens), encrypted
# with Airflow's Fernet key: one row per connection (and scope), locked while it is renewed.
oauth_token = sa.Table(
    "oauth_token", metadata,
    sa.Column("conn_id", sa.String(250), primary_key=True),
    sa.Column("scope", sa.String(80), primary_key=True),
    sa.Column("refresh_token", sa.Text, nullable=False),  # encrypted
    sa.Column("access_token", sa.Text),  # encrypted
    sa.Column("access_expires_at", TS),
    sa.Column("rotations", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("issued_at", TS),  # the database's clock after the answer (Exact: next one ≥ 570 s later)
    sa.Column("refused_access_hash", sa.String(64)),  # an access token the server refused: never sent again
    sa.Column("calls_day", sa.Date),  # token endpoint calls on this UTC day (Exact allows 200)
    sa.Column("calls", sa.Integer, nullable=False, server_default="0"),
)

webhook_event = sa.Table(
    "webhook_event", metadata,
    sa.Column("event_id", sa.String(64), primary_key=True),
    # One row per event and DAG it starts ("" for an event that starts none): fan-out.
    sa.Column("dag_id", sa.String(250), primary_key=True, server_default=""),
    sa.Column("received_at", TS, nullable=False),
    sa.Column("entity_type", sa.String(120), nullable=False),
    sa.Column("entity_id", sa.String(64), nullable=False),
    sa.Column("dag_run_id", sa.String(250)),
    sa.Column("status", sa.String(20), nullable=False),  # received | triggered | ignored | duplicate | failed
)

sa.Index("ix_webhook_event_received", webhook_event.c.received_at)
