"""Accounting setup: ``account.tax``, ``account.account`` (per-version company link),
``account.journal``."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.odoo.errors import ValidationError
from sandbox.odoo.models import boolean, char, float_, integer, m2m, m2o, selection
from sandbox.odoo.registry import Hooks, ModelDef

if TYPE_CHECKING:
    from sandbox.odoo.access import Env
    from sandbox.odoo.versions import VersionProfile

__all__ = ["ACCOUNT_TYPES", "define", "unique"]

ACCOUNT_TYPES = [
    ("asset_receivable", "Receivable"), ("asset_cash", "Bank and Cash"), ("asset_current", "Current Assets"),
    ("asset_non_current", "Non-current Assets"), ("asset_prepayments", "Prepayments"),
    ("asset_fixed", "Fixed Assets"), ("liability_payable", "Payable"), ("liability_credit_card", "Credit Card"),
    ("liability_current", "Current Liabilities"), ("liability_non_current", "Non-current Liabilities"),
    ("equity", "Equity"), ("equity_unaffected", "Current Year Earnings"), ("income", "Income"),
    ("income_other", "Other Income"), ("expense", "Expenses"), ("expense_other", "Other Expenses"),
    ("expense_depreciation", "Depreciation"), ("expense_direct_cost", "Cost of Revenue"),
    ("off_balance", "Off-Balance Sheet"),
]


def _env_company(env: Env, vals: dict[str, Any]) -> int:
    return env.company


def unique(env: Env, model: str, ids: list[int], keys: tuple[str, ...], message: str) -> None:
    """A UNIQUE constraint over ``keys`` (Odoo turns the violation into a ValidationError)."""
    for rid in ids:
        row = env.store.get(model, rid)
        if row is None:
            continue
        key = tuple(str(row.get(k)) for k in keys)
        if any(other["id"] != rid and tuple(str(other.get(k)) for k in keys) == key
               for other in env.store.rows(model)):
            raise ValidationError(f"The operation cannot be completed: {message}")


class TaxHooks(Hooks):
    def prepare_create(self, env: Env, vals: dict[str, Any]) -> dict[str, Any]:
        company = env.store.get("res.company", vals.get("company_id") or env.company) or {}
        partner = env.store.get("res.partner", company.get("partner_id")) or {}
        vals.setdefault("country_id", partner.get("country_id") or False)
        return vals

    def constraints(self, env: Env, ids: list[int]) -> None:
        unique(env, "account.tax", ids, ("name", "company_id", "type_tax_use", "tax_scope"),
               "Tax names must be unique!")


class AccountHooks(Hooks):
    def __init__(self, company_key: str) -> None:
        self.company_key = company_key

    def prepare_create(self, env: Env, vals: dict[str, Any]) -> dict[str, Any]:
        vals.setdefault("reconcile", vals.get("account_type") in ("asset_receivable", "liability_payable"))
        return vals

    def display_name(self, env: Env, model: ModelDef, row: dict[str, Any]) -> str:
        return f"{row.get('code') or ''} {row.get('name') or ''}".strip()

    def constraints(self, env: Env, ids: list[int]) -> None:
        if self.company_key == "company_id":
            unique(env, "account.account", ids, ("code", "company_id"),
                   "The code of the account must be unique per company!")


class JournalHooks(Hooks):
    def prepare_create(self, env: Env, vals: dict[str, Any]) -> dict[str, Any]:
        vals.setdefault("refund_sequence", vals.get("type") in ("sale", "purchase"))
        return vals

    def display_name(self, env: Env, model: ModelDef, row: dict[str, Any]) -> str:
        company = env.store.get("res.company", row.get("company_id")) or {}
        currency = row.get("currency_id")
        if currency and currency != company.get("currency_id"):
            return f"{row.get('name')} ({(env.store.get('res.currency', currency) or {}).get('name')})"
        return row.get("name") or ""

    def constraints(self, env: Env, ids: list[int]) -> None:
        unique(env, "account.journal", ids, ("code", "company_id"), "Journal codes must be unique per company.")


def define(p: VersionProfile) -> list[ModelDef]:
    tax_fields: dict[str, Any] = {
        "name": char("Tax Name", required=True),
        "amount_type": selection("Tax Computation", [("group", "Group of Taxes"), ("fixed", "Fixed"),
                                                     ("percent", "Percentage"), ("division", "Percentage Tax Included")],
                                 required=True, default="percent"),
        "type_tax_use": selection("Tax Type", [("sale", "Sales"), ("purchase", "Purchases"), ("none", "None")],
                                  required=True, default="sale"),
        "tax_scope": selection("Tax Scope", [("service", "Services"), ("consu", "Goods")]),
        "amount": float_("Amount", required=True, default=0.0),
        "active": boolean("Active", default=True),
        "company_id": m2o("res.company", "Company", required=True, default=_env_company),
        "country_id": m2o("res.country", "Country", required=True),
        "sequence": integer("Sequence", default=1),
        "description": char("Label on Invoices"),
        "include_base_amount": boolean("Affect Base of Subsequent Taxes"),
        "price_include": boolean("Included in Price", default=False),
    }
    if p.tax_price_include_override:  # 18: included-ness comes from the company unless overridden
        tax_fields["price_include_override"] = selection(
            "Included in Price", [("tax_included", "Tax Included"), ("tax_excluded", "Tax Excluded")])
        tax_fields["price_include"] = boolean("Included in Price", compute=_price_include, store=False)
    account_fields: dict[str, Any] = {
        "name": char("Account Name", required=True),
        "code": char("Code", size=64, required=True),
        "account_type": selection("Type", ACCOUNT_TYPES, required=True),
        "reconcile": boolean("Allow Reconciliation"),
        "currency_id": m2o("res.currency", "Account Currency"),
        "tax_ids": m2m("account.tax", "Default Taxes"),
    }
    if p.account_company_ids:
        account_fields["company_ids"] = m2m("res.company", "Companies", required=True,
                                            default=lambda env, vals: [(6, 0, [env.company])])
    else:
        account_fields["company_id"] = m2o("res.company", "Company", required=True, default=_env_company)
    if p.account_active:
        account_fields["active"] = boolean("Active", default=True)
    else:
        account_fields["deprecated"] = boolean("Deprecated", default=False)
    company_key = "company_ids" if p.account_company_ids else "company_id"
    journal_types = [("sale", "Sales"), ("purchase", "Purchase"), ("cash", "Cash"), ("bank", "Bank")]
    if p.major >= 18:
        journal_types.append(("credit", "Credit Card"))
    journal_types.append(("general", "Miscellaneous"))
    return [
        ModelDef("account.tax", "Tax", tax_fields, order="sequence, id", company_field="company_id",
                 hooks=TaxHooks()),
        ModelDef("account.account", "Account", account_fields, order="code, id", rec_names_search=("code", "name"),
                 company_field=company_key, hooks=AccountHooks(company_key)),
        ModelDef("account.journal", "Journal", {
            "name": char("Journal Name", required=True),
            "code": char("Short Code", size=5, required=True),
            "type": selection("Type", journal_types, required=True),
            "company_id": m2o("res.company", "Company", required=True, default=_env_company),
            "currency_id": m2o("res.currency", "Currency"),
            "default_account_id": m2o("account.account", "Default Account", ondelete="restrict"),
            "refund_sequence": boolean("Dedicated Credit Note Sequence"),
            "payment_sequence": boolean("Dedicated Payment Sequence", default=True),
            "active": boolean("Active", default=True),
            "sequence": integer("Sequence", default=10),
        }, order="sequence, type, code", rec_names_search=("name", "code"), company_field="company_id",
            hooks=JournalHooks()),
    ]


def _price_include(env: Env, row: dict[str, Any]) -> bool:
    if row.get("price_include_override"):
        return row["price_include_override"] == "tax_included"
    company = env.store.get("res.company", row.get("company_id")) or {}
    return company.get("account_price_include") == "tax_included"
