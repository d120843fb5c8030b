"""What a fresh database holds: currencies, countries, units, the first company (with a Dutch
chart of accounts, taxes and journals), the superuser and ``admin`` (uid 2, as in Odoo), the
``ir.model`` rows and a few external ids. ``install_chart`` gives any company its accounting."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.odoo.writing import create, write

if TYPE_CHECKING:
    from sandbox.odoo.access import Env

__all__ = ["CHARTS", "bootstrap", "install_chart"]

CURRENCIES = [("EUR", "Euro", "€", 1.0, "after", True), ("USD", "US Dollar", "$", 1.08, "before", True),
              ("GBP", "Pound Sterling", "£", 0.85, "before", False)]  # GBP inactive: active_test hides it
COUNTRIES = [("Netherlands", "NL", 31, "EUR"), ("Belgium", "BE", 32, "EUR"), ("Germany", "DE", 49, "EUR"),
             ("France", "FR", 33, "EUR"), ("United Kingdom", "GB", 44, "GBP"), ("United States", "US", 1, "USD"),
             ("Norway", "NO", 47, False)]
# (code, name, account_type) and (name, use, amount, tax scope) per country.
CHARTS: dict[str, dict[str, Any]] = {
    "NL": {
        "accounts": [("1100", "Bank", "asset_cash"), ("1300", "Debiteuren", "asset_receivable"),
                     ("1520", "Voorbelasting", "asset_current"), ("1500", "Af te dragen btw", "liability_current"),
                     ("1600", "Crediteuren", "liability_payable"), ("4000", "Inkoopkosten", "expense"),
                     ("8000", "Omzet", "income"), ("8100", "Omzet diensten", "income")],
        "taxes": [("21%", "sale", 21.0), ("9%", "sale", 9.0), ("0% EU", "sale", 0.0), ("21%", "purchase", 21.0),
                  ("9%", "purchase", 9.0)],
        "income": "8000", "expense": "4000", "bank": "1100",
    },
    "BE": {
        "accounts": [("550000", "Banque", "asset_cash"), ("400000", "Clients", "asset_receivable"),
                     ("411000", "TVA à récupérer", "asset_current"), ("451000", "TVA à payer", "liability_current"),
                     ("440000", "Fournisseurs", "liability_payable"), ("600000", "Achats", "expense"),
                     ("700000", "Ventes", "income")],
        "taxes": [("21%", "sale", 21.0), ("12%", "sale", 12.0), ("6%", "sale", 6.0), ("0% EU", "sale", 0.0),
                  ("21%", "purchase", 21.0), ("6%", "purchase", 6.0)],
        "income": "700000", "expense": "600000", "bank": "550000",
    },
}


def _xmlid(env: Env, module: str, name: str, model: str, res_id: int) -> None:
    create(env, "ir.model.data", [{"module": module, "name": name, "model": model, "res_id": res_id,
                                   "noupdate": True}])


def install_chart(env: Env, company_id: int, country: str) -> dict[str, Any]:
    """Accounts, taxes (default sale/purchase tax on the company) and the INV, BILL, BNK1 and
    MISC journals for one company; returns the ids by code/name."""
    chart = CHARTS[country]
    company_key = "company_ids" if "company_ids" in env.registry["account.account"].fields else "company_id"
    scoped = env.with_context(allowed_company_ids=[company_id])
    accounts = {}
    for code, name, kind in chart["accounts"]:
        link = [(6, 0, [company_id])] if company_key == "company_ids" else company_id
        accounts[code] = create(scoped, "account.account", [{"code": code, "name": name, "account_type": kind,
                                                              company_key: link}])[0]
    taxes = {}
    for sequence, (name, use, amount) in enumerate(chart["taxes"], start=1):
        taxes[(name, use)] = create(scoped, "account.tax", [{
            "name": name, "type_tax_use": use, "amount": amount, "company_id": company_id, "sequence": sequence,
            "description": name}])[0]
    write(env, "res.company", [company_id], {"account_sale_tax_id": taxes[("21%", "sale")],
                                             "account_purchase_tax_id": taxes[("21%", "purchase")]})
    journals = {}
    for code, name, kind, default in (("INV", "Customer Invoices", "sale", chart["income"]),
                                      ("BILL", "Vendor Bills", "purchase", chart["expense"]),
                                      ("BNK1", "Bank", "bank", chart["bank"]),
                                      ("MISC", "Miscellaneous Operations", "general", None)):
        journals[code] = create(scoped, "account.journal", [{
            "name": name, "code": code, "type": kind, "company_id": company_id,
            "default_account_id": accounts[default] if default else False}])[0]
    return {"accounts": accounts, "taxes": taxes, "journals": journals}


def bootstrap(env: Env) -> None:
    """Fill an empty store (``env`` is the superuser's)."""
    p = env.profile
    for name, full, symbol, rate, position, active in CURRENCIES:
        rid = create(env, "res.currency", [{"name": name, "full_name": full, "symbol": symbol, "rate": rate,
                                            "position": position, "active": active}])[0]
        _xmlid(env, "base", name, "res.currency", rid)
    currency = {row["name"]: row["id"] for row in env.store.rows("res.currency")}
    for name, code, phone, money in COUNTRIES:
        rid = create(env, "res.country", [{"name": name, "code": code, "phone_code": phone,
                                           "currency_id": currency.get(money) or False}])[0]
        _xmlid(env, "base", code.lower(), "res.country", rid)
    nl = next(r["id"] for r in env.store.rows("res.country") if r["code"] == "NL")
    company_partner = create(env, "res.partner", [{
        "name": "Tribe Sync Demo B.V.", "is_company": True, "street": "Stationsplein 1", "zip": "3511 ED",
        "city": "Utrecht", "country_id": nl, "vat": "NL004495445B01", "email": "info@tribe-sync.example",
        "phone": "+31 30 123 4567", "website": "https://tribe-sync.example"}])[0]
    bot = create(env, "res.partner", [{"name": "OdooBot", "active": False, "email": "odoobot@example.com"}])[0]
    admin_partner = create(env, "res.partner", [{"name": "Administrator", "email": "admin@tribe-sync.example",
                                                 "tz": "Europe/Amsterdam"}])[0]
    company = create(env, "res.company", [{"name": "Tribe Sync Demo B.V.", "partner_id": company_partner,
                                           "currency_id": currency["EUR"]}])[0]
    root = create(env, "res.users", [{"login": "__system__", "partner_id": bot, "company_id": company,
                                      "company_ids": [(6, 0, [company])], "active": False}])[0]
    admin = create(env, "res.users", [{"login": "admin", "partner_id": admin_partner, "company_id": company,
                                       "company_ids": [(6, 0, [company])]}])[0]
    if p.uom_category:
        unit_cat, time_cat, weight_cat = (create(env, "uom.category", [{"name": n}])[0]
                                          for n in ("Unit", "Working Time", "Weight"))
        uoms = [{"name": "Units", "category_id": unit_cat}, {"name": "Dozens", "category_id": unit_cat,
                                                             "uom_type": "bigger", "factor": 1 / 12},
                {"name": "Hours", "category_id": time_cat}, {"name": "Days", "category_id": time_cat,
                                                              "uom_type": "bigger", "factor": 1 / 8},
                {"name": "kg", "category_id": weight_cat}]
    else:
        uoms = [{"name": "Units"}, {"name": "Dozens", "relative_factor": 12.0, "relative_uom_id": 1},
                {"name": "Hours"}, {"name": "Days", "relative_factor": 8.0, "relative_uom_id": 3}, {"name": "kg"}]
    uom_ids = create(env, "uom.uom", uoms)
    all_cat = create(env, "product.category", [{"name": "All"}])[0]
    create(env, "product.category", [{"name": "Saleable", "parent_id": all_cat}])
    for name, model, rid in (("main_company", "res.company", company), ("main_partner", "res.partner",
                                                                         company_partner),
                             ("user_root", "res.users", root), ("user_admin", "res.users", admin),
                             ("partner_admin", "res.partner", admin_partner)):
        _xmlid(env, "base", name, model, rid)
    for name, rid in (("product_uom_unit", uom_ids[0]), ("product_uom_dozen", uom_ids[1]),
                      ("product_uom_hour", uom_ids[2]), ("product_uom_day", uom_ids[3]),
                      ("product_uom_kgm", uom_ids[4])):
        _xmlid(env, "uom", name, "uom.uom", rid)
    _xmlid(env, "product", "product_category_all", "product.category", all_cat)
    for model in sorted(env.registry):
        create(env, "ir.model", [{"model": model, "name": env.registry[model].description,
                                  "transient": env.registry[model].transient}])
    install_chart(env, company, "NL")
