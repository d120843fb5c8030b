"""Tribe's invoices as the core's ``InvoiceSource``: ``Activity_Invoice`` in phase Sent (or Paid),
read with their lines, and moved to Paid when the accounting system says so; and as its
``DocumentSource``: the PDF an invoice was sent as."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from tribe_operators.protocols import SourceDocument
from tribe_operators.timeutil import odata_timestamp

__all__ = ["TribeInvoices", "customer_name"]

INVOICES = "Activity_Invoice"
PHASES = "Datastore_Phase_ActivityInvoice"
ATTACHMENTS = "Attachment"  # the files of a record, the invoice's PDF among them [INFER]
PDF = "application/pdf"
# What an invoice mapping reads: the customer relationship, and per line the product, unit and VAT group.
EXPAND = ("Phase($select=Code),Relationship($select=ID),"
          "ProductLines($expand=Product($select=ID,Code),Unit($select=Code),VatGroup($select=Code))")
# Who the invoice is for, as people say it: the customer's name on labels and in the summary.
CUSTOMER = ("Relationship($select=ID;$expand=Organization($select=Name),"
            "Person($select=FirstName,MiddleName,LastName))")


def customer_name(invoice: dict[str, Any]) -> str | None:
    """The organisation's name, or the person's, of an invoice read with ``CUSTOMER``."""
    relationship = invoice.get("Relationship") or {}
    organisation, person = relationship.get("Organization") or {}, relationship.get("Person") or {}
    if organisation.get("Name"):
        return str(organisation["Name"])
    name = " ".join(str(person[k]) for k in ("FirstName", "MiddleName", "LastName") if person.get(k))
    return name or None


class TribeInvoices:
    def __init__(self, hook: Any, settings: dict[str, Any] | None = None, scope: Any = None) -> None:
        self.hook = hook
        self._paid_phase: str | None = None

    def pending(self, *, since: datetime | None = None, only: list[str] | None = None,
                numbers: list[int] | None = None, fields: tuple[str, ...] = ()) -> Iterator[dict[str, Any]]:
        """Sent or Paid invoices (``only`` these ids / ``numbers``, or changed ``since``), each with
        ``ID``, ``Number``, ``customer``, ``amount`` (incl. VAT), ``currency`` and ``fields``."""
        expr = "(Phase/Code eq 'Sent' or Phase/Code eq 'Paid')"
        if only:
            expr += " and (" + " or ".join(f"ID eq {i}" for i in only) + ")"
        elif numbers:
            expr += " and (" + " or ".join(f"Number eq {int(n)}" for n in numbers) + ")"
        elif since is not None:
            expr += f" and LastMutationDate gt {odata_timestamp(since)}"
        select, expand = ["ID", "Number", "TotalIncludingVat", "Currency"], [CUSTOMER]
        for path in fields:  # "LegalEntity.Code" → $expand=LegalEntity($select=Code)
            head, _, rest = path.partition(".")
            if rest:
                expand.append(f"{head}($select={rest.replace('.', '/')})")
            else:
                select.append(head)
        for row in self.hook.iter_records(INVOICES, filter=expr, select=select, expand=",".join(expand)):
            yield {**row, "customer": customer_name(row), "amount": row.get("TotalIncludingVat"),
                   "currency": row.get("Currency")}

    def read(self, invoice_id: str) -> dict[str, Any]:
        return self.hook.get(INVOICES, invoice_id, expand=EXPAND)

    def invoice_document(self, invoice_id: str) -> SourceDocument | None:
        """The PDF Tribe made when the invoice was sent: its first PDF ``Attachment`` and the
        bytes at ``Attachment(<id>)/$value``. [INFER] Tribe publishes the ``Attachment`` entity
        and the ``Attachments`` navigation, not their fields nor how a file is read (see
        sandbox/tribe/documents.py)."""
        rows = list(self.hook.iter_records(ATTACHMENTS, filter=f"Activity/ID eq {invoice_id} and ContentType eq '{PDF}'",
                                           select=["ID", "FileName"], orderby="CreationDate"))
        if not rows:
            return None
        content = self.hook.client.request("GET", f"{ATTACHMENTS}({rows[0]['ID']})/$value").content
        return SourceDocument(str(rows[0].get("FileName") or f"{invoice_id}.pdf"), content)

    def mark_paid(self, invoice_id: str) -> bool:
        current = self.hook.get(INVOICES, invoice_id, expand="Phase($select=Code)")
        if (current.get("Phase") or {}).get("Code") == "Paid":
            return False
        self._paid_phase = self._paid_phase or self.hook.codes(PHASES)["Paid"]
        self.hook.update(INVOICES, invoice_id, {"Phase": {"ID": self._paid_phase}})
        return True
