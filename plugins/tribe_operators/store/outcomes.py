"""``export_outcome``: what one run did with each document it exported — one row per invoice
in the summary, with number, customer, amount, status, the accounting id and a failure's reason."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from tribe_operators.store.schema import export_outcome
from tribe_operators.store.upsert import upsert

__all__ = ["record_outcome", "run_outcomes"]

AMOUNT_LIMIT = Decimal(10) ** 16  # Numeric(18, 2): 16 digits before the point


def record_outcome(engine: sa.Engine, *, run_id: str, dag_id: str | None, integration: str, scope: str | None,
                   tribe_id: str, status: str, number: str | None = None, customer: str | None = None,
                   amount: Decimal | float | str | None = None, currency: str | None = None,
                   external_id: str | None = None, external_number: str | None = None, reason: str | None = None,
                   document_type: str = "invoice") -> None:
    """Store (a task retry: replace) the outcome of one document in one run.

    The values describe a document that may itself be bad (a currency 'EURO', a customer name
    longer than any column): each is kept as given where it fits, shortened with "…" where it
    does not, and an amount that is no number is left out — the row is always written, so the
    summary lists every invoice of the run."""
    row = _fitted({"run_id": run_id, "dag_id": dag_id, "integration": integration, "scope": scope or "-",
                   "document_type": document_type, "tribe_id": tribe_id, "number": number,
                   "customer": customer or None, "amount": _amount(amount), "currency": currency,
                   "status": status, "external_id": external_id, "external_number": external_number,
                   "reason": reason, "finished_at": datetime.now(UTC)})
    with engine.begin() as conn:
        upsert(conn, export_outcome, [row], conflict=["run_id", "integration", "document_type", "tribe_id"],
               update=[c for c in row if c not in ("run_id", "integration", "document_type", "tribe_id")])


def _amount(value: Decimal | float | str | None) -> Decimal | None:
    """The amount if it is a number the column can hold (Numeric(18, 2)), else None."""
    try:
        amount = Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None
    return amount if amount is not None and amount.is_finite() and abs(amount) < AMOUNT_LIMIT else None


def _fitted(row: dict[str, Any]) -> dict[str, Any]:
    """Every text value within its column's length (cut with "…")."""
    for name, value in row.items():
        length = getattr(export_outcome.c[name].type, "length", None)
        if isinstance(value, str) and length and len(value) > length:
            row[name] = value[: length - 1] + "…"
    return row


def run_outcomes(engine: sa.Engine, run_id: str) -> list[dict[str, Any]]:
    """The documents of one run, in the order they finished."""
    with engine.connect() as conn:
        return [r._asdict() for r in conn.execute(
            sa.select(export_outcome).where(export_outcome.c.run_id == run_id).order_by(export_outcome.c.id))]
