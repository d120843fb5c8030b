"""Invoices, Tribe → PowerOffice, exactly once.

The export ledger is written *before* the remote create, with a unique
``ExternalImportReference``; the remote id is committed right after. An attempt that finds
its row still ``in_flight`` (a crash, a lost response) searches PowerOffice for that
reference before creating anything. Sending (booking) is guarded the same way: an attempt
first checks whether the order already became an outgoing invoice.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from tribe_operators.exceptions import AmbiguousWriteError, ApiClientError, NotFoundError, RecordError
from tribe_operators.mapping.engine import Mapper
from tribe_operators.mapping.transforms import MapContext
from tribe_operators.store.ledger import DONE, ExportLedger
from tribe_operators.sync.context import StepContext

__all__ = ["EXPAND", "export_invoice", "invoice_reference", "select_sent_invoices"]

log = logging.getLogger(__name__)
EXPAND = ("Phase($select=Code),Relationship($select=ID),"
          "ProductLines($expand=Product($select=ID,Code),Unit($select=Code),VatGroup($select=Code))")


def invoice_reference(tribe_id: str) -> str:
    """The ``ExternalImportReference`` of an invoice: unique, stable, ≤ 50 characters."""
    return f"tribe:{tribe_id}"


def select_sent_invoices(tribe: Any, ledger: ExportLedger, *, since: Any = None,
                         only: list[str] | None = None) -> list[dict[str, str]]:
    """Sent (or Paid) invoices not yet fully exported, as small dicts for task mapping."""
    phase = "(Phase/Code eq 'Sent' or Phase/Code eq 'Paid')"
    if only:
        ids = " or ".join(f"ID eq {i}" for i in only)
        expr = f"{phase} and ({ids})"
    elif since is not None:
        expr = f"{phase} and LastMutationDate gt {since.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}"
    else:
        expr = phase
    found = []
    for row in tribe.iter_records("Activity_Invoice", filter=expr, select=["ID", "Number"]):
        done = ledger.get(row["ID"])
        if done is None or done.state not in DONE:
            found.append({"tribe_id": row["ID"], "number": str(row.get("Number") or row["ID"][:8])})
    return found


def export_invoice(ctx: StepContext, tribe: Any, po: Any, tribe_id: str) -> dict[str, Any]:
    """Export one invoice; returns ``{status, sales_order_id, invoice_no}``.

    Raises:
        RecordError: the invoice cannot be mapped (it is quarantined first).
        RetryableError: try again later (the ledger makes that safe).
    """
    ledger = ExportLedger(ctx.engine, ctx.integration, ctx.scope)
    mode = str(ctx.settings.get("invoice_mode", "draft"))
    row = ledger.get(tribe_id)
    if row is not None and (row.state == "sent" or (row.state == "created" and mode == "draft")):
        return {"status": "already exported", "sales_order_id": row.external_id, "invoice_no": row.external_number}
    invoice = tribe.get("Activity_Invoice", tribe_id, expand=EXPAND)
    mapped = _map(ctx, po, invoice)
    if ctx.dry_run:
        return {"status": f"would export as {mode}", "lines": len(mapped["SalesOrderLines"])}

    reference = invoice_reference(tribe_id)
    row = ledger.claim(tribe_id, reference, str(invoice.get("Number")))
    order_id = row.external_id
    try:
        if row.state == "in_flight":
            if row.attempts > 1:  # an earlier attempt may have created it: look before creating
                order_id = _find_order(po, reference, row.created_at)
            if order_id is None:
                order_id = _create(po, {**mapped, "ExternalImportReference": reference}, reference, row.created_at)
            ledger.mark_created(tribe_id, order_id)
            log.info("invoice %s → sales order %s (%s)", invoice.get("Number"), order_id, reference)
        invoice_no = _send(ctx, po, order_id) if mode == "booked" else None
    except RecordError as exc:  # PowerOffice refused it: on record for the on-call, in both places
        ledger.mark_failed(tribe_id, exc.reason)
        ctx.quarantine.add([{"record_id": tribe_id, "field": exc.field, "reason": exc.reason,
                             "payload": {"Number": invoice.get("Number")}}],
                           system="poweroffice", stream=ctx.spec.stream, run_id=ctx.run_id)
        raise
    ctx.quarantine.resolve(ctx.spec.stream, [tribe_id])  # exported: an earlier refusal is settled
    if mode != "booked":
        return {"status": "draft", "sales_order_id": order_id, "invoice_no": None}
    ledger.mark_sent(tribe_id, invoice_no)
    return {"status": "booked", "sales_order_id": order_id, "invoice_no": invoice_no}


def _map(ctx: StepContext, po: Any, invoice: dict[str, Any]) -> dict[str, Any]:
    lookups = {name: po.codes(lk.entity_set, lk.key, lk.value) for name, lk in ctx.spec.lookups.items()}
    links = ctx.links
    mapper = Mapper(ctx.spec, MapContext(lookups=lookups, settings=ctx.settings,
                                         links=lambda entity, tid: links.to_external(entity, tid)))
    try:
        return mapper.map(invoice).fields
    except RecordError as exc:
        if not ctx.dry_run:
            ctx.quarantine.add([{"record_id": invoice["ID"], "field": exc.field, "reason": exc.reason,
                                 "payload": {"Number": invoice.get("Number")}}],
                               system="tribe", stream=ctx.spec.stream, run_id=ctx.run_id)
        raise


def _find_order(po: Any, reference: str, claimed_at: Any) -> str | None:
    """The sales order (or the outgoing invoice it became) carrying our reference, if any."""
    since = claimed_at - timedelta(minutes=10)
    for order in po.iter_records("SalesOrders", {"onlyCreatedByCurrentIntegration": True,
                                                 "lastChangedDateTimeOffsetGreaterThan": since.isoformat()}):
        if order.get("ExternalImportReference") == reference:
            return str(order["Id"])
    for inv in po.iter_records("OutgoingInvoices", {"onlyCreatedByCurrentIntegration": True,
                                                    "fromDate": (since - timedelta(days=1)).date().isoformat()}):
        if inv.get("ExternalImportReference") == reference:
            return str(inv["Id"])
    return None


def _create(po: Any, body: dict[str, Any], reference: str, claimed_at: Any) -> str:
    try:
        return str(po.create("SalesOrders/Complete", body)["Id"])
    except AmbiguousWriteError:
        found = _find_order(po, reference, claimed_at)
        if found is None:
            raise  # nothing landed: the task retry creates it, guarded by the same ledger row
        return found
    except ApiClientError as exc:
        if exc.status == 400 and "ExternalImportReference" in exc.message:
            found = _find_order(po, reference, claimed_at)  # PowerOffice already has it
            if found is not None:
                return found
        raise RecordError(None, f"PowerOffice refused the sales order: {exc.message}") from exc


def _send(ctx: StepContext, po: Any, order_id: str) -> str | None:
    """Complete and send the order, unless it already became an outgoing invoice."""
    try:
        return str(po.get("OutgoingInvoices", order_id).get("InvoiceNo"))
    except NotFoundError:
        pass
    body = {"DeliveryType": ctx.settings.get("invoice_delivery_type", "PdfByEmail")}
    refused: ApiClientError | None = None
    try:
        po.client.request("POST", f"SalesOrders/{order_id}/createAndSendInvoice", json=body)
    except AmbiguousWriteError:
        pass  # did it go through? the outgoing invoice tells
    except ApiClientError as exc:
        refused = exc
    try:
        return str(po.get("OutgoingInvoices", order_id).get("InvoiceNo"))
    except NotFoundError as exc:
        if refused is not None:
            raise RecordError(None, f"PowerOffice refused to send sales order {order_id}: {refused.message}") from exc
        raise AmbiguousWriteError(f"sales order {order_id}: sent, but no outgoing invoice yet") from exc
