"""Sales orders (invoice drafts) and sending them: order -> outgoing invoice with the same Id.

``POST /SalesOrders/Complete`` creates header and lines; ``createAndSendInvoice`` books the
order as an outgoing invoice (sequential InvoiceNo/VoucherNo, due date from the payment term,
Balance = total), posts the customer-ledger entry, records the sent state and removes the
draft. Confirmed orders are locked until set back to Draft.
"""
from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sandbox.poweroffice import dto, ledger
from sandbox.poweroffice import validation as v
from sandbox.poweroffice.jsonpatch import apply_patch
from sandbox.poweroffice.orderlines import build_line, money, order_lines, validate_line
from sandbox.poweroffice.problems import ApiError, conflict, not_found

if TYPE_CHECKING:
    from sandbox.poweroffice.state import PowerOfficeState

__all__ = ["TITLE", "complete_view", "create_complete", "delete_order", "find_order", "insert_order",
           "patch_order", "recalc_order", "require_draft", "send_order"]

TITLE = "SalesOrder validation error(s)"
_COPY_TO_INVOICE = ("CustomerId", "CustomerNo", "CustomerReference", "CustomerReferenceContactPersonId",
                    "PurchaseOrderReference", "ContractNo", "CurrencyCode", "CustomMatchingReference",
                    "DeliveryDate", "ExternalImportReference", "ImportedOrderNo", "RelatedInvoiceNo",
                    "PaymentTermId", "PaymentTerm", "IsCreatedByCurrentIntegration")
_LINE_TO_INVOICE = ("Allowance", "Description", "ExternalImportReference", "LineType", "ProductCode", "ProductId",
                    "ProductUnitCost", "Quantity", "UnitOfMeasureCode", "VatAmount", "VatCode", "VatId",
                    "VatReturnSpecification", "NetAmount", "TotalAmount")


def _customer(state: PowerOfficeState, values: dict[str, Any]) -> dict[str, Any]:
    customers = state.table("customers")
    if values.get("CustomerId") is not None:
        customer = customers.get(values["CustomerId"])
        if customer is None:
            raise not_found(f"Customer with id = {values['CustomerId']} not found.")
        return customer
    if values.get("CustomerNo") is not None:
        customer = next((c for c in customers.values() if c.get("Number") == values["CustomerNo"]), None)
        if customer is None:
            raise not_found(f"Customer with number = {values['CustomerNo']} not found.")
        return customer
    raise ApiError(400, TITLE, "CustomerId or CustomerNo is required.")


def _term(state: PowerOfficeState, *term_ids: Any) -> dict[str, Any]:
    terms = state.table("payment_terms")
    for term_id in term_ids:
        if term_id in terms:
            return terms[term_id]
    return next((t for t in terms.values() if t.get("IsDefault")), next(iter(terms.values())))


def recalc_order(state: PowerOfficeState, order: dict[str, Any], touch: bool = True) -> None:
    """Re-derive customer number, payment term days and totals; bump LastChanged."""
    lines = order_lines(state, order["Id"])
    order["NetAmount"] = money(sum(ln["NetAmount"] for ln in lines))
    order["TotalAmount"] = money(sum(ln["TotalAmount"] for ln in lines))
    order["LineCount"] = len(lines)
    customer = state.table("customers").get(order.get("CustomerId")) or {}
    order["CustomerNo"] = customer.get("Number")
    term = state.table("payment_terms").get(order.get("PaymentTermId"))
    order["PaymentTerm"] = term["CreditDays"] if term else None
    if touch:
        order["LastChangedDateTimeOffset"] = state.now()


