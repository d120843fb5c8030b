"""Products and product groups: defaults, lookups by code, validation, create/patch/delete.

There is no VAT code on a product: VAT comes from the sales account the product posts to,
and a product inherits price, cost and accounts from its group when its own are null.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.poweroffice import dto
from sandbox.poweroffice import validation as v
from sandbox.poweroffice.jsonpatch import apply_patch
from sandbox.poweroffice.problems import conflict, not_found

if TYPE_CHECKING:
    from sandbox.poweroffice.state import PowerOfficeState

__all__ = ["create", "delete", "effective", "find", "insert_group", "insert_product", "patch"]

_CFG = {
    "products": {"label": "Product", "shape": dto.PRODUCT, "post": dto.PRODUCT_POST, "patch": dto.PRODUCT_PATCH,
                 "maxlen": {"Code": 100, "Name": 400}, "seq": "products"},
    "product_groups": {"label": "ProductGroup", "shape": dto.PRODUCT_GROUP, "post": dto.PRODUCT_GROUP_POST,
                       "patch": dto.PRODUCT_GROUP_PATCH, "maxlen": {"Code": 200, "Name": 400},
                       "seq": "product_groups"},
}


def _title(kind: str) -> str:
    return f"{_CFG[kind]['label']} validation error(s)"


def _resolve_refs(state: PowerOfficeState, values: dict[str, Any]) -> None:
    """Code/number alternatives to ids (the id wins when both are sent); 404 when unknown."""
    accounts = state.table("accounts")
    for prefix in ("Standard", "Optional"):
        id_key, no_key = f"{prefix}SalesAccountId", f"{prefix}SalesAccount"
        number = values.pop(no_key, None)
        if values.get(id_key) is not None:
            if values[id_key] not in accounts:
                raise not_found(f"General ledger account with id = {values[id_key]} not found.")
        elif number is not None:
            match = next((a for a in accounts.values() if a["AccountNo"] == number), None)
            if match is None:
                raise not_found(f"General ledger account with account no = {number} not found.")
            values[id_key] = match["Id"]
    groups = state.table("product_groups")
    code = values.pop("ProductGroupCode", None)
    if values.get("ProductGroupId") is not None:
        if values["ProductGroupId"] not in groups:
            raise not_found(f"Product group with id = {values['ProductGroupId']} not found.")
    elif code is not None:
        match = next((g for g in groups.values() if (g.get("Code") or "").lower() == code.lower()), None)
        if match is None:
            raise not_found(f"Product group with code = '{code}' not found.")
        values["ProductGroupId"] = match["Id"]


def _derive(state: PowerOfficeState, rec: dict[str, Any]) -> None:
    accounts = state.table("accounts")
    for prefix in ("Standard", "Optional"):
        account = accounts.get(rec.get(f"{prefix}SalesAccountId"))
        rec[f"{prefix}SalesAccount"] = account["AccountNo"] if account else None
    if "ProductGroupCode" in rec:
        group = state.table("product_groups").get(rec.get("ProductGroupId"))
        rec["ProductGroupCode"] = group["Code"] if group else None
        rec["StockAvailable"] = rec.get("StockOnHand") if rec.get("IsStockItem") else None


def _insert(state: PowerOfficeState, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    fields = dto.native(fields)
    _resolve_refs(state, fields)
    cfg = _CFG[kind]
    now = state.now()
    rid = fields.pop("Id", None) or state.next_id(cfg["seq"])
    state.bump_series(cfg["seq"], rid)
    rec: dict[str, Any] = {f: None for f in cfg["shape"]} | {"ProductType": "Product", "IsArchived": False}
    if kind == "products":
        rec |= {"IsStockItem": False, "UnitOfMeasureCode": "EA"}
    rec.update({k: val for k, val in fields.items() if k in cfg["shape"]})
    rec.update(Id=rid, CreatedDateTimeOffset=fields.get("CreatedDateTimeOffset") or now,
               LastChangedDateTimeOffset=fields.get("LastChangedDateTimeOffset") or now)
    if kind == "products" and rec.get("StockOnHand") is not None:
        rec["StockOnHandLastChangedDatetimeOffset"] = now
    _derive(state, rec)
    state.table(kind)[rid] = rec
    return rec


def insert_product(state: PowerOfficeState, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Store a product as given (trusted path)."""
    return _insert(state, "products", fields)


