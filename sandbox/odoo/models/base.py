"""Base models: companies, countries, currencies, users, units of measure, model introspection."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.odoo import api
from sandbox.odoo.models import boolean, char, float_, integer, m2m, m2o, o2m, selection
from sandbox.odoo.registry import Hooks, ModelDef

if TYPE_CHECKING:
    from sandbox.odoo.access import Env
    from sandbox.odoo.versions import VersionProfile

__all__ = ["define"]

# res.company fields that live on the company's partner (related fields in Odoo).
_PARTNER_RELATED = {"country_id": "Country", "vat": "Tax ID", "street": "Street", "street2": "Street2", "zip": "Zip",
                    "city": "City", "email": "Email", "phone": "Phone", "website": "Website Link"}


class CompanyHooks(Hooks):
    def prepare_create(self, env: Env, vals: dict[str, Any]) -> dict[str, Any]:
        from sandbox.odoo.writing import create

        if not vals.get("partner_id"):  # a company is backed by its own partner
            vals["partner_id"] = create(env, "res.partner", [{"name": vals.get("name"), "is_company": True}])[0]
        return vals

    def after_create(self, env: Env, ids: list[int]) -> None:
        from sandbox.odoo.writing import touch

        user = env.store.get("res.users", env.uid)
        if user:  # the creator gets access to the new companies
            touch(env, "res.users", env.uid, {"company_ids": list(dict.fromkeys(user["company_ids"] + ids))})


class UserHooks(Hooks):
    def prepare_create(self, env: Env, vals: dict[str, Any]) -> dict[str, Any]:
        from sandbox.odoo.writing import create

        if not vals.get("partner_id"):
            vals["partner_id"] = create(env, "res.partner", [{"name": vals.pop("name", None) or vals.get("login"),
                                                               "email": vals.pop("email", False)}])[0]
        vals.setdefault("company_id", env.company)
        vals.setdefault("company_ids", [(6, 0, [vals["company_id"]])])
        return vals

    def display_name(self, env: Env, model: ModelDef, row: dict[str, Any]) -> str:
        partner = env.store.get("res.partner", row.get("partner_id"))
        return (partner or {}).get("name") or row.get("login") or ""


class NamedByHooks(Hooks):
    """display_name from another stored field (ir.model.data: module.name)."""

    def display_name(self, env: Env, model: ModelDef, row: dict[str, Any]) -> str:
        return f"{row.get('module')}.{row.get('name')}"


@api.model
def context_get(self: api.Records) -> dict[str, Any]:
    """``res.users.context_get``: the caller's lang and tz (OdooRPC reads it at login)."""
    user = self.env.store.get("res.users", self.env.uid) or {}
    partner = self.env.store.get("res.partner", user.get("partner_id")) or {}
    return {"lang": partner.get("lang") or "en_US", "tz": partner.get("tz") or "Europe/Amsterdam",
            "uid": self.env.uid}


@api.model
@api.readonly
def check_object_reference(self: api.Records, module: str, xml_id: str, raise_on_access_error: bool = False) -> list:
    """``ir.model.data.check_object_reference``: ``[model, res_id]`` of an external id."""
    for row in self.env.store.rows("ir.model.data"):
        if row.get("module") == module and row.get("name") == xml_id:
            return [row["model"], row["res_id"]]
    raise ValueError(f"External ID not found in the system: {module}.{xml_id}")


