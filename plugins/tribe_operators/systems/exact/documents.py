"""Exact Online attaches the invoice PDF: the core's ``DocumentTarget`` (``sync.documents``).

A ``documents/Documents`` of type 10 (sales invoice) for the entry's customer, its ``Subject``
carrying our reference, linked to the sales entry by ``FinancialTransactionEntryID`` = the
entry's ``EntryID`` (reference §3.8, recipe 2, picqer#178: the document is made for an entry
that exists, so no PUT on the entry); then ``documents/DocumentAttachments`` with the bytes in
base64 (raw bytes are refused, picqer#178). Both are found again by ``$filter`` — the entry's
documents, the document's attachments — never by key: a 404 would count toward Exact's block.

Mixed into the Exact invoice target (``systems/exact/invoices.py``) in one line: its class
lists ``ExactDocuments`` first among its bases; it needs only ``self.hook`` and ``self.scope``.
"""
from __future__ import annotations

import base64
from typing import Any

from tribe_operators.exceptions import RetryableError
from tribe_operators.protocols import Exported
from tribe_operators.systems.exact.odata import results

__all__ = ["DOCUMENTS", "ATTACHMENTS", "SALES_INVOICE", "ExactDocuments"]

DOCUMENTS = "documents/Documents"
ATTACHMENTS = "documents/DocumentAttachments"
ENTRIES = "salesentry/SalesEntries"
SALES_INVOICE = 10  # documents/DocumentTypes: "Sales invoice" (reference §3.8, REC)


class ExactDocuments:
    """``DocumentTarget`` on Exact's documents API; ``record.external_id`` is a sales entry's ``EntryID``."""

    hook: Any
    scope: dict[str, Any]

    def _documents_client(self) -> Any:
        return self.hook.client_for(self.scope.get("key") or None)

    def _rows(self, entity_set: str, condition: str, select: str) -> list[dict[str, Any]]:
        from tribe_operators.http.pagination import NextLinkPaginator

        return [row for page in self._documents_client().pages(entity_set, NextLinkPaginator(),
                                                                 {"$filter": condition, "$select": select})
                for row in page]

    def find_document(self, reference: str, record: Exported) -> str | None:
        """The sales-invoice document of the entry whose ``Subject`` carries ``reference``.
        [INFER] that Exact filters Documents on ``FinancialTransactionEntryID`` (a plain guid
        property); the reference is checked here."""
        rows = self._rows(DOCUMENTS, f"FinancialTransactionEntryID eq guid'{record.external_id}' "
                                     f"and Type eq {SALES_INVOICE}", "ID,Subject")
        return next((str(r["ID"]) for r in rows if reference in (r.get("Subject") or "")), None)

    def create_document(self, record: Exported, reference: str, subject: str) -> str:
        """POST the document for the entry's customer, linked to the entry."""
        body: dict[str, Any] = {"Subject": subject if reference in subject else f"{subject} {reference}",
                                "Type": SALES_INVOICE, "FinancialTransactionEntryID": record.external_id}
        entries = self._rows(ENTRIES, f"EntryID eq guid'{record.external_id}'", "EntryID,Customer")
        if not entries:  # never a document without its entry: it must be there (it was just found / made)
            raise RetryableError(f"Exact shows no sales entry {record.external_id} (yet) to link a document to")
        if entries[0].get("Customer"):
            body["Account"] = entries[0]["Customer"]
        answer = self._documents_client().request("POST", DOCUMENTS, json=body).json()
        return str(results(answer)[0]["ID"])

    def find_attachment(self, document_id: str, file_name: str) -> str | None:
        rows = self._rows(ATTACHMENTS, f"Document eq guid'{document_id}'", "ID,FileName")
        return next((str(r["ID"]) for r in rows if r.get("FileName") == file_name), None)

    def attach(self, document_id: str, file_name: str, content: bytes) -> str:
        """POST the file, base64 (Exact decodes it; its answer holds ``Attachment: null`` and a ``Url``)."""
        body = {"Document": document_id, "FileName": file_name, "Attachment": base64.b64encode(content).decode("ascii")}
        answer = self._documents_client().request("POST", ATTACHMENTS, json=body).json()
        return str(results(answer)[0]["ID"])
