"""Replay store for Tribe webhooks: the ``webhook_event`` table, one row per event id and DAG.

One event starts the export DAG of every enabled accounting system; each (event, DAG) is
*claimed* (inserted, committed) before its run is started, so two concurrent deliveries of
one event start at most one run per DAG. A start that failed leaves the row
``failed``, and a claim whose process died mid-way leaves it ``received``: Tribe's redelivery
may claim either again (the latter after ``IN_FLIGHT_TIMEOUT``), so no event is lost. Claiming
again is safe because the run id is derived from the event id: Airflow refuses a second run.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from tribe_operators.store.schema import webhook_event
from tribe_operators.store.upsert import upsert

__all__ = ["FINAL", "IN_FLIGHT_TIMEOUT", "WebhookEventRow", "WebhookEvents"]

# Statuses that end an event: a redelivery of it is a duplicate.
FINAL = frozenset({"triggered", "ignored", "duplicate"})
# A ``received`` row older than this belongs to a request that never finished.
IN_FLIGHT_TIMEOUT = timedelta(minutes=1)


@dataclass(frozen=True)
class WebhookEventRow:
    event_id: str
    received_at: datetime
    entity_type: str
    entity_id: str
    dag_id: str | None
    dag_run_id: str | None
    status: str


class WebhookEvents:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @staticmethod
    def _key(event_id: str, dag_id: str | None) -> sa.ColumnElement[bool]:
        return sa.and_(webhook_event.c.event_id == event_id, webhook_event.c.dag_id == (dag_id or ""))

    def claim(self, event_id: str, entity_type: str, entity_id: str, dag_id: str | None) -> bool:
        """Record (event, DAG) as ``received``; False when it is already known (done, or in flight).
        ``dag_id`` None: the event starts no DAG (it is recorded to be ignored once)."""
        now = datetime.now(UTC)
        row = {"event_id": event_id, "received_at": now, "entity_type": entity_type, "entity_id": entity_id,
               "dag_id": dag_id or "", "dag_run_id": None, "status": "received"}
        with self.engine.begin() as conn:
            if upsert(conn, webhook_event, [row], conflict=["event_id", "dag_id"]) == 1:  # new, not a replay
                return True
            # Known already: claim it again only if its start failed or its request never finished.
            unfinished = sa.or_(webhook_event.c.status == "failed",
                                sa.and_(webhook_event.c.status == "received",
                                        webhook_event.c.received_at < now - IN_FLIGHT_TIMEOUT))
            retried = conn.execute(sa.update(webhook_event).where(self._key(event_id, dag_id), unfinished)
                                   .values(status="received", received_at=now))
            return retried.rowcount == 1

    def finish(self, event_id: str, dag_id: str | None, status: str, dag_run_id: str | None = None) -> None:
        """``triggered`` / ``ignored`` / ``duplicate`` / ``failed``, with the run id if any."""
        with self.engine.begin() as conn:
            conn.execute(sa.update(webhook_event).where(self._key(event_id, dag_id))
                         .values(status=status, dag_run_id=dag_run_id))

    def deliveries(self, event_id: str) -> list[WebhookEventRow]:
        """What became of one event, one row per DAG it started (ordered by DAG id)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(webhook_event).where(webhook_event.c.event_id == event_id)
                                .order_by(webhook_event.c.dag_id)).all()
        return [WebhookEventRow(row.event_id, row.received_at if row.received_at.tzinfo
                                else row.received_at.replace(tzinfo=UTC), row.entity_type, row.entity_id,
                                row.dag_id or None, row.dag_run_id, row.status) for row in rows]

    def get(self, event_id: str, dag_id: str | None = None) -> WebhookEventRow | None:
        """One delivery of the event: for ``dag_id``, or the first when none is named."""
        rows = [r for r in self.deliveries(event_id) if dag_id is None or r.dag_id == dag_id]
        return rows[0] if rows else None
