"""Payments, PowerOffice → Tribe: an invoice whose balance reaches 0 moves to Paid in Tribe.

PowerOffice says "paid" as ``OutgoingInvoice.Balance == 0``. Partial payments are recorded
in the export ledger (total, open balance, when it changed) — not marked Paid.
"""
from __future__ import annotations

import logging
from typing import Any

from tribe_operators.store.ledger import ExportLedger, record_balance
from tribe_operators.sync.context import StepContext
from tribe_operators.timeutil import iso_timestamp, parse_timestamp

__all__ = ["sync_payments"]

log = logging.getLogger(__name__)


def sync_payments(ctx: StepContext, po: Any, tribe: Any) -> dict[str, int]:
    """Read invoices whose balance changed in the window; update the ledger and Tribe."""
    since, until = ctx.window
    params: dict[str, Any] = {"onlyCreatedByCurrentIntegration": True}
    if since is not None:
        params["balanceLastChangedDateTimeOffsetGreaterThan"] = iso_timestamp(since)
    ledger = ExportLedger(ctx.engine, ctx.integration, ctx.scope)
    paid_phase = None
    counts = {"read": 0, "paid": 0, "partial": 0, "unpaid": 0, "unknown": 0, "already_paid": 0}
    for invoice in po.iter_records("OutgoingInvoices", params):
        changed = parse_timestamp(invoice.get("BalanceLastChangedDateTimeOffset"))
        if until is not None and changed is not None and changed > until:
            continue  # the next window's
        counts["read"] += 1
        total, balance = float(invoice.get("TotalPostedAmount") or invoice.get("TotalAmount") or 0), \
            float(invoice.get("Balance") or 0)
        if ctx.dry_run:
            counts["paid" if balance == 0 else "partial" if balance != total else "unpaid"] += 1
            continue
        found = record_balance(ledger, invoice["Id"], total=total, balance=balance, changed_at=changed)
        if found is None:
            counts["unknown"] += 1  # not one of ours (made in PowerOffice itself)
            continue
        tribe_id, _ = found
        if balance != 0:
            counts["partial" if balance != total else "unpaid"] += 1
            continue
        paid_phase = paid_phase or tribe.codes("Datastore_Phase_ActivityInvoice")["Paid"]
        if _mark_paid(tribe, tribe_id, paid_phase):
            counts["paid"] += 1
        else:
            counts["already_paid"] += 1
    return counts


def _mark_paid(tribe: Any, tribe_id: str, paid_phase: str) -> bool:
    current = tribe.get("Activity_Invoice", tribe_id, expand="Phase($select=Code)")
    if (current.get("Phase") or {}).get("Code") == "Paid":
        return False
    tribe.update("Activity_Invoice", tribe_id, {"Phase": {"ID": paid_phase}})
    log.info("Tribe invoice %s (%s) is paid", current.get("Number"), tribe_id)
    return True
