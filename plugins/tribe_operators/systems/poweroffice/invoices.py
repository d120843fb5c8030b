"""PowerOffice's invoice adapter: an invoice is a sales order (``SalesOrders/Complete``) carrying
our reference as ``ExternalImportReference``; booking completes and sends it, after which it is
an outgoing invoice with an ``InvoiceNo`` (same id).

The core flow (``sync/invoices.py``) decides when to look up, create and book; this module only
speaks PowerOffice.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tribe_operators.exceptions import ApiClientError, DuplicateReferenceError, NotFoundError
from tribe_operators.protocols import Exported

__all__ = ["PowerOfficeInvoices"]

REFERENCE = "ExternalImportReference"


class PowerOfficeInvoices:
    title = "PowerOffice Go"
    posted_as = "booked"  # completed and sent: an outgoing invoice

    def __init__(self, hook: Any, settings: dict[str, Any], scope: Any = None) -> None:
        self.hook = hook
        self.posts = settings.get("invoice_mode") == "booked"
        self.delivery_type = settings.get("invoice_delivery_type", "PdfByEmail")

    def lookup_table(self, entity_set: str, key: str, value: str | None = None) -> dict[str, str]:
        return self.hook.codes(entity_set, key, value)

    def find(self, reference: str, claimed_at: datetime) -> Exported | None:
        """The sales order, or the outgoing invoice it became, carrying ``reference``."""
        since = claimed_at - timedelta(minutes=10)
        for order in self.hook.iter_records("SalesOrders", {"onlyCreatedByCurrentIntegration": True,
                                                            "lastChangedDateTimeOffsetGreaterThan": since.isoformat()}):
            if order.get(REFERENCE) == reference:
                return Exported(str(order["Id"]))
        for invoice in self.hook.iter_records("OutgoingInvoices", {"onlyCreatedByCurrentIntegration": True,
                                                                   "fromDate": (since - timedelta(days=1)).date().isoformat()}):
            if invoice.get(REFERENCE) == reference:
                return Exported(str(invoice["Id"]), _number(invoice))
        return None

    def create(self, fields: dict[str, Any], reference: str) -> Exported:
        try:
            return Exported(str(self.hook.create("SalesOrders/Complete", {**fields, REFERENCE: reference})["Id"]))
        except ApiClientError as exc:
            if exc.status == 400 and REFERENCE in exc.message:  # PowerOffice has that reference already
                raise DuplicateReferenceError(exc.status, exc.message, exc.body) from exc
            raise

    def posted_number(self, external_id: str) -> str | None:
        try:
            return _number(self.hook.get("OutgoingInvoices", external_id))
        except NotFoundError:
            return None

    def post(self, external_id: str) -> None:
        self.hook.client.request("POST", f"SalesOrders/{external_id}/createAndSendInvoice",
                                 json={"DeliveryType": self.delivery_type})


def _number(invoice: dict[str, Any]) -> str | None:
    number = invoice.get("InvoiceNo")
    return None if number is None else str(number)