def insert_group(state: PowerOfficeState, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Store a product group as given (trusted path)."""
    return _insert(state, "product_groups", fields)


def _validate(state: PowerOfficeState, kind: str, values: dict[str, Any], own_id: int | None) -> None:
    title = _title(kind)
    v.require_text(values, "Name", title)
    v.check_maxlen(values, _CFG[kind]["maxlen"], title)
    owner = "product Id" if kind == "products" else "product group Id"
    v.check_unique(state.table(kind), "Code", values.get("Code"), own_id, title, owner=owner)
    _resolve_refs(state, values)


def create(state: PowerOfficeState, kind: str, body: Any) -> dict[str, Any]:
    """``POST /Products`` (answers 200) or ``POST /ProductGroups`` (201)."""
    values = dto.writable(body, _CFG[kind]["post"], _title(kind))
    _validate(state, kind, values, None)
    return _insert(state, kind, {k: val for k, val in values.items() if val is not None})


def find(state: PowerOfficeState, kind: str, rid: int) -> dict[str, Any]:
    """A product/product group record or 404."""
    rec = state.table(kind).get(rid)
    if rec is None:
        label = "Product" if kind == "products" else "Product group"
        raise not_found(f"{label} with id = {rid} not found.")
    return rec


def patch(state: PowerOfficeState, kind: str, rid: int, ops: Any) -> dict[str, Any]:
    """JSON Patch limited to ``ProductPatchDto`` / ``ProductGroupPatchDto``."""
    rec = find(state, kind, rid)
    cfg = _CFG[kind]
    patched = apply_patch({k: rec.get(k) for k in cfg["patch"]}, ops, cfg["patch"], title=_title(kind),
                          dto_name=f"{cfg['label']}PatchDto")
    changed = {k: val for k, val in patched.items() if val != rec.get(k)}
    candidate = rec | changed
    candidate.pop("StandardSalesAccount", None)
    candidate.pop("OptionalSalesAccount", None)
    candidate.pop("ProductGroupCode", None)
    _validate(state, kind, candidate, rid)
    now = state.now()
    if "StockOnHand" in changed:
        rec["StockOnHandLastChangedDatetimeOffset"] = now
    rec.update(changed)
    if set(changed) - {"StockOnHand"}:  # stock changes alone do not bump LastChanged
        rec["LastChangedDateTimeOffset"] = now
    _derive(state, rec)
    return rec


def delete(state: PowerOfficeState, kind: str, rid: int) -> None:
    """``DELETE``: 409 while a product is on an order/invoice line or a group has products."""
    find(state, kind, rid)
    if kind == "products":
        in_use = any(line.get("ProductId") == rid for name in ("sales_order_lines", "outgoing_invoice_lines")
                     for line in state.table(name).values())
        label = "Product"
    else:
        in_use = any(p.get("ProductGroupId") == rid for p in state.table("products").values())
        label = "Product group"
    if in_use:
        raise conflict(_CFG[kind]["label"], f"{label} with id = {rid} is in use and cannot be deleted.")
    del state.table(kind)[rid]


def effective(state: PowerOfficeState, product: dict[str, Any], name: str) -> Any:
    """A product value with inheritance from its group (UnitPrice, UnitCost, sales accounts)."""
    value = product.get(name)
    if value is None:
        group = state.table("product_groups").get(product.get("ProductGroupId"))
        value = group.get(name) if group else None
    return value
