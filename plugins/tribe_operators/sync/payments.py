"""Payments, accounting system → Tribe: what the system reports as settled becomes Paid in Tribe.

The system's payment adapter reads the invoices whose payment state changed in the window and
reports each as a :class:`Settlement` (amounts as ``Decimal``, in cents: a balance of
``0.30 - 0.1 - 0.2`` is zero, as the accountant sees it, where floats leave ``5.5e-17``). The
core keeps total and open amount in the export ledger, marks a settled invoice Paid in Tribe
once, and counts partial, unpaid, reversed and unknown ones.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from tribe_operators.store.ledger import ExportLedger, record_balance
from tribe_operators.sync.context import StepContext
from tribe_operators.protocols import InvoiceSource

__all__ = ["PaymentSource", "Settlement", "money", "sync_payments"]

log = logging.getLogger(__name__)
CENT = Decimal("0.01")


def money(value: Any) -> Decimal:
    """An amount as the APIs send it (a JSON number or text) → ``Decimal`` in cents."""
    if value in (None, ""):
        return Decimal("0.00")
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Settlement:
    external_id: str  # the invoice in the accounting system (the ledger's external_id)
    total: Decimal
    open: Decimal  # what is still to be paid
    changed_at: datetime | None
    reversed: bool = False  # cancelled by a credit note / reversal after being booked

    @property
    def state(self) -> str:
        if self.reversed:
            return "reversed"
        if self.open == 0:
            return "paid"
        return "partial" if self.open != self.total else "unpaid"


class PaymentSource(Protocol):
    """A system's payment adapter (``System.payments``), built on its hook."""

    def settlements(self, since: datetime | None, until: datetime | None) -> Iterator[Settlement]:
        """Invoices of ours whose payment state changed in ``(since, until]``."""


def sync_payments(ctx: StepContext, source: PaymentSource, invoices: InvoiceSource) -> dict[str, int]:
    """Record the window's settlements in the ledger; Paid in Tribe for the settled ones."""
    ledger = ExportLedger(ctx.engine, ctx.integration, ctx.scope)
    counts = {"read": 0, "paid": 0, "partial": 0, "unpaid": 0, "reversed": 0, "unknown": 0, "already_paid": 0}
    for settlement in source.settlements(*ctx.window):
        counts["read"] += 1
        state = settlement.state
        if ctx.dry_run:
            counts[state] += 1
            continue
        found = record_balance(ledger, settlement.external_id, total=settlement.total, balance=settlement.open,
                               changed_at=settlement.changed_at)
        if found is None:
            counts["unknown"] += 1  # not one of ours (made in the accounting system itself)
            continue
        if state != "paid":
            counts[state] += 1
            if state == "reversed":
                log.warning("invoice %s was reversed in %s after it was exported", settlement.external_id,
                            ctx.integration)
            continue
        marked = invoices.mark_paid(found[0])
        if marked:
            log.info("invoice %s is paid (%s %s)", found[0], ctx.integration, settlement.external_id)
        counts["paid" if marked else "already_paid"] += 1
    return counts