def define(p: VersionProfile) -> list[ModelDef]:
    related = {name: m2o("res.country", label, related=("partner_id", name)) if name == "country_id"
               else char(label, related=("partner_id", name)) for name, label in _PARTNER_RELATED.items()}
    company_fields: dict[str, Any] = {
        "name": char("Company Name", required=True),
        "partner_id": m2o("res.partner", "Partner", required=True, ondelete="restrict"),
        "currency_id": m2o("res.currency", "Currency", required=True, default=1, ondelete="restrict"),
        **related,
        "parent_id": m2o("res.company", "Parent Company"),  # branches, 17+
        "child_ids": o2m("res.company", "parent_id", "Branches"),
        "sequence": integer("Sequence", default=10),
        "active": boolean("Active", default=True),
        "account_sale_tax_id": m2o("account.tax", "Default Sale Tax"),
        "account_purchase_tax_id": m2o("account.tax", "Default Purchase Tax"),
    }
    if p.tax_price_include_override:
        company_fields["account_price_include"] = selection(
            "Default Sales Price Include", [("tax_included", "Tax Included"), ("tax_excluded", "Tax Excluded")],
            required=True, default="tax_excluded")
    uom_fields: dict[str, Any] = {
        "name": char("Unit", required=True),
        "rounding": float_("Rounding Precision", default=0.01),
        "active": boolean("Active", default=True),
    }
    if p.uom_category:
        uom_fields.update(category_id=m2o("uom.category", "Category", required=True, ondelete="restrict"),
                          factor=float_("Ratio", default=1.0),
                          uom_type=selection("Type", [("bigger", "Bigger than the reference Unit of Measure"),
                                                      ("reference", "Reference Unit of Measure for this category"),
                                                      ("smaller", "Smaller than the reference Unit of Measure")],
                                             required=True, default="reference"))
    else:  # 19: no categories, a unit is a multiple of another
        uom_fields.update(relative_factor=float_("Contains", default=1.0),
                          relative_uom_id=m2o("uom.uom", "Reference Unit"))
    models = [
        ModelDef("res.company", "Companies", company_fields, order="sequence, name", hooks=CompanyHooks(),
                 parent_name="parent_id"),
        ModelDef("res.country", "Country", {
            "name": char("Country Name", required=True),
            "code": char("Country Code", size=2, required=True),
            "phone_code": integer("Country Calling Code"),
            "currency_id": m2o("res.currency", "Currency"),
        }, order="name", rec_names_search=("name", "code")),
        ModelDef("res.country.state", "Country state", {
            "name": char("State Name", required=True),
            "code": char("State Code", required=True),
            "country_id": m2o("res.country", "Country", required=True, ondelete="cascade"),
        }, order="name"),
        ModelDef("res.currency", "Currency", {
            "name": char("Currency", size=3, required=True),
            "full_name": char("Name"),
            "symbol": char("Symbol", required=True),
            "rate": float_("Current Rate", default=1.0),
            "rounding": float_("Rounding Factor", default=0.01),
            "decimal_places": integer("Decimal Places", default=2),
            "position": selection("Symbol Position", [("after", "After Amount"), ("before", "Before Amount")],
                                  default="after"),
            "active": boolean("Active", default=True),
        }, order="active desc, name"),
        ModelDef("res.users", "User", {
            "login": char("Login", required=True),
            "partner_id": m2o("res.partner", "Related Partner", required=True, ondelete="restrict"),
            "name": char("Name", related=("partner_id", "name")),
            "email": char("Email", related=("partner_id", "email")),
            "lang": char("Language", related=("partner_id", "lang")),
            "tz": char("Timezone", related=("partner_id", "tz")),
            "company_id": m2o("res.company", "Company", required=True, ondelete="restrict"),
            "company_ids": m2m("res.company", "Companies"),
            "active": boolean("Active", default=True),
            "share": boolean("Share User"),
        }, order="login", rec_name="login", rec_names_search=("login",), hooks=UserHooks(),
            methods={"context_get": context_get}),
        ModelDef("uom.uom", "Product Unit of Measure", uom_fields, order="id"),
        ModelDef("ir.model", "Models", {
            "model": char("Model", required=True),
            "name": char("Model Description", required=True),
            "state": selection("Type", [("manual", "Custom Object"), ("base", "Base Object")], default="base"),
            "transient": boolean("Transient Model"),
        }, order="model"),
        ModelDef("ir.model.data", "Model Data", {
            "name": char("External Identifier", required=True),
            "module": char("Module", required=True),
            "model": char("Model Name", required=True),
            "res_id": integer("Record ID"),
            "noupdate": boolean("Non Updatable"),
        }, order="module, model, name", hooks=NamedByHooks(), rec_names_search=("module", "name"),
            methods={"check_object_reference": check_object_reference}),
    ]
    if p.uom_category:
        models.append(ModelDef("uom.category", "Product UoM Categories", {"name": char("Unit of Measure Category",
                                                                                   required=True)}))
    return models
