"""The invoice PDF: ``documents/Documents`` then ``documents/DocumentAttachments``.

A document needs ``Subject`` and ``Type`` (10 "Sales invoice", REC NANGO); its ``Category`` is
filled in ("Customers") and ``HasEmptyBody`` is true. An attachment needs ``Document``,
``FileName`` and ``Attachment`` as **base64**: raw bytes sent as a string fail with the
"converting … 'Attachment' to type 'Byte[]'" 400 (picqer#178). Responses carry
``Attachment: null`` and a ``Url`` to download it (``&Download=1``); there is no PUT.
"""
from __future__ import annotations

from typing import Any

from sandbox.exact.entities import EntitySpec
from sandbox.exact.errors import ExactError
from sandbox.exact.rules import Ctx, Rules, mandatory, reference

__all__ = ["AttachmentRules", "DOCUMENT_TYPES", "DocumentRules"]

DOCUMENT_TYPES = {10: "Verkoopfactuur", 20: "Inkoopfactuur", 55: "Diversen", 183: "Algemene bijlage"}
_CUSTOMERS_CATEGORY = "3b8d1a9e-0c3f-4e0a-9f7e-6a5c2d1b0e01"


class DocumentRules(Rules):
    def view(self, ctx: Ctx, row: dict[str, Any]) -> dict[str, Any]:
        account = ctx.table("crm/Accounts").get(row.get("Account")) or {}
        return dict(row, AccountCode=account.get("Code"), AccountName=account.get("Name"),
                    TypeDescription=DOCUMENT_TYPES.get(row.get("Type")),
                    DocumentViewUrl=f"{ctx.host}/docs/DocView.aspx?DocumentID={row['ID']}"
                                    f"&_Division_={ctx.division}")

    def create(self, ctx: Ctx, spec: EntitySpec, body: dict[str, Any]) -> dict[str, Any]:
        values = self.writable(ctx, spec, body)
        mandatory(values, "Subject", "Type")
        if values["Type"] not in DOCUMENT_TYPES:
            raise ExactError(400, "Ongeldige referentie: DocumentTypes")
        if values.get("Account") is not None:
            reference(ctx, "crm/Accounts", values["Account"], "Accounts")
        if values.get("FinancialTransactionEntryID") is not None:
            reference(ctx, "salesentry/SalesEntries", values["FinancialTransactionEntryID"], "SalesEntries")
        values.setdefault("Category", _CUSTOMERS_CATEGORY)
        values.setdefault("CategoryDescription", "Customers")
        values["HasEmptyBody"] = not values.get("Body")
        values["HID"] = ctx.state.store.next_seq(ctx.division, "document-hid", 1001)
        return ctx.state.store.insert(ctx.division, spec, values, ctx.user)


class AttachmentRules(Rules):
    def view(self, ctx: Ctx, row: dict[str, Any]) -> dict[str, Any]:
        return dict(row, Attachment=None)

    def create(self, ctx: Ctx, spec: EntitySpec, body: dict[str, Any]) -> dict[str, Any]:
        values = self.writable(ctx, spec, body)  # Attachment decoded here: not base64 -> 400
        mandatory(values, "Document", "FileName", "Attachment")
        reference(ctx, "documents/Documents", values["Document"], "Documents")
        if len(values["Attachment"]) > 10 * 1024 * 1024:  # the 10 MB POST limit (decoded size)
            raise ExactError(400, "The attachment is larger than 10 MB.")  # [INFER] the wording
        values["FileSize"] = float(len(values["Attachment"]))
        row = ctx.state.store.insert(ctx.division, spec, values, ctx.user, notify=False)
        row["Url"] = (f"{ctx.host}/docs/SysAttachment.aspx?ID={row['ID']}&_Division_={ctx.division}"
                      "&Stamp=NL001")
        return row


def attachment_bytes(ctx: Ctx, attachment_id: str) -> tuple[str, bytes] | None:
    row = ctx.table("documents/DocumentAttachments").get(attachment_id.lower())
    return (row["FileName"], row["Attachment"]) if row else None
