"""HTTP routes: Products, ProductGroups and the read-only reference data (VatCodes,
GeneralLedgerAccounts, PaymentTerms)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from sandbox.poweroffice import catalog, dto
from sandbox.poweroffice.filters import Query
from sandbox.poweroffice.httputil import empty_ok, int_id, json_body, patch_body
from sandbox.poweroffice.paging import json_response, list_response
from sandbox.poweroffice.problems import ApiError, not_found

if TYPE_CHECKING:
    from sandbox.poweroffice.state import PowerOfficeState

__all__ = ["router"]


def _type_filter(q: Query, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    wanted = q.raw("type")
    if wanted is None:
        return rows
    if wanted.lower() not in {"product", "service"}:
        raise ApiError(400, "Unable to cast object(s)", f"type '{wanted}' is not valid: use Product or Service.")
    return [r for r in rows if (r.get("ProductType") or "").lower() == wanted.lower()]


def _catalog_routes(r: APIRouter, state: PowerOfficeState, kind: str, path: str) -> None:
    fields = dto.PRODUCT if kind == "products" else dto.PRODUCT_GROUP
    title = ("Product" if kind == "products" else "ProductGroup") + " validation error(s)"
    created_status = 200 if kind == "products" else 201  # the spec documents 200 for POST /Products

    @r.get(f"/v2/{path}")
    async def list_items(request: Request) -> Response:
        q = Query(request)
        with state.lock:
            rows = list(state.table(kind).values())
            rows = q.text_filter(rows, "codes", "Code")
            rows = q.text_filter(rows, "names", "Name")
            rows = q.flag_filter(rows, "isArchived", "IsArchived")
            rows = _type_filter(q, rows)
            rows = q.after(rows, "createdDateTimeOffsetGreaterThan", "CreatedDateTimeOffset")
            rows = q.after(rows, "lastChangedDateTimeOffsetGreaterThan", "LastChangedDateTimeOffset")
            if kind == "products":
                rows = q.text_filter(rows, "productGroupCodes", "ProductGroupCode")
                rows = q.after(rows, "stockOnHandLastChangedDatetimeOffsetGreaterThan",
                               "StockOnHandLastChangedDatetimeOffset")
            rendered = [state.render(kind, row) for row in rows]
        return list_response(request, q, rendered, fields)

    @r.post(f"/v2/{path}")
    async def create_item(request: Request) -> Response:
        body = await json_body(request, title)
        with state.lock:
            return json_response(state.render(kind, catalog.create(state, kind, body)), created_status)

    @r.get(f"/v2/{path}/{{rid}}")
    async def get_item(rid: str) -> Response:
        with state.lock:
            return json_response(state.render(kind, catalog.find(state, kind, int_id(rid))))

    @r.patch(f"/v2/{path}/{{rid}}")
    async def patch_item(rid: str, request: Request) -> Response:
        ops = await patch_body(request, title)
        with state.lock:
            return json_response(state.render(kind, catalog.patch(state, kind, int_id(rid), ops)))

    @r.delete(f"/v2/{path}/{{rid}}")
    async def delete_item(rid: str) -> Response:
        with state.lock:
            catalog.delete(state, kind, int_id(rid))
        return empty_ok()


def _reference_routes(r: APIRouter, state: PowerOfficeState) -> None:
    @r.get("/v2/vatcodes")
    async def vat_codes(request: Request) -> Response:
        q = Query(request)
        with state.lock:
            rows = q.flag_filter(state.table("vat_codes").values(), "isActive", "IsActive")
            if not q.flag("includeExpired"):
                today = state.today()
                rows = [row for row in rows if row.get("ValidTo") is None or row["ValidTo"] >= today]
            rendered = [state.render("vat_codes", row) for row in rows]
        return list_response(request, q, rendered, dto.VAT_CODE)

    @r.get("/v2/generalledgeraccounts")
    async def accounts(request: Request) -> Response:
        q = Query(request)
        with state.lock:
            rows = q.number_filter(state.table("accounts").values(), "accountNos", "AccountNo")
            rows = q.after(rows, "lastChangedDateTimeOffsetGreaterThan", "LastChangedDateTimeOffset")
            rendered = [state.render("accounts", row) for row in rows]
        return list_response(request, q, rendered, dto.ACCOUNT)

    @r.get("/v2/generalledgeraccounts/{rid}")
    async def account(rid: str) -> Response:
        with state.lock:
            row = state.table("accounts").get(int_id(rid))
            if row is None:
                raise not_found(f"General ledger account with id = {rid} not found.")
            return json_response(state.render("accounts", row))

    @r.get("/v2/paymentterms")
    async def payment_terms(request: Request) -> Response:
        q = Query(request)
        with state.lock:
            rendered = [state.render("payment_terms", row) for row in state.table("payment_terms").values()]
        return list_response(request, q, rendered, dto.PAYMENT_TERM)

    @r.get("/v2/paymentterms/{rid}")
    async def payment_term(rid: str) -> Response:
        with state.lock:
            row = state.table("payment_terms").get(int_id(rid))
            if row is None:
                raise not_found(f"Payment term with id = {rid} not found.")
            return json_response(state.render("payment_terms", row))


def router(state: PowerOfficeState) -> APIRouter:
    """Product, product-group and reference-data routes bound to ``state``."""
    r = APIRouter()
    _catalog_routes(r, state, "products", "products")
    _catalog_routes(r, state, "product_groups", "productgroups")
    _reference_routes(r, state)
    return r
