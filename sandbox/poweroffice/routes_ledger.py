"""HTTP routes: ``/v2/OutgoingInvoices`` (read-only), ``/v2/Customerledger/*`` and
``/v2/ClientIntegrationInformation``."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from sandbox.poweroffice import dto, ledger
from sandbox.poweroffice.filters import Query
from sandbox.poweroffice.httputil import int_id, uuid_id
from sandbox.poweroffice.paging import json_response, list_response
from sandbox.poweroffice.problems import ApiError, not_found
from sandbox.poweroffice.validation import check_contact_groups

if TYPE_CHECKING:
    from sandbox.poweroffice.state import PowerOfficeState

__all__ = ["router"]

Rows = list[dict[str, Any]]
_PRIVILEGES = ["Customer_Full", "Supplier_Full", "ContactPerson_Full", "Product_Full", "SalesOrders_Full",
               "OutgoingInvoice", "CustomerLedger", "GeneralLedgerAccount", "CommonServices"]


def _invoice_routes(r: APIRouter, state: PowerOfficeState) -> None:
    @r.get("/v2/outgoinginvoices")
    async def list_invoices(request: Request) -> Response:
        q = Query(request)
        q.dimension_codes("departmentCodes")
        q.dimension_codes("projectCodes")
        start, end = q.day("fromDate"), q.day("toDate")
        ids = q.uuids("invoiceIds")
        with state.lock:
            rows: Rows = list(state.table("outgoing_invoices").values())
            if start:
                rows = [row for row in rows if row["VoucherDate"] >= start]
            if end:
                rows = [row for row in rows if row["VoucherDate"] <= end]
            if ids is not None:
                rows = [row for row in rows if row["Id"] in ids]
            rows = q.number_filter(rows, "customerNos", "CustomerNo")
            rows = q.number_filter(rows, "invoiceNos", "InvoiceNo")
            rows = q.number_filter(rows, "voucherNos", "VoucherNo")
            rows = q.text_filter(rows, "customMatchingReferences", "CustomMatchingReference")
            if q.flag("onlyCreatedByCurrentIntegration"):
                rows = [row for row in rows if row.get("IsCreatedByCurrentIntegration")]
            if q.flag("onlyUnpaidInvoices"):
                rows = [row for row in rows if row.get("Balance")]
            rows = q.after(rows, "balanceLastChangedDateTimeOffsetGreaterThan", "BalanceLastChangedDateTimeOffset")
            rows = q.after(rows, "sentDateTimeOffsetGreaterThan", "SentDateTimeOffset")
            rendered = [state.render("outgoing_invoices", row) for row in rows]
        return list_response(request, q, rendered, dto.OUTGOING_INVOICE)

    def find(raw: str) -> dict[str, Any]:
        invoice = state.table("outgoing_invoices").get(uuid_id(raw))
        if invoice is None:
            raise not_found(f"Outgoing invoice with id = {raw} not found.")
        return invoice

    @r.get("/v2/outgoinginvoices/{iid}")
    async def get_invoice(iid: str) -> Response:
        with state.lock:
            return json_response(state.render("outgoing_invoices", find(iid)))

    @r.get("/v2/outgoinginvoices/{iid}/lines")
    async def invoice_lines(iid: str, request: Request) -> Response:
        q = Query(request)
        with state.lock:
            invoice = find(iid)
            lines = [ln for ln in state.table("outgoing_invoice_lines").values() if ln["_InvoiceId"] == invoice["Id"]]
            rendered = [state.render("outgoing_invoice_lines", ln) for ln in sorted(lines, key=lambda x: x["SortOrder"])]
        return list_response(request, q, rendered, dto.OUTGOING_INVOICE_LINE)


def _entry_filters(state: PowerOfficeState, q: Query, rows: Rows) -> Rows:
    """Filters shared by OpenItems and Statement."""
    q.dimension_codes("departmentCodes")
    q.dimension_codes("projectCodes")
    groups = q.ids("contactGroupIds")
    if groups is not None:
        check_contact_groups(state, sorted(groups))
        members = {c["Id"] for c in state.table("customers").values() if groups & set(c.get("ContactGroupIds") or [])}
        rows = [row for row in rows if row["CustomerId"] in members]
    types = q.texts("voucherTypes")
    if types is not None:
        known = {t.lower() for t in dto.VOUCHER_TYPES}
        if types - known:
            raise ApiError(400, "Unable to cast object(s)", f"voucherTypes contains unknown value(s): "
                                                            f"{', '.join(sorted(types - known))}.")
        rows = [row for row in rows if row["VoucherType"].lower() in types]
    rows = q.number_filter(rows, "customerNos", "CustomerAccountNo")
    rows = q.number_filter(rows, "externalNos", "CustomerExternalNo")
    rows = q.number_filter(rows, "invoiceNos", "InvoiceNo")
    rows = q.text_filter(rows, "customMatchingReferences", "CustomMatchingReference")
    rows = q.after(rows, "createdDateTimeOffsetGreaterThan", "CreatedDateTimeOffset")
    rows = q.after(rows, "lastChangedDateTimeOffsetGreaterThan", "LastChangedDateTimeOffset")
    if q.flag("onlyCreatedByCurrentIntegration"):
        rows = [row for row in rows if row.get("IsCreatedByCurrentIntegration")]
    if q.flag("onlyBalancesLessThanAmount"):
        rows = [row for row in rows if abs(row["Balance"]) < abs(row["Amount"])]
    return rows


def _ledger_routes(r: APIRouter, state: PowerOfficeState) -> None:
    def entries() -> Rows:
        return sorted(state.table("ledger_entries").values(), key=lambda e: (e["PostingDate"], e["Id"]))

    @r.get("/v2/customerledger/customerbalances")
    async def customer_balances(request: Request) -> Response:
        q = Query(request)
        day = q.day("date", required=True)
        with state.lock:
            rows = ledger.balances(state, day, bool(q.flag("includeOnlyOpenItems")))
            groups = q.ids("contactGroupIds")
            if groups is not None:
                check_contact_groups(state, sorted(groups))
                customers = state.table("customers")
                rows = [row for row in rows
                        if groups & set((customers.get(row["CustomerId"]) or {}).get("ContactGroupIds") or [])]
        return list_response(request, q, rows, dto.CUSTOMER_BALANCE)

    @r.get("/v2/customerledger/openitems")
    async def open_items(request: Request) -> Response:
        q = Query(request)
        day = q.day("date", required=True)
        with state.lock:
            rows = [e | {"Balance": ledger.open_as_of(e, day)} for e in entries() if e["PostingDate"] <= day]
            rows = _entry_filters(state, q, [e for e in rows if e["Balance"]])
            rendered = [state.render("ledger_entries", e) for e in rows]
        return list_response(request, q, rendered, dto.LEDGER_ENTRY)

    @r.get("/v2/customerledger/statement")
    async def statement(request: Request) -> Response:
        q = Query(request)
        start, end = q.day("fromDate", required=True), q.day("toDate", required=True)
        with state.lock:
            rows = _entry_filters(state, q, [e for e in entries() if start <= e["PostingDate"] <= end])
            rendered = [state.render("ledger_entries", e) for e in rows]
        return list_response(request, q, rendered, dto.LEDGER_ENTRY)

    @r.get("/v2/customerledger/entriesbymatchid")
    async def by_match(request: Request) -> Response:
        q = Query(request)
        match_id = int_id(q.require("matchId"), "matchId")
        with state.lock:
            rendered = [state.render("ledger_entries", e) for e in entries() if e["MatchId"] == match_id]
        return list_response(request, q, rendered, dto.LEDGER_ENTRY)


def router(state: PowerOfficeState) -> APIRouter:
    """Outgoing invoice, customer ledger and client information routes bound to ``state``."""
    r = APIRouter()
    _invoice_routes(r, state)
    _ledger_routes(r, state)

    @r.get("/v2/clientintegrationinformation")
    async def client_information() -> Response:
        return json_response({"ActiveClientSubscriptions": ["Accounting", "Invoicing", "Reporting"],
                              "ClientId": state.client_id, "ClientName": state.client_name,
                              "InvalidPrivileges": [] if state.allow_send_invoice else ["InvoiceSending"],
                              "ValidPrivileges": _PRIVILEGES + (["InvoiceSending"] if state.allow_send_invoice else [])})
    return r