def insert_order(state: PowerOfficeState, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Store an order with its ``SalesOrderLines`` (trusted path; lines are dicts of line fields)."""
    fields = dto.native(fields)
    lines = fields.pop("SalesOrderLines", None) or []
    customer = _customer(state, fields)
    now = state.now()
    order: dict[str, Any] = {f: None for f in dto.SALES_ORDER}
    order.update({k: val for k, val in fields.items() if k in dto.SALES_ORDER})
    order.update(Id=str(fields.get("Id") or uuid.uuid4()), CustomerId=customer["Id"],
                 SalesOrderNo=state.next_id("sales_order_no"), CreatedDateTimeOffset=now,
                 SalesOrderStatus=order.get("SalesOrderStatus") or "Draft",
                 SalesOrderDate=order.get("SalesOrderDate") or state.today(),
                 CurrencyCode=order.get("CurrencyCode") or customer.get("CurrencyCode") or "NOK",
                 PaymentTermId=order.get("PaymentTermId") or _term(state, customer.get("PaymentTermId"))["Id"],
                 IsCreatedByCurrentIntegration=fields.get("IsCreatedByCurrentIntegration", True))
    state.table("sales_orders")[order["Id"]] = order
    for line in lines:
        build_line(state, order, dto.native(dict(line)))
    recalc_order(state, order)
    return order


def complete_view(state: PowerOfficeState, order: dict[str, Any]) -> dict[str, Any]:
    """``SalesOrderCompleteDto``: the header plus ``SalesOrderLines``."""
    body = dto.render(dto.SALES_ORDER, order)
    body["SalesOrderLines"] = [dto.render(dto.SALES_ORDER_LINE, ln) for ln in order_lines(state, order["Id"])]
    return body


def _check_reference(state: PowerOfficeState, ref: str | None, own_id: str | None) -> None:
    """ExternalImportReference: one per object type (orders, and the invoices they became)."""
    if not ref or not state.unique_import_reference:
        return
    for name, label in (("sales_orders", "sales order"), ("outgoing_invoices", "outgoing invoice")):
        for rid, row in state.table(name).items():
            if rid != own_id and (row.get("ExternalImportReference") or "").lower() == ref.lower():
                raise ApiError(400, TITLE, f"ExternalImportReference is already in use. '{ref}' is used on "
                                           f"{label} Id = {rid}.")


def _validate_header(state: PowerOfficeState, values: dict[str, Any], own_id: str | None) -> None:
    v.check_maxlen(values, {"ExternalImportReference": 50}, TITLE)
    _check_reference(state, values.get("ExternalImportReference"), own_id)
    v.resolve_payment_term(state, values)
    v.unsupported_refs(values)
    currency = values.get("CurrencyCode")
    if currency is not None and not (len(currency) == 3 and currency.isalpha()):
        raise ApiError(400, TITLE, f"CurrencyCode '{currency}' is not a valid ISO 4217 code.")


def create_complete(state: PowerOfficeState, body: Any) -> dict[str, Any]:
    """``POST /SalesOrders/Complete``."""
    values = dto.writable(body, dto.SALES_ORDER_POST, TITLE)
    raw_lines = values.pop("SalesOrderLines", None) or []
    if not isinstance(raw_lines, list):
        raise ApiError(400, TITLE, "SalesOrderLines must be an array.")
    customer = _customer(state, values)
    values["CustomerId"] = customer["Id"]
    values.pop("CustomerNo", None)
    _validate_header(state, values, None)
    lines = [dto.writable(line, dto.SALES_ORDER_LINE_POST, TITLE) for line in raw_lines]
    for line in lines:
        validate_line(state, line)
    clean = {k: val for k, val in values.items() if val is not None}
    return insert_order(state, "sales_orders", clean | {"SalesOrderLines": lines})


def find_order(state: PowerOfficeState, order_id: str) -> dict[str, Any]:
    """A sales order record or 404."""
    order = state.table("sales_orders").get(order_id)
    if order is None:
        raise not_found(f"Sales order with id = {order_id} not found.")
    return order


def require_draft(order: dict[str, Any]) -> None:
    """Confirmed orders are locked from edit."""
    if order.get("SalesOrderStatus") == "Confirmed":
        raise ApiError(400, TITLE, f"Sales order with id = {order['Id']} is confirmed and locked. "
                                   "Set SalesOrderStatus to Draft to edit it.")


def patch_order(state: PowerOfficeState, order_id: str, ops: Any) -> dict[str, Any]:
    """``PATCH /SalesOrders/{id}`` limited to ``SalesOrderPatchDto``."""
    order = find_order(state, order_id)
    patched = apply_patch({k: order.get(k) for k in dto.SALES_ORDER_PATCH}, ops, dto.SALES_ORDER_PATCH,
                          title=TITLE, dto_name="SalesOrderPatchDto")
    changed = {k: val for k, val in patched.items() if val != order.get(k)}
    if order.get("SalesOrderStatus") == "Confirmed" and set(changed) - {"SalesOrderStatus"}:
        require_draft(order)
    if "SalesOrderStatus" in changed and changed["SalesOrderStatus"] is None:
        raise ApiError(400, TITLE, "SalesOrderStatus cannot be null.")
    if "CustomerId" in changed:
        _customer(state, {"CustomerId": changed["CustomerId"]})
    candidate = order | changed
    candidate.pop("PaymentTerm", None)
    _validate_header(state, candidate, order_id)
    order.update(changed)
    recalc_order(state, order)
    return order


def delete_order(state: PowerOfficeState, order_id: str) -> None:
    """``DELETE /SalesOrders/{id}``: header and lines; 409 while confirmed."""
    order = find_order(state, order_id)
    if order.get("SalesOrderStatus") == "Confirmed":
        raise conflict("SalesOrder", f"Sales order with id = {order_id} is confirmed and cannot be deleted.")
    for line in order_lines(state, order_id):
        del state.table("sales_order_lines")[line["Id"]]
    del state.table("sales_orders")[order_id]


def _kid(customer_no: int | None, invoice_no: int) -> str:
    """KID (Norwegian payment reference): customer no + invoice no + Luhn check digit."""
    base = f"{customer_no or 0}{invoice_no:07d}"
    total = 0
    for i, digit in enumerate(reversed(base)):
        d = int(digit) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return base + str((10 - total % 10) % 10)


def _delivery_type(customer: dict[str, Any], requested: str, email: str | None) -> str:
    if requested == "PdfPrintForDownload":
        return "Print"
    if requested == "Auto" and customer.get("InvoiceDeliveryType") in {"EHF", "Efaktura", "AvtaleGiro"}:
        return customer["InvoiceDeliveryType"]
    if requested == "PdfByEmail" or email:
        return "PdfByEmail"
    return "Print"


def send_order(state: PowerOfficeState, order_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """Turn a sales order into an outgoing invoice with the same Id; returns the invoice record."""
    order = find_order(state, order_id)
    if not state.allow_send_invoice:
        raise ApiError(400, "Missing privilege", "The integration does not have the required privileges "
                                                 "to send invoices.")
    lines = order_lines(state, order_id)
    if not lines:
        raise ApiError(400, TITLE, f"Sales order with id = {order_id} has no lines and cannot be invoiced.")
    customer = state.table("customers")[order["CustomerId"]]
    if customer.get("IsArchived"):
        raise ApiError(400, TITLE, f"Customer with id = {customer['Id']} is archived.")
    requested = request.get("DeliveryType") or "Auto"
    email = request.get("EmailAddress") or customer.get("InvoiceEmailAddress") or customer.get("EmailAddress")
    if requested == "PdfByEmail" and not email:
        raise ApiError(400, TITLE, f"Customer with id = {customer['Id']} has no e-mail address to send to.")
    now = state.now()
    voucher_date = request.get("VoucherDate") or state.today()
    term = _term(state, order.get("PaymentTermId"), customer.get("PaymentTermId"))
    rate = order.get("CurrencyExchangeRate") or 1.0
    invoice_no = state.next_id("invoice_no")
    invoice: dict[str, Any] = {f: None for f in dto.OUTGOING_INVOICE}
    invoice.update({k: order.get(k) for k in _COPY_TO_INVOICE})
    address = customer.get("MailAddress") or {}
    invoice.update(
        Id=order_id, InvoiceNo=invoice_no, VoucherNo=state.next_id("voucher"), VoucherDate=voucher_date,
        VoucherType="OutgoingCreditNote" if order["TotalAmount"] < 0 else "OutgoingInvoice",
        OrderNo=order["SalesOrderNo"], OrderDate=order.get("SalesOrderDate"), CurrencyExchangeRate=rate,
        NetAmount=order["NetAmount"], TotalAmount=order["TotalAmount"], NetPostedAmount=money(order["NetAmount"] * rate),
        TotalPostedAmount=money(order["TotalAmount"] * rate), PaymentTermId=term["Id"], PaymentTerm=term["CreditDays"],
        DueDate=request.get("OverrideDueDate") or voucher_date + timedelta(days=term["CreditDays"]),
        MatchId=state.next_id("match"), Cid=_kid(customer.get("Number"), invoice_no), IsReversed=False,
        InvoiceDeliveryType=_delivery_type(customer, requested, email), SentDateTimeOffset=now,
        CreatedDateTimeOffset=now, LastChangedDateTimeOffset=now, BalanceLastChangedDateTimeOffset=now,
        DeliveryAddress1=address.get("AddressLine1"), DeliveryAddress2=address.get("AddressLine2"),
        DeliveryAddressZipCode=address.get("ZipCode"), DeliveryAddressCity=address.get("City"),
        DeliveryAddressCountryCode=address.get("CountryCode"))
    invoice["Balance"] = invoice["TotalPostedAmount"]
    state.table("outgoing_invoices")[order_id] = invoice
    for line in lines:
        account = state.table("accounts")[line["_AccountId"]]
        row: dict[str, Any] = {f: None for f in dto.OUTGOING_INVOICE_LINE}
        row.update({k: line.get(k) for k in _LINE_TO_INVOICE})
        row.update(Id=state.next_id("outgoing_invoice_lines"), _InvoiceId=order_id, SortOrder=line.get("SortOrder") or 0,
                   ProductUnitPrice=line.get("ProductUnitPrice") or 0.0, VatRate=line.get("VatRate") or 0.0,
                   NetPostedAmount=money(line["NetAmount"] * rate), TotalPostedAmount=money(line["TotalAmount"] * rate),
                   AccountId=account["Id"], AccountNo=account["AccountNo"], IsAccrued=bool(line.get("Accrual")))
        state.table("outgoing_invoice_lines")[row["Id"]] = row
        del state.table("sales_order_lines")[line["Id"]]
    del state.table("sales_orders")[order_id]
    ledger.post_invoice(state, invoice)
    state.table("sent_states")[order_id] = {
        "Id": order_id, "InvoiceNo": invoice_no, "DueDate": invoice["DueDate"],
        "InvoiceDeliveryType": invoice["InvoiceDeliveryType"], "IsInvoiceBeingProcessed": False,
        "LastErrorMessage": None, "SentDateTimeOffset": now}
    return invoice
