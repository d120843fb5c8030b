"""The export ledger: one row per document sent to accounting, so a retry never posts twice.

States: ``in_flight`` (claimed, the remote create may or may not have happened) →
``created`` (remote id committed) → ``sent`` (booked). ``failed`` keeps the last error for
the UI; a later attempt claims the row again. The row is written *before* the remote call
with a unique external reference, and the remote id is committed right after it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa

from tribe_operators.store.schema import export_ledger
from tribe_operators.store.upsert import upsert

__all__ = ["DONE", "ExportLedger", "LedgerRow", "record_balance"]

DONE = frozenset({"created", "sent"})


@dataclass(frozen=True)
class LedgerRow:
    tribe_id: str
    external_reference: str
    state: str
    external_id: str | None
    external_number: str | None
    attempts: int
    created_at: datetime


class ExportLedger:
    def __init__(self, engine: sa.Engine, integration: str, scope: str = "default",
                 document_type: str = "invoice") -> None:
        self.engine = engine
        self.key = {"integration": integration, "scope": scope, "document_type": document_type}

    def _where(self, tribe_id: str) -> sa.ColumnElement[bool]:
        return sa.and_(*(export_ledger.c[k] == v for k, v in self.key.items()), export_ledger.c.tribe_id == tribe_id)

    def get(self, tribe_id: str) -> LedgerRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(export_ledger).where(self._where(tribe_id))).first()
        if row is None:
            return None
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
        return LedgerRow(row.tribe_id, row.external_reference, row.state, row.external_id, row.external_number,
                         row.attempts, created)

    def claim(self, tribe_id: str, reference: str, document_number: str | None) -> LedgerRow:
        """Create the ``in_flight`` row (committed) unless one exists; count the attempt."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            upsert(conn, export_ledger, [{**self.key, "tribe_id": tribe_id, "document_number": document_number,
                                          "external_reference": reference, "state": "in_flight", "attempts": 0,
                                          "created_at": now, "updated_at": now}],
                   conflict=["integration", "scope", "document_type", "tribe_id"])
            conn.execute(sa.update(export_ledger).where(self._where(tribe_id))
                         .values(attempts=export_ledger.c.attempts + 1, updated_at=now))
        row = self.get(tribe_id)
        assert row is not None
        return row

    def _set(self, tribe_id: str, **values: object) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.update(export_ledger).where(self._where(tribe_id))
                         .values(**values, updated_at=datetime.now(UTC)))

    def mark_created(self, tribe_id: str, external_id: str, external_number: str | None = None) -> None:
        """Commit the remote id — immediately after the remote create returns."""
        self._set(tribe_id, state="created", external_id=str(external_id), external_number=external_number,
                  last_error=None)

    def mark_sent(self, tribe_id: str, external_number: str | None) -> None:
        self._set(tribe_id, state="sent", external_number=external_number, last_error=None)

    def mark_failed(self, tribe_id: str, error: str) -> None:
        """Keep the error; the state stays as it was so a retry knows what may have happened."""
        self._set(tribe_id, last_error=error[:2000])

    def states(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(export_ledger.c.state, sa.func.count()).where(
                *(export_ledger.c[k] == v for k, v in self.key.items())).group_by(export_ledger.c.state))
            return {state: n for state, n in rows}


def record_balance(ledger: ExportLedger, external_id: str, *, total: Decimal, balance: Decimal,
                   changed_at: datetime | None) -> tuple[str, str | None] | None:
    """Store an invoice's open balance; returns ``(tribe_id, previous paid_at)`` or None if unknown."""
    where = sa.and_(*(export_ledger.c[k] == v for k, v in ledger.key.items()),
                    export_ledger.c.external_id == str(external_id))
    with ledger.engine.begin() as conn:
        row = conn.execute(sa.select(export_ledger.c.tribe_id, export_ledger.c.paid_at).where(where)).first()
        if row is None:
            return None
        values: dict[str, object] = {"total_amount": total, "balance": balance, "balance_changed_at": changed_at,
                                     "updated_at": datetime.now(UTC)}
        if balance == 0 and row.paid_at is None:
            values["paid_at"] = changed_at or datetime.now(UTC)
        conn.execute(sa.update(export_ledger).where(where).values(**values))
    return row.tribe_id, row.paid_at
