"""Invoices, Tribe → an accounting system, exactly once.

The export ledger row is written *before* the remote create, with a reference unique per
integration and scope that the document carries; the remote id is committed right after. An
attempt that finds its row still ``in_flight`` (a crash, a lost response) asks the system for
that reference before creating anything. Booking / posting is guarded the same way: the
system is asked whether the document is posted already before and after posting it.

What is the system's own (how to create, find by reference, post, number) is its invoice
adapter's (``systems.protocols.InvoiceTarget``); where invoices come from is the CRM's
(``InvoiceSource``). Each invoice goes to one scope (legal entity, division), chosen per
invoice by the settings' ``invoice_scope`` rule.
"""
from __future__ import annotations

import logging
from typing import Any

from tribe_operators.dedupe.keys import field_value
from tribe_operators.exceptions import AmbiguousWriteError, ApiClientError, DuplicateReferenceError, RecordError
from tribe_operators.mapping.engine import Mapper
from tribe_operators.mapping.transforms import MapContext
from tribe_operators.protocols import DocumentSource, DocumentTarget, Exported, InvoiceSource, InvoiceTarget
from tribe_operators.store.ledger import DONE, ExportLedger
from tribe_operators.sync.context import StepContext
from tribe_operators.sync.documents import attach_invoice_document, unfinished_documents
from tribe_operators.sync.lookups import run_lookups

__all__ = ["export_invoice", "invoice_reference", "invoice_scope", "quarantine_invoice", "select_sent_invoices"]

log = logging.getLogger(__name__)


def invoice_reference(tribe_id: str) -> str:
    """The unique reference a document carries in the accounting system: stable, ≤ 50 characters."""
    return f"tribe:{tribe_id}"


def invoice_scope(settings: dict[str, Any], invoice: dict[str, Any]) -> str:
    """The scope an invoice goes to, by the settings' ``invoice_scope`` rule.

    Raises:
        RecordError: the invoice names a legal entity no scope serves (named, with the field).
    """
    rule = settings.get("invoice_scope") or {}
    path = rule.get("field")
    value = field_value(invoice, path.replace(".", "/")) if path else None
    if value in (None, ""):
        return str(rule.get("default", "default"))
    scope = (rule.get("map") or {}).get(str(value), str(value))
    if scope not in (settings.get("scopes") or {"default": {}}):
        raise RecordError(path, f"legal entity {value!r} is not served: add it to invoice_scope.map "
                                f"(or as a scope) in the settings")
    return scope


def select_sent_invoices(source: InvoiceSource, ledger_for: Any, settings: dict[str, Any], *, since: Any = None,
                         only: list[str] | None = None, numbers: list[int] | None = None,
                         exported: list[dict[str, Any]] | None = None) -> list[dict[str, str | None]]:
    """Sent (or Paid) invoices not yet exported, as small dicts for task mapping:
    ``{tribe_id, number, customer, amount, currency, scope}`` (ids and what a task label says);
    ``scope`` is None (and ``error`` says why) when the rule cannot place it, so that invoice's
    own task quarantines it.

    ``ledger_for(scope)`` gives the export ledger of a scope; the invoices left out because
    they are exported already are appended to ``exported`` (when given) for the log.
    """
    rule_field = (settings.get("invoice_scope") or {}).get("field")
    ledgers: dict[str, ExportLedger] = {}
    unfinished: dict[str, set[str]] = {}
    found: list[dict[str, str | None]] = []
    for row in source.pending(since=since, only=only, numbers=numbers, fields=(rule_field,) if rule_field else ()):
        amount = row.get("amount")
        item: dict[str, str | None] = {"tribe_id": row["ID"], "number": str(row.get("Number") or row["ID"][:8]),
                                       "customer": (row.get("customer") or "")[:60] or None,
                                       "amount": None if amount is None else str(amount),
                                       "currency": row.get("currency")}
        try:
            item["scope"] = invoice_scope(settings, row)
        except RecordError as exc:
            found.append({**item, "scope": None, "field": exc.field, "error": exc.reason})
            continue
        ledger = ledgers.setdefault(item["scope"], ledger_for(item["scope"]))
        done = ledger.get(row["ID"])
        if item["scope"] not in unfinished:  # exported, but its document still to do (sync.documents)
            unfinished[item["scope"]] = unfinished_documents(ledger)
        if done is None or done.state not in DONE or row["ID"] in unfinished[item["scope"]]:
            found.append(item)
        elif exported is not None:
            exported.append({**item, "state": done.state, "external_id": done.external_id,
                             "external_number": done.external_number})
    return found


