"""Quarantine: records that could not be synced, with system, stream, id, field and reason.

One open row per record: seeing the same bad record again bumps ``attempts``; a later
successful sync resolves it. A person may *dismiss* one (stop its retries): it is closed like a
resolved row, with ``dismissed_by`` saying who; read again (changed at the source) and still
bad, it opens again.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tribe_operators.store.schema import quarantine
from tribe_operators.store.upsert import upsert

__all__ = ["Quarantine", "held_records", "run_quarantine"]


class Quarantine:
    def __init__(self, engine: sa.Engine, integration: str, scope: str = "default") -> None:
        self.engine = engine
        self.integration = integration
        self.scope = scope

    def add(self, rows: Iterable[dict[str, Any]], *, system: str, stream: str, run_id: str) -> int:
        """Quarantine ``rows`` of ``{record_id, field, reason, payload}`` and, where a person can
        act on it besides fixing the source, ``action`` (``schema.quarantine``)."""
        now = datetime.now(UTC)
        batch = [{"integration": self.integration, "scope": self.scope, "system": system, "stream": stream,
                  "record_id": str(r["record_id"]), "field": r.get("field"), "reason": r["reason"],
                  "payload": r.get("payload"), "action": r.get("action"), "run_id": run_id, "attempts": 1,
                  "first_seen_at": now, "last_seen_at": now, "resolved_at": None, "dismissed_by": None}
                 for r in rows]
        if not batch:
            return 0
        with self.engine.begin() as conn:
            # Keep first_seen_at; bump attempts on a repeat sighting.
            existing = {r.record_id: r.attempts for r in conn.execute(
                sa.select(quarantine.c.record_id, quarantine.c.attempts).where(
                    quarantine.c.integration == self.integration, quarantine.c.scope == self.scope,
                    quarantine.c.stream == stream,
                    quarantine.c.record_id.in_([b["record_id"] for b in batch])))}
            for row in batch:
                row["attempts"] = existing.get(row["record_id"], 0) + 1
            upsert(conn, quarantine, batch, conflict=["integration", "scope", "stream", "record_id"],
                   update=["system", "field", "reason", "payload", "action", "run_id", "attempts", "last_seen_at",
                           "resolved_at", "dismissed_by"])
        return len(batch)

    def resolve(self, stream: str, record_ids: Iterable[str], *, dismissed_by: str | None = None) -> int:
        """Close open rows: fixed (they synced fine this time), or ``dismissed_by`` a person
        (no more retries). Returns how many were open."""
        ids = [str(i) for i in record_ids]
        if not ids:
            return 0
        with self.engine.begin() as conn:
            return conn.execute(sa.update(quarantine).where(
                quarantine.c.integration == self.integration, quarantine.c.scope == self.scope,
                quarantine.c.stream == stream, quarantine.c.record_id.in_(ids),
                quarantine.c.resolved_at.is_(None)).values(resolved_at=datetime.now(UTC),
                                                           dismissed_by=dismissed_by)).rowcount

    def open(self, stream: str | None = None) -> list[dict[str, Any]]:
        where = [quarantine.c.integration == self.integration, quarantine.c.scope == self.scope,
                 quarantine.c.resolved_at.is_(None)]
        if stream:
            where.append(quarantine.c.stream == stream)
        with self.engine.connect() as conn:
            return [r._asdict() for r in conn.execute(sa.select(quarantine).where(*where)
                                                      .order_by(quarantine.c.stream, quarantine.c.record_id))]


def run_quarantine(engine: sa.Engine, run_id: str) -> list[dict[str, Any]]:
    """The records a run quarantined (or saw still bad), still open: what its summary lists. With
    ``first_seen_at``, which tells the ones new in this run from those open from before."""
    with engine.connect() as conn:
        return [r._asdict() for r in conn.execute(
            sa.select(quarantine.c.integration, quarantine.c.scope, quarantine.c.system, quarantine.c.stream,
                      quarantine.c.record_id, quarantine.c.field, quarantine.c.reason, quarantine.c.attempts,
                      quarantine.c.first_seen_at)
            .where(quarantine.c.run_id == run_id, quarantine.c.resolved_at.is_(None))
            .order_by(quarantine.c.stream, quarantine.c.record_id))]


def held_records(engine: sa.Engine, integration: str, stream: str, record_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Of ``record_ids``, those held in quarantine in any scope — open, or dismissed by a person —
    by record id (``run_id`` is the run that last saw it fail)."""
    held: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        for start in range(0, len(record_ids), 500):
            rows = conn.execute(sa.select(quarantine.c.record_id, quarantine.c.run_id, quarantine.c.reason,
                                          quarantine.c.dismissed_by, quarantine.c.first_seen_at).where(
                quarantine.c.integration == integration, quarantine.c.stream == stream,
                quarantine.c.record_id.in_(record_ids[start:start + 500]),
                sa.or_(quarantine.c.resolved_at.is_(None), quarantine.c.dismissed_by.is_not(None))))
            held.update({r.record_id: r._asdict() for r in rows})
    return held


def dedupe_holds(engine: sa.Engine, integration: str, scope: str, streams: list[str]) -> dict[str, str]:
    """``{record id: reason}`` of the records dedupe holds open in these streams (action kind
    ``held``: undecidable which record they are), not those a mapping refused."""
    if not streams:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(sa.select(quarantine.c.record_id, quarantine.c.reason, quarantine.c.action).where(
            quarantine.c.integration == integration, quarantine.c.scope == scope,
            quarantine.c.stream.in_(streams), quarantine.c.resolved_at.is_(None)))
        return {r.record_id: r.reason for r in rows if (r.action or {}).get("kind") == "held"}
