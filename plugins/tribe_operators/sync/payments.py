"""Payments, accounting system → Tribe: what the system reports as settled becomes Paid in Tribe.

The system's payment adapter reads the invoices whose payment state changed in the window and
reports each as a :class:`Settlement` (amounts as ``Decimal``, in cents: a balance of
``0.30 - 0.1 - 0.2`` is zero, as the accountant sees it, where floats leave ``5.5e-17``). The
core keeps total and open amount in the export ledger, marks a settled invoice Paid in Tribe
once, and counts partial, unpaid, reversed and unknown ones.

Reversed: an invoice the system had reported settled that it now shows open again (the payment
taken back), or one the system reports cancelled by a reversal (``Settlement.reversed``). Tribe's
help articles say what a payment does ("the status is updated automatically in both systems"),
not what its reversal does, so Tribe is left as it is: the run reports it — counted under
``reversed`` and ``differences`` (the note's ⚠), logged by invoice number — and the ledger keeps
what is open (a cancelled invoice is never recorded as paid). Nor is a reversed payment booked
again from Tribe: the invoice keeps its ``paid_at``.

The other way (:func:`paid_in_crm`): an invoice marked Paid in Tribe whose entry the accounting
system still shows open. An adapter that can book the payment (``can_book``: its settings name
the journal) books it once — an export ledger row (document type ``payment``) is claimed before
the create and looked up (``find_payment``) after a lost answer; otherwise it is counted as a
difference (``differences``: the run's note flags it with ⚠ and the summary's column counts it) and logged by invoice — never
dropped.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

import sqlalchemy as sa

from tribe_operators.protocols import InvoiceSource
from tribe_operators.store.ledger import DONE, ExportLedger, record_balance
from tribe_operators.store.schema import export_ledger
from tribe_operators.sync.context import StepContext

__all__ = ["PAYMENT", "PaymentSource", "Settlement", "money", "paid_in_crm", "sync_payments"]

log = logging.getLogger(__name__)
CENT = Decimal("0.01")
PAYMENT = "payment"  # the export ledger's document type of a payment booked from Tribe


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
    counts = {"read": 0, "paid": 0, "partial": 0, "unpaid": 0, "reversed": 0, "unknown": 0, "already_paid": 0,
              "differences": 0}
    reversed_: list[str] = []
    for settlement in source.settlements(*ctx.window):
        counts["read"] += 1
        state = settlement.state
        if ctx.dry_run:
            counts[state] += 1
            counts["differences"] += state == "reversed"
            continue
        # Cancelled is not paid: a reversed invoice's balance stays what was invoiced, no paid_at.
        balance = settlement.total if settlement.reversed and settlement.open == 0 else settlement.open
        found = record_balance(ledger, settlement.external_id, total=settlement.total, balance=balance,
                               changed_at=settlement.changed_at)
        if found is None:
            counts["unknown"] += 1  # not one of ours (made in the accounting system itself)
            continue
        tribe_id, settled_before = found
        if state != "paid" and settled_before is not None:
            state = "reversed"  # settled before, open again now: its payment was taken back
        if state == "reversed":
            counts["reversed"] += 1
            counts["differences"] += 1
            row = ledger.get(tribe_id)
            reversed_.append((row.external_number if row else None) or tribe_id)
            continue
        if state != "paid":
            counts[state] += 1
            continue
        marked = invoices.mark_paid(tribe_id)
        if marked:
            log.info("invoice %s is paid (%s %s)", tribe_id, ctx.integration, settlement.external_id)
        counts["paid" if marked else "already_paid"] += 1
    if reversed_:
        log.warning("%d invoice(s) reversed in %s after being exported (a payment taken back or the entry "
                    "cancelled); Tribe is left as it is — look at them: %s", len(reversed_), ctx.integration,
                    ", ".join(reversed_))
    if hasattr(source, "can_book"):
        for key, n in paid_in_crm(ctx, source, invoices, ledger).items():
            counts[key] = counts.get(key, 0) + n
    return counts


def _unsettled(ledger: ExportLedger) -> list[tuple[str, str, str | None]]:
    """(tribe id, external id, number) of the exported invoices the accounting system has not
    reported settled (no ``paid_at``)."""
    c = export_ledger.c
    with ledger.engine.connect() as conn:
        rows = conn.execute(sa.select(c.tribe_id, c.external_id, c.external_number).where(
            *(c[k] == v for k, v in ledger.key.items()), c.state.in_(DONE), c.external_id.is_not(None),
            c.paid_at.is_(None)).order_by(c.tribe_id))
        return [(r.tribe_id, r.external_id, r.external_number) for r in rows]


_IDS_PER_READ = 50  # ids in one filter: a page of invoices per call, not a call per invoice


def _paid_in_crm(invoices: InvoiceSource, ids: list[str]) -> set[str]:
    """Which of ``ids`` the CRM shows Paid, read ``_IDS_PER_READ`` at a time."""
    paid: set[str] = set()
    for start in range(0, len(ids), _IDS_PER_READ):
        rows = invoices.pending(only=ids[start:start + _IDS_PER_READ], fields=("Phase.Code",))
        paid.update(str(row["ID"]) for row in rows if (row.get("Phase") or {}).get("Code") == "Paid")
    return paid


def paid_in_crm(ctx: StepContext, source: Any, invoices: InvoiceSource, ledger: ExportLedger) -> dict[str, int]:
    """Invoices Paid in Tribe that the accounting system still shows open: booked there once
    (``source.can_book()``), or reported as a difference."""
    payments = ExportLedger(ctx.engine, ctx.integration, ctx.scope, document_type=PAYMENT)
    counts = {"booked": 0, "booked_before": 0, "settled_already": 0, "differences": 0}
    differences: list[str] = []
    unsettled = _unsettled(ledger)
    paid = _paid_in_crm(invoices, [tribe_id for tribe_id, _, _ in unsettled])
    for tribe_id, external_id, number in unsettled:
        done = payments.get(tribe_id)
        if done is not None and done.state in DONE:
            counts["booked_before"] += 1  # the accounting system shows it settled at its next read
            continue
        if tribe_id not in paid:
            continue
        if not source.can_book():
            counts["differences"] += 1
            differences.append(number or tribe_id)
            continue
        if ctx.dry_run:
            counts["booked"] += 1
            continue
        reference = f"tribe-payment:{tribe_id}"
        earlier = done is not None  # claimed before: the create may have landed
        payments.claim(tribe_id, reference, number)
        found = source.find_payment(reference) if earlier else None
        if found is None:
            found = source.book_payment(external_id, reference)
            if found is None:
                counts["settled_already"] += 1  # nothing open any more: settled in the meantime
                payments.mark_sent(tribe_id, None)
                continue
        payments.mark_created(tribe_id, found)
        payments.mark_sent(tribe_id, None)
        counts["booked"] += 1
        log.info("invoice %s paid in Tribe: payment booked in %s (%s)", number or tribe_id, ctx.integration, found)
    if differences:
        log.warning("%d invoice(s) Paid in Tribe are still open in %s and no journal is set to book the payment "
                    "in (payments.%s in the settings): %s", len(differences), ctx.integration, ctx.scope,
                    ", ".join(differences))
    return counts