def export_invoice(ctx: StepContext, source: InvoiceSource, target: InvoiceTarget, tribe_id: str) -> dict[str, Any]:
    """Export one invoice into ``ctx.scope``; returns ``{status, external_id, number}``.

    Raises:
        RecordError: the invoice cannot be mapped or was refused (it is quarantined first).
        RetryableError: try again later (the ledger makes that safe).
    """
    ledger = ExportLedger(ctx.engine, ctx.integration, ctx.scope)
    row = ledger.get(tribe_id)
    if row is not None and (row.state == "sent" or (row.state == "created" and not target.posts)):
        if not ctx.dry_run:  # its document may still be missing (an earlier attempt stopped there)
            _attach_document(ctx, source, target, {"ID": tribe_id, "Number": row.external_number},
                             Exported(row.external_id, row.external_number))  # type: ignore[arg-type]
        return {"status": "already exported", "external_id": row.external_id, "number": row.external_number}
    invoice = source.read(tribe_id)
    mapped = _map(ctx, target, invoice)
    if ctx.dry_run:
        return {"status": f"would export as {target.posted_as if target.posts else 'draft'}", "scope": ctx.scope}

    reference = invoice_reference(tribe_id)
    row = ledger.claim(tribe_id, reference, str(invoice.get("Number")))
    try:
        external_id, number = row.external_id, row.external_number
        if row.state == "in_flight":
            # An earlier attempt may have created it: look before creating.
            exported = target.find(reference, row.created_at) if row.attempts > 1 else None
            exported = exported or _create(target, mapped, reference, row.created_at)
            external_id, number = exported.external_id, exported.number
            ledger.mark_created(tribe_id, external_id, number)
            log.info("invoice %s → %s %s (%s, scope %s)", invoice.get("Number"), target.title, external_id,
                     reference, ctx.scope)
        if target.posts:
            number = _post(target, external_id)
    except RecordError as exc:  # the system refused it: on record for the on-call, in both places
        ledger.mark_failed(tribe_id, exc.reason)
        quarantine_invoice(ctx, invoice, exc, refused=True)
        raise
    _attach_document(ctx, source, target, invoice, Exported(external_id, number))  # type: ignore[arg-type]
    ctx.quarantine.resolve(ctx.spec.stream, [tribe_id])  # exported: an earlier refusal is settled
    if not target.posts:
        return {"status": "draft", "external_id": external_id, "number": number, "scope": ctx.scope}
    ledger.mark_sent(tribe_id, number)
    return {"status": target.posted_as, "external_id": external_id, "number": number, "scope": ctx.scope}


def quarantine_invoice(ctx: StepContext, invoice: dict[str, Any], exc: RecordError, *, refused: bool = False) -> None:
    """On record for the on-call: the invoice (``ID``, ``Number``), the field and the reason,
    under the system at fault: the accounting system when it ``refused`` it, else the source."""
    ctx.quarantine_records([{"record_id": invoice["ID"], "field": exc.field, "reason": exc.reason,
                             "payload": {"Number": invoice.get("Number")}, "action": exc.action}],
                           system=ctx.spec.target.system if refused else ctx.spec.source.system)


def _attach_document(ctx: StepContext, source: InvoiceSource, target: InvoiceTarget, invoice: dict[str, Any],
                     exported: Exported) -> None:
    """The invoice's document and its file (``sync.documents``), where the CRM has documents and
    the accounting system attaches them; a refusal is on record like the invoice's own."""
    if not (isinstance(source, DocumentSource) and isinstance(target, DocumentTarget)):
        return
    try:
        attach_invoice_document(source, target, invoice["ID"], exported, engine=ctx.engine,
                                integration=ctx.integration, scope=ctx.scope,
                                number=str(invoice["Number"]) if invoice.get("Number") is not None else None)
    except RecordError as exc:
        quarantine_invoice(ctx, invoice, exc, refused=True)
        raise


def _map(ctx: StepContext, target: InvoiceTarget, invoice: dict[str, Any]) -> dict[str, Any]:
    # Read once per run and scope, shared by the run's invoice tasks (sync.lookups).
    lookups = run_lookups(ctx, lambda lk: target.lookup_table(lk.entity_set, lk.key, lk.value))
    links = ctx.relation_links
    mapper = Mapper(ctx.spec, MapContext(lookups=lookups, settings=ctx.settings, scope=ctx.scope,
                                         integration=ctx.integration,
                                         links=lambda entity, tid: links.to_external(entity, tid)))
    try:
        return mapper.map(invoice).fields
    except RecordError as exc:
        quarantine_invoice(ctx, invoice, exc)  # a dry run only reports it
        raise


def _create(target: InvoiceTarget, fields: dict[str, Any], reference: str, claimed_at: Any) -> Exported:
    try:
        return target.create(fields, reference)
    except AmbiguousWriteError:
        found = target.find(reference, claimed_at)
        if found is None:
            raise  # nothing landed: the task retry creates it, guarded by the same ledger row
        return found
    except DuplicateReferenceError as exc:  # it landed before: ours, found by the reference
        found = target.find(reference, claimed_at)
        if found is None:
            raise RecordError(None, f"{target.title} already has {reference} but does not show it: {exc.message}") from exc
        return found
    except ApiClientError as exc:
        raise RecordError(None, f"{target.title} refused the invoice: {exc.message}") from exc


def _post(target: InvoiceTarget, external_id: str) -> str | None:
    """Book / post the document unless it is already; its number afterwards."""
    number = target.posted_number(external_id)
    if number is not None:
        return number
    refused: ApiClientError | None = None
    try:
        target.post(external_id)
    except AmbiguousWriteError:
        pass  # did it go through? the document tells
    except ApiClientError as exc:
        refused = exc
    number = target.posted_number(external_id)
    if number is not None:
        return number
    if refused is not None:
        raise RecordError(None, f"{target.title} refused to post {external_id}: {refused.message}") from refused
    raise AmbiguousWriteError(f"{target.title} {external_id}: posted, but not shown as posted yet")
