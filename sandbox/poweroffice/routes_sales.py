"""HTTP routes: ``/v2/SalesOrders`` (+ Complete, Lines, createAndSendInvoice, sentState)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from sandbox.poweroffice import dto, sales
from sandbox.poweroffice.filters import Query
from sandbox.poweroffice.httputil import empty_ok, json_body, patch_body, uuid_id
from sandbox.poweroffice.jsonpatch import apply_patch
from sandbox.poweroffice.orderlines import LINE_TITLE, build_line, order_lines, recalc_line, validate_line
from sandbox.poweroffice.paging import json_response, list_response
from sandbox.poweroffice.problems import ApiError, not_found

if TYPE_CHECKING:
    from sandbox.poweroffice.state import PowerOfficeState

__all__ = ["router"]


def _find_line(state: PowerOfficeState, order_id: str, line_id: str) -> dict[str, Any]:
    line = state.table("sales_order_lines").get(line_id)
    if line is None or line["SalesOrderId"] != order_id:
        raise not_found(f"Sales order line with id = {line_id} not found on sales order with id = {order_id}.")
    return line


def _order_routes(r: APIRouter, state: PowerOfficeState) -> None:
    @r.get("/v2/salesorders")
    async def list_orders(request: Request) -> Response:
        q = Query(request)
        q.dimension_codes("departmentCodes")
        q.dimension_codes("projectCodes")
        status = q.raw("orderStatus")
        if status is not None and status.lower() not in {"draft", "confirmed"}:
            raise ApiError(400, "Unable to cast object(s)", f"orderStatus '{status}' is not Draft or Confirmed.")
        with state.lock:
            rows = q.number_filter(state.table("sales_orders").values(), "customerNos", "CustomerNo")
            rows = q.after(rows, "lastChangedDateTimeOffsetGreaterThan", "LastChangedDateTimeOffset")
            if q.flag("onlyCreatedByCurrentIntegration"):
                rows = [row for row in rows if row.get("IsCreatedByCurrentIntegration")]
            if status is not None:
                rows = [row for row in rows if row["SalesOrderStatus"].lower() == status.lower()]
            rendered = [state.render("sales_orders", row) for row in rows]
        return list_response(request, q, rendered, dto.SALES_ORDER)

    @r.post("/v2/salesorders/complete")
    async def create_complete(request: Request) -> Response:
        body = await json_body(request, sales.TITLE)
        with state.lock:
            order = sales.create_complete(state, body)
            return json_response(sales.complete_view(state, order), 201)

    @r.get("/v2/salesorders/sentstate")
    async def sent_state(request: Request) -> Response:
        q = Query(request)
        raw = q.raw("id")
        with state.lock:
            if raw is None:
                rows = list(state.table("sent_states").values())
            else:
                oid = uuid_id(raw)
                row = state.table("sent_states").get(oid)
                if row is None and oid not in state.table("sales_orders"):
                    raise not_found(f"Sales order with id = {oid} not found.")
                rows = [row] if row else []
            rendered = [state.render("sent_states", row) for row in rows]
        return json_response(rendered) if rendered else Response(status_code=204)

    @r.get("/v2/salesorders/{oid}")
    async def get_order(oid: str) -> Response:
        with state.lock:
            return json_response(state.render("sales_orders", sales.find_order(state, uuid_id(oid))))

    @r.get("/v2/salesorders/{oid}/complete")
    async def get_complete(oid: str) -> Response:
        with state.lock:
            return json_response(sales.complete_view(state, sales.find_order(state, uuid_id(oid))))

    @r.patch("/v2/salesorders/{oid}")
    async def patch_order(oid: str, request: Request) -> Response:
        ops = await patch_body(request, sales.TITLE)
        with state.lock:
            return json_response(state.render("sales_orders", sales.patch_order(state, uuid_id(oid), ops)))

    @r.delete("/v2/salesorders/{oid}")
    async def delete_order(oid: str) -> Response:
        with state.lock:
            sales.delete_order(state, uuid_id(oid))
        return empty_ok()

    @r.post("/v2/salesorders/{oid}/createandsendinvoice")
    async def send(oid: str, request: Request) -> Response:
        body = await json_body(request, sales.TITLE, optional=True)
        values = dto.writable(body, dto.SEND_REQUEST_POST, sales.TITLE)
        order_id = uuid_id(oid)
        with state.lock:
            sales.send_order(state, order_id, values)
        echo = dto.render(dto.SEND_REQUEST, values | {"Id": order_id,
                                                      "DeliveryType": values.get("DeliveryType") or "Auto"})
        prefix = request.scope.get("po.prefix", "")
        location = f"{request.base_url}".rstrip("/") + f"{prefix}/v2/SalesOrders/sentState?id={order_id}"
        return json_response(echo, 202, headers={"Location": location})


def _line_routes(r: APIRouter, state: PowerOfficeState) -> None:
    @r.get("/v2/salesorders/{oid}/lines")
    async def list_lines(oid: str, request: Request) -> Response:
        q = Query(request)
        with state.lock:
            order = sales.find_order(state, uuid_id(oid))
            rendered = [dto.render(dto.SALES_ORDER_LINE, ln) for ln in order_lines(state, order["Id"])]
        return list_response(request, q, rendered, dto.SALES_ORDER_LINE)

    @r.post("/v2/salesorders/{oid}/lines")
    async def create_line(oid: str, request: Request) -> Response:
        body = await json_body(request, LINE_TITLE)
        with state.lock:
            order = sales.find_order(state, uuid_id(oid))
            sales.require_draft(order)
            values = dto.writable(body, dto.SALES_ORDER_LINE_POST, LINE_TITLE)
            validate_line(state, values)
            line = build_line(state, order, {k: val for k, val in values.items() if val is not None})
            sales.recalc_order(state, order)
            return json_response(dto.render(dto.SALES_ORDER_LINE, line), 201)

    @r.get("/v2/salesorders/{oid}/lines/{lid}")
    async def get_line(oid: str, lid: str) -> Response:
        with state.lock:
            order = sales.find_order(state, uuid_id(oid))
            return json_response(dto.render(dto.SALES_ORDER_LINE, _find_line(state, order["Id"], uuid_id(lid))))

    @r.patch("/v2/salesorders/{oid}/lines/{lid}")
    async def patch_line(oid: str, lid: str, request: Request) -> Response:
        ops = await patch_body(request, LINE_TITLE)
        with state.lock:
            order = sales.find_order(state, uuid_id(oid))
            line = _find_line(state, order["Id"], uuid_id(lid, "lineId"))
            sales.require_draft(order)
            allowed = dto.SALES_ORDER_LINE_PATCH
            patched = apply_patch({k: line.get(k) for k in allowed}, ops, allowed, title=LINE_TITLE,
                                  dto_name="SalesOrderLinePatchDto")
            changed = {k: val for k, val in patched.items() if val != line.get(k)}
            validate_line(state, (line | changed) | {"ProductCode": None})
            new_product = state.table("products").get(changed.get("ProductId"))
            if new_product is not None and "ProductUnitPrice" not in changed:
                changed["ProductUnitPrice"] = new_product.get("UnitPrice") or 0.0
            line.update(changed)
            recalc_line(state, line)
            sales.recalc_order(state, order)
            return json_response(dto.render(dto.SALES_ORDER_LINE, line))

    @r.delete("/v2/salesorders/{oid}/lines/{lid}")
    async def delete_line(oid: str, lid: str) -> Response:
        with state.lock:
            order = sales.find_order(state, uuid_id(oid))
            line = _find_line(state, order["Id"], uuid_id(lid, "lineId"))
            sales.require_draft(order)
            del state.table("sales_order_lines")[line["Id"]]
            sales.recalc_order(state, order)
        return empty_ok()


def router(state: PowerOfficeState) -> APIRouter:
    """Sales order routes bound to ``state``."""
    r = APIRouter()
    _order_routes(r, state)
    _line_routes(r, state)
    return r
