"""``product.template`` / ``product.product`` (``_inherits``), ``product.category``.

A template created alone gets its single variant; a variant created alone creates its
template; a variant reads and writes the template's fields through delegation. Archiving a
template archives its variants, as Odoo does.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sandbox.odoo.models import boolean, char, float_, integer, m2m, m2o, o2m, selection, text
from sandbox.odoo.registry import Hooks, ModelDef

if TYPE_CHECKING:
    from sandbox.odoo.access import Env
    from sandbox.odoo.versions import VersionProfile

__all__ = ["define"]

_NO_VARIANT = "_sim_no_variant"


def _variants(env: Env, template_id: int) -> list[dict[str, Any]]:
    return [r for r in env.store.rows("product.product") if r.get("product_tmpl_id") == template_id]


def _from_variant(name: str, empty: Any) -> tuple[Any, Any]:
    """A template field that is its single variant's (``default_code``, ``standard_price``):
    computed from the variant, written to it."""
    def compute(env: Env, row: dict[str, Any]) -> Any:
        variants = _variants(env, row["id"])
        return (variants[0].get(name) or empty) if len(variants) == 1 else empty

    def inverse(env: Env, rid: int, value: Any) -> None:
        from sandbox.odoo.writing import create, write

        variants = [v["id"] for v in _variants(env, rid)]
        if len(variants) == 1:
            write(env, "product.product", variants, {name: value})
        elif not variants and not env.context.get(_NO_VARIANT):  # written while the template is created
            create(env, "product.product", [{"product_tmpl_id": rid, name: value}])
    return compute, inverse


def _default_taxes(kind: str) -> Any:
    def default(env: Env, vals: dict[str, Any]) -> list:
        company = env.store.get("res.company", vals.get("company_id") or env.company) or {}
        tax = company.get(f"account_{kind}_tax_id")
        return [(6, 0, [tax])] if tax else []
    return default


class TemplateHooks(Hooks):
    def prepare_create(self, env: Env, vals: dict[str, Any]) -> dict[str, Any]:
        if "uom_po_id" in env.registry["product.template"].fields and vals.get("uom_id"):
            vals.setdefault("uom_po_id", vals["uom_id"])
        if "detailed_type" in env.registry["product.template"].fields:  # 17: type follows detailed_type
            vals.setdefault("detailed_type", vals.get("type") or "consu")
            vals["type"] = vals["detailed_type"]
        return vals

    def after_create(self, env: Env, ids: list[int]) -> None:
        from sandbox.odoo.writing import create

        if env.context.get(_NO_VARIANT):
            return
        for rid in ids:
            if not _variants(env, rid):
                create(env, "product.product", [{"product_tmpl_id": rid}])

    def prepare_write(self, env: Env, ids: list[int], vals: dict[str, Any]) -> dict[str, Any]:
        if "detailed_type" in vals:
            vals["type"] = vals["detailed_type"]
        return vals

    def after_write(self, env: Env, ids: list[int], vals: dict[str, Any]) -> None:
        from sandbox.odoo.writing import write

        if "active" in vals:
            for rid in ids:
                variants = [v["id"] for v in _variants(env, rid) if v.get("active") != bool(vals["active"])]
                if variants:
                    write(env, "product.product", variants, {"active": bool(vals["active"])})


class VariantHooks(Hooks):
    def display_name(self, env: Env, model: ModelDef, row: dict[str, Any]) -> str:
        template = env.store.get("product.template", row.get("product_tmpl_id")) or {}
        name = template.get("name") or ""
        return f"[{row['default_code']}] {name}" if row.get("default_code") else name


def define(p: VersionProfile) -> list[ModelDef]:
    if p.product_detailed_type:
        types = [("consu", "Consumable"), ("service", "Service")]
    else:
        types = [("consu", "Goods"), ("service", "Service"), ("combo", "Combo")]
    shared: dict[str, Any] = {
        "name": char("Name", required=True),
        "type": selection("Product Type", types, required=True, default="consu"),
        "categ_id": m2o("product.category", "Product Category", required=True, default=1),
        "list_price": float_("Sales Price", default=1.0),
        "uom_id": m2o("uom.uom", "Unit of Measure", required=True, default=1),
        "sale_ok": boolean("Can be Sold", default=True),
        "purchase_ok": boolean("Can be Purchased", default=True),
        "company_id": m2o("res.company", "Company"),
        "description_sale": text("Sales Description"),
        "barcode": char("Barcode"),
        "taxes_id": m2m("account.tax", "Sales Taxes", default=_default_taxes("sale")),
        "supplier_taxes_id": m2m("account.tax", "Purchase Taxes", default=_default_taxes("purchase")),
    }
    if p.product_detailed_type:
        shared["detailed_type"] = selection("Product Type", types, required=True, default="consu")
    if p.uom_category:
        shared["uom_po_id"] = m2o("uom.uom", "Purchase Unit", required=True, default=1)
    code_compute, code_inverse = _from_variant("default_code", False)
    cost_compute, cost_inverse = _from_variant("standard_price", 0.0)
    template_fields = {
        **shared,
        "active": boolean("Active", default=True),
        "default_code": char("Internal Reference", compute=code_compute, inverse=code_inverse),
        "standard_price": float_("Cost", compute=cost_compute, inverse=cost_inverse),
        "product_variant_ids": o2m("product.product", "product_tmpl_id", "Products"),
        "product_variant_id": m2o("product.product", "Product", store=False,
                                  compute=lambda env, row: (_variants(env, row["id"]) or [{"id": False}])[0]["id"]),
        "product_variant_count": integer("# Product Variants", store=False,
                                         compute=lambda env, row: len(_variants(env, row["id"]))),
    }
    variant_fields: dict[str, Any] = {  # _inherits: every template field, read and written on the template
        name: replace(f, related=("product_tmpl_id", name), default=None)
        for name, f in shared.items()
    }
    variant_fields.update({
        "product_tmpl_id": m2o("product.template", "Product Template", required=True, ondelete="cascade"),
        "default_code": char("Internal Reference"),
        "active": boolean("Active", default=True),
        "lst_price": float_("Sales Price", related=("product_tmpl_id", "list_price")),
        "standard_price": float_("Cost", company_dependent=True),  # per company in Odoo; one value here
        "barcode": char("Barcode"),
    })
    return [
        ModelDef("product.category", "Product Category", {
            "name": char("Name", required=True),
            "parent_id": m2o("product.category", "Parent Category", ondelete="cascade"),
            "complete_name": char("Complete Name", compute=lambda env, row: _category_path(env, row)),
        }, order="complete_name", rec_names_search=("complete_name",), parent_name="parent_id"),
        ModelDef("product.template", "Product", template_fields, order="name, id",
                 rec_names_search=("name", "default_code"), company_field="company_id", company_shared=True,
                 hooks=TemplateHooks()),
        ModelDef("product.product", "Product Variant", variant_fields, order="default_code, name, id",
                 rec_names_search=("default_code", "name"), company_field="company_id", company_shared=True,
                 inherits={"product.template": "product_tmpl_id"}, hooks=VariantHooks()),
    ]


def _category_path(env: Env, row: dict[str, Any]) -> str:
    names, seen = [], set()
    while row and row["id"] not in seen:
        seen.add(row["id"])
        names.append(row.get("name") or "")
        row = env.store.get("product.category", row.get("parent_id")) if row.get("parent_id") else None
    return " / ".join(reversed(names))
