"""Sales order lines: product lookup, price inheritance, VAT from the sales account, amounts.

NetAmount = Quantity x ProductUnitPrice x (1 - Allowance/100); VatAmount = NetAmount x rate of
the VAT code on the sales account the product posts to (standard or optional account, falling
back to the product group's, then 3000). All money is rounded half-up to 2 decimals.
"""
from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from sandbox.poweroffice import catalog, dto
from sandbox.poweroffice import validation as v
from sandbox.poweroffice.problems import ApiError, not_found

if TYPE_CHECKING:
    from sandbox.poweroffice.state import PowerOfficeState

__all__ = ["LINE_TITLE", "build_line", "money", "order_lines", "recalc_line", "validate_line"]

LINE_TITLE = "SalesOrderLine validation error(s)"
_AMOUNT_TYPES = {"Normal", "InvoiceFee", "TotalHours"}


def money(value: float | Decimal) -> float:
    """Round half-up to øre."""
    return float(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def order_lines(state: PowerOfficeState, order_id: str) -> list[dict[str, Any]]:
    """The order's line records by SortOrder."""
    lines = [ln for ln in state.table("sales_order_lines").values() if ln["SalesOrderId"] == order_id]
    return sorted(lines, key=lambda ln: (ln.get("SortOrder") or 0))


def _product(state: PowerOfficeState, values: dict[str, Any]) -> dict[str, Any] | None:
    products = state.table("products")
    if values.get("ProductId") is not None:  # the id wins when both are sent
        product = products.get(values["ProductId"])
        if product is None:
            raise not_found(f"Product with id = {values['ProductId']} not found.")
        return product
    code = values.get("ProductCode")
    if code:
        product = next((p for p in products.values() if (p.get("Code") or "").lower() == code.lower()), None)
        if product is None:
            raise not_found(f"Product with code = '{code}' not found.")
        return product
    return None


def validate_line(state: PowerOfficeState, values: dict[str, Any]) -> None:
    """API checks for a line (product exists, quantity given, allowance range, no unknown refs)."""
    product = _product(state, values)
    line_type = values.get("LineType") or "Normal"
    if product is not None and line_type in _AMOUNT_TYPES and values.get("Quantity") is None:
        raise ApiError(400, LINE_TITLE, "Quantity is required when a product is set.")
    if product is None and line_type in _AMOUNT_TYPES and not values.get("Description"):
        raise ApiError(400, LINE_TITLE, "A line without a product needs a Description.")
    allowance = values.get("Allowance")
    if allowance is not None and not -1000 <= allowance <= 100:
        raise ApiError(400, LINE_TITLE, "Allowance must be between -1000 and 100.")
    v.check_maxlen(values, {"ExternalImportReference": 50}, LINE_TITLE)
    v.unsupported_refs(values)


def _account(state: PowerOfficeState, product: dict[str, Any] | None, use_standard: bool | None
             ) -> dict[str, Any]:
    accounts = state.table("accounts")
    if product is not None:
        names = ["StandardSalesAccountId"] if use_standard is not False else \
            ["OptionalSalesAccountId", "StandardSalesAccountId"]
        for name in names:
            account = accounts.get(catalog.effective(state, product, name))
            if account is not None:
                return account
    return state.account_by_no(3000)


def recalc_line(state: PowerOfficeState, line: dict[str, Any]) -> None:
    """Derive ProductCode, account, VAT and amounts from the line's inputs."""
    product = state.table("products").get(line.get("ProductId"))
    line["ProductCode"] = product.get("Code") if product else None
    account = _account(state, product, line.get("UseStandardSalesAccount"))
    vat = next((c for c in state.table("vat_codes").values() if c["Code"] == account["VatCode"]), None)
    rate = vat["Rate"] if vat else 0.0
    line["_AccountId"] = account["Id"]
    if line.get("LineType") in _AMOUNT_TYPES:
        qty = Decimal(str(line.get("Quantity") or 0))
        price = Decimal(str(line.get("ProductUnitPrice") or 0))
        allowance = Decimal(str(line.get("Allowance") or 0))
        net = money(qty * price * (1 - allowance / 100))
        vat_amount = money(Decimal(str(net)) * Decimal(str(rate)))
        line.update(NetAmount=net, VatAmount=vat_amount, TotalAmount=money(net + vat_amount),
                    VatCode=account["VatCode"], VatId=vat["Id"] if vat else None, VatRate=rate)
    else:  # text/summary lines carry no transaction
        line.update(NetAmount=0.0, VatAmount=0.0, TotalAmount=0.0, VatCode=None, VatId=None, VatRate=None)


def build_line(state: PowerOfficeState, order: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Create a line record on ``order`` from (validated) POST values; defaults come from the product."""
    product = _product(state, values)
    existing = order_lines(state, order["Id"])
    line: dict[str, Any] = {f: None for f in dto.SALES_ORDER_LINE}
    line.update({k: val for k, val in values.items() if k in dto.SALES_ORDER_LINE})
    line["Id"] = str(values.get("Id") or uuid.uuid4())
    line["SalesOrderId"] = order["Id"]
    line["LineType"] = line.get("LineType") or "Normal"
    line["SortOrder"] = line["SortOrder"] if line.get("SortOrder") is not None else len(existing)
    if product is not None:
        line["ProductId"] = product["Id"]
        line["Description"] = line.get("Description") or product.get("Name")
        if line.get("ProductUnitPrice") is None:
            line["ProductUnitPrice"] = catalog.effective(state, product, "UnitPrice") or 0.0
        if line.get("ProductUnitCost") is None:
            line["ProductUnitCost"] = catalog.effective(state, product, "UnitCost")
        line["UnitOfMeasureCode"] = line.get("UnitOfMeasureCode") or product.get("UnitOfMeasureCode")
    if line["LineType"] in _AMOUNT_TYPES and line.get("Quantity") is None:
        line["Quantity"] = 1.0
    if line.get("Allowance") is None and line["LineType"] in _AMOUNT_TYPES:
        line["Allowance"] = 0.0
    recalc_line(state, line)
    state.table("sales_order_lines")[line["Id"]] = line
    return line
