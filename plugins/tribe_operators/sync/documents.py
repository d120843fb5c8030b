"""An exported invoice's document, CRM → accounting system, each step exactly once.

After the invoice (entry, draft…) exists in the accounting system, the file the CRM sent it as
becomes a document linked to it, and the file's bytes that document's attachment. Each step has
its own export-ledger row (``document_type`` ``invoice_document`` / ``invoice_attachment``,
keyed by the invoice's Tribe id in the same integration and scope as the invoice's row): claimed
before its request, looked up after a lost answer (or on a later attempt), committed right
after. A retry does only what is missing; the ledger shows entry, document and attachment per
invoice. Which systems take part is decided by what they implement: ``DocumentSource`` (a CRM
that has documents) and ``DocumentTarget`` (an accounting system that attaches them).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from tribe_operators.exceptions import AmbiguousWriteError, ApiClientError, DuplicateReferenceError, RecordError
from tribe_operators.protocols import DocumentSource, DocumentTarget, Exported
from tribe_operators.store.ledger import DONE, ExportLedger
from tribe_operators.store.schema import export_ledger

__all__ = ["ATTACHMENT", "DOCUMENT", "attach_invoice_document", "document_reference", "unfinished_documents"]

log = logging.getLogger(__name__)

DOCUMENT = "invoice_document"  # the ledger's document_type of each step
ATTACHMENT = "invoice_attachment"


def document_reference(tribe_id: str) -> str:
    """What the document carries to be found again (as the invoice carries ``tribe:<id>``)."""
    return f"tribe:{tribe_id}"


def attach_invoice_document(source: DocumentSource, target: DocumentTarget, tribe_id: str, record: Exported, *,
                            engine: sa.Engine, integration: str, scope: str = "default",
                            number: str | None = None, title: str | None = None) -> dict[str, Any]:
    """Give the exported invoice ``record`` its document with the CRM's file attached; returns
    ``{status, document_id, attachment_id, file_name}`` (status ``attached`` or ``already attached``).

    Raises:
        RecordError: the CRM holds no file for the invoice, or the system refused a step.
        RetryableError: try again later (the ledger makes that safe; only what is missing is done).
    """
    documents = ExportLedger(engine, integration, scope, DOCUMENT)
    attachments = ExportLedger(engine, integration, scope, ATTACHMENT)
    done_document, done_attachment = documents.get(tribe_id), attachments.get(tribe_id)
    if _done(done_document) and _done(done_attachment):
        return {"status": "already attached", "document_id": done_document.external_id,  # type: ignore[union-attr]
                "attachment_id": done_attachment.external_id,  # type: ignore[union-attr]
                "file_name": done_attachment.external_number}  # type: ignore[union-attr]
    # The file first: without one nothing is created (an empty document would hide the gap).
    file = source.invoice_document(tribe_id)
    if file is None:
        raise RecordError(None, f"the CRM holds no document (PDF) for invoice {number or tribe_id}: "
                                "finalise it there, then retry")
    what = f"invoice {number or tribe_id}"
    reference = document_reference(tribe_id)
    subject = f"{title or 'Invoice'} {number or ''} {reference}".replace("  ", " ").strip()
    # The ledger's references are unique per integration and scope: the invoice's row holds
    # ``tribe:<id>``, so each step's row holds its own (the document itself carries ``reference``).
    document_id = _once(documents, tribe_id, f"{reference}:doc", number, f"the document of {what}",
                        find=lambda: target.find_document(reference, record),
                        create=lambda: target.create_document(record, reference, subject))
    attachment_id = _once(attachments, tribe_id, f"{reference}:file", file.file_name[:60], f"{file.file_name} of {what}",
                          find=lambda: target.find_attachment(document_id, file.file_name),
                          create=lambda: target.attach(document_id, file.file_name, file.content))
    log.info("%s: document %s, attachment %s (%s, %d bytes)", what, document_id, attachment_id, file.file_name,
             len(file.content))
    return {"status": "attached", "document_id": document_id, "attachment_id": attachment_id,
            "file_name": file.file_name}


def unfinished_documents(ledger: ExportLedger) -> set[str]:
    """Invoices (Tribe ids) of ``ledger``'s integration and scope whose document or attachment
    step was claimed and not committed: exported, yet still to be picked up by a run."""
    key = {k: v for k, v in ledger.key.items() if k != "document_type"}
    query = sa.select(export_ledger.c.tribe_id).where(
        *(export_ledger.c[k] == v for k, v in key.items()), export_ledger.c.document_type.in_((DOCUMENT, ATTACHMENT)),
        export_ledger.c.state.not_in(DONE))
    with ledger.engine.connect() as conn:
        return {row.tribe_id for row in conn.execute(query)}


def _done(row: Any) -> bool:
    return row is not None and row.state in DONE


def _once(ledger: ExportLedger, tribe_id: str, reference: str, label: str | None, what: str, *,
          find: Callable[[], str | None], create: Callable[[], str]) -> str:
    """One step: committed already → its id; else claim, look (on a later attempt), create, commit."""
    row = ledger.get(tribe_id)
    if _done(row):
        return row.external_id  # type: ignore[union-attr,return-value]
    row = ledger.claim(tribe_id, reference, label)
    try:
        # An earlier attempt may have created it with its answer lost: look before creating.
        external_id = (find() if row.attempts > 1 else None) or _create(what, find, create)
    except RecordError as exc:
        ledger.mark_failed(tribe_id, exc.reason)
        raise
    ledger.mark_created(tribe_id, external_id, label)
    return external_id


def _create(what: str, find: Callable[[], str | None], create: Callable[[], str]) -> str:
    try:
        return create()
    except AmbiguousWriteError:
        found = find()
        if found is None:
            raise  # nothing landed: a retry creates it, guarded by the same ledger row
        return found
    except DuplicateReferenceError as exc:  # it landed before: ours, found again
        found = find()
        if found is None:
            raise RecordError(None, f"{what} exists already but cannot be found: {exc.message}") from exc
        return found
    except ApiClientError as exc:
        raise RecordError(None, f"{what} was refused: {exc.message}") from exc
