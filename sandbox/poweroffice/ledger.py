"""The customer sub-ledger: invoice entries, payment entries, matching and balances.

An invoice is a debit on the customer's sub-ledger, a payment a credit; both carry the same
``MatchId``. ``Balance`` on an entry is its remaining open amount, and an outgoing invoice is
paid exactly when its ``Balance`` is 0. Allocations are kept with their dates so open items
can be answered "as of" a date.
"""
from __future__ import annotations

import math
import uuid
from datetime import date
from typing import TYPE_CHECKING, Any

from sandbox.poweroffice import dto
from sandbox.poweroffice.orderlines import money

if TYPE_CHECKING:
    from sandbox.poweroffice.state import PowerOfficeState

__all__ = ["balances", "open_as_of", "post_invoice", "register_payment"]


def _entry(state: PowerOfficeState, customer: dict[str, Any], **values: Any) -> dict[str, Any]:
    now = state.now()
    entry: dict[str, Any] = {f: None for f in dto.LEDGER_ENTRY}
    entry.update(Id=state.next_id("ledger_entries"), CustomerId=customer["Id"],
                 CustomerAccountNo=customer.get("Number"), CustomerExternalNo=customer.get("ExternalNumber"),
                 CustomerName=customer.get("Name"), IsWriteOff=False, CurrencyCode="NOK",
                 CreatedDateTimeOffset=now, LastChangedDateTimeOffset=now, _allocs=[])
    entry.update(values)
    state.table("ledger_entries")[entry["Id"]] = entry
    return entry


def post_invoice(state: PowerOfficeState, invoice: dict[str, Any]) -> dict[str, Any]:
    """Book the sub-ledger debit (or credit, for a credit note) of a freshly sent invoice."""
    customer = state.table("customers")[invoice["CustomerId"]]
    return _entry(state, customer, Amount=invoice["TotalPostedAmount"], Balance=invoice["TotalPostedAmount"],
                  CurrencyAmount=invoice["TotalAmount"], CurrencyCode=invoice.get("CurrencyCode") or "NOK",
                  Cid=invoice.get("Cid"), CustomMatchingReference=invoice.get("CustomMatchingReference"),
                  DueDate=invoice.get("DueDate"), ExternalImportReference=invoice.get("ExternalImportReference"),
                  InvoiceNo=str(invoice["InvoiceNo"]), MatchId=invoice["MatchId"],
                  IsCreatedByCurrentIntegration=invoice.get("IsCreatedByCurrentIntegration"),
                  PostingDate=invoice["VoucherDate"], VoucherDate=invoice["VoucherDate"],
                  VoucherId=invoice["Id"], VoucherNo=invoice["VoucherNo"], VoucherType=invoice["VoucherType"])


def register_payment(state: PowerOfficeState, invoice_id: str, amount: float,
                     payment_date: date | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Book a bank payment against an invoice and match it.

    Args:
        state: The simulator state (caller holds the lock).
        invoice_id: The outgoing invoice's uuid (same as its sales order's).
        amount: Amount paid, in the invoice's sign (negative refunds a credit note).
        payment_date: Posting date (default: today on the state's clock).

    Returns:
        The updated invoice record and the new payment ledger entry.

    Raises:
        KeyError: No such invoice. ValueError: Zero/NaN amount or a sign opposite to the invoice.
    """
    invoice = state.table("outgoing_invoices").get(invoice_id)
    if invoice is None:
        raise KeyError(f"Outgoing invoice with id = {invoice_id} not found.")
    amount = float(amount)
    if not math.isfinite(amount) or amount == 0 or amount * invoice["TotalPostedAmount"] < 0:
        raise ValueError("amount must be non-zero and have the same sign as the invoice total")
    day = payment_date or state.today()
    invoice_entry = next(e for e in state.table("ledger_entries").values()
                         if e["VoucherId"] == invoice_id and e["MatchId"] == invoice["MatchId"])
    open_amount = invoice_entry["Balance"]
    applied = math.copysign(min(abs(amount), abs(open_amount)), amount)
    customer = state.table("customers").get(invoice["CustomerId"]) or {"Id": invoice["CustomerId"]}
    payment = _entry(state, customer, Amount=money(-amount), CurrencyAmount=money(-amount),
                     Balance=money(-(amount - applied)), Cid=invoice.get("Cid"),
                     CustomMatchingReference=invoice.get("CustomMatchingReference"),
                     InvoiceNo=str(invoice["InvoiceNo"]), MatchId=invoice["MatchId"],
                     IsCreatedByCurrentIntegration=False, PostingDate=day, VoucherDate=day,
                     VoucherId=str(uuid.uuid4()), VoucherNo=state.next_id("voucher"), VoucherType="BankJournal",
                     PaidFromBankAccount="15030112345")
    payment["_allocs"].append((day, -applied))
    invoice_entry["_allocs"].append((day, applied))
    invoice_entry["Balance"] = money(open_amount - applied)
    now = state.now()
    invoice_entry["LastChangedDateTimeOffset"] = now
    payment["LastChangedDateTimeOffset"] = now
    invoice["Balance"] = invoice_entry["Balance"]
    invoice["BalanceLastChangedDateTimeOffset"] = now
    return invoice, payment


def open_as_of(entry: dict[str, Any], day: date) -> float:
    """The entry's open amount on ``day`` (allocations dated later are ignored)."""
    return money(entry["Amount"] - sum(a for d, a in entry.get("_allocs", []) if d <= day))


def balances(state: PowerOfficeState, day: date, only_open: bool) -> list[dict[str, Any]]:
    """``CustomerBalanceDto`` rows per customer with entries posted on or before ``day``."""
    totals: dict[int, float] = {}
    for entry in state.table("ledger_entries").values():
        if entry["PostingDate"] <= day:
            totals[entry["CustomerId"]] = totals.get(entry["CustomerId"], 0.0) + open_as_of(entry, day)
    rows = []
    for cid, total in totals.items():
        if only_open and money(total) == 0:
            continue
        customer = state.table("customers").get(cid) or {}
        rows.append({"Balance": money(total), "CustomerAccountNo": customer.get("Number"),
                     "CustomerExternalNo": customer.get("ExternalNumber"), "CustomerId": cid,
                     "CustomerName": customer.get("Name")})
    return sorted(rows, key=lambda r: r["CustomerAccountNo"] or 0)
