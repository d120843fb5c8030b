"""Odoo's invoice adapter: a Tribe invoice is a **posted** customer invoice (``account.move``,
``out_invoice``; a negative one a credit note, ``out_refund``) in its legal entity's sales
journal, carrying our unique reference as its Origin (``invoice_origin``).

The mapping gives Odoo's fields, with per line the product code, the tax's name (VAT-group
map) and the revenue account's code (general-ledger map) of the invoice's legal entity; this
adapter turns names and codes into that company's ids and the signs into Odoo's: a credit note's
lines are positive amounts on an ``out_refund``. The core flow (``sync/invoices.py``) decides
when to look up, create and post.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tribe_operators.exceptions import RecordError
from tribe_operators.systems.odoo.records import code_table, odoo_datetime
from tribe_operators.systems.odoo.source import read_context
from tribe_operators.protocols import Exported

__all__ = ["OdooInvoices", "company_of"]

SALES = ["out_invoice", "out_refund"]


def company_of(scope: dict[str, Any] | None) -> int | None:
    """The Odoo company a scope is (its ``key``); None: the user's current company."""
    key = (scope or {}).get("key")
    return int(key) if key not in (None, "") else None


def _amount(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


class OdooInvoices:
    title = "Odoo"
    posted_as = "posted"
    posts = True  # Tribe's help article: "it will automatically synchronize it as a posted invoice"

    def __init__(self, hook: Any, settings: dict[str, Any], scope: dict[str, Any] | None = None) -> None:
        self.hook = hook
        self.company = company_of(scope)
        self.journal = (settings.get("sales_journal") or {}).get(str((scope or {}).get("name") or ""))
        self.context = read_context([self.company] if self.company else None)
        self._ids: dict[tuple[str, str], dict[str, int]] = {}

    def _search(self, model: str, domain: list[Any], fields: list[str]) -> list[dict[str, Any]]:
        return [r for page in self.hook.search_read_all(model, domain, fields, context=self.context) for r in page]

    def lookup_table(self, entity_set: str, key: str, value: str | None = None) -> dict[str, str]:
        return code_table(self.hook, entity_set, key, value, context=self.context)

    def _id(self, model: str, key: str, code: str, domain: list[Any], *, field: str, what: str,
            required: bool = True) -> int | None:
        """The id of this company's record whose ``key`` is ``code`` (read once per model)."""
        table = self._ids.get((model, key))
        if table is None:
            table = self._ids[(model, key)] = {}
            for row in self._search(model, domain, [key]):  # the first (lowest id) wins
                table.setdefault(str(row[key]), row["id"])
        found = table.get(str(code))
        if found is None and required:
            raise RecordError(field, f"{what} {code!r} does not exist in Odoo company {self.company or 'of the user'}; "
                                     "create it there or change the map in the settings")
        return found

    def _line(self, index: int, line: dict[str, Any], sign: int) -> tuple[int, int, dict[str, Any]]:
        where = f"ProductLines[{index}]"
        quantity, price = _amount(line.get("quantity")), _amount(line.get("price_unit"))
        vals: dict[str, Any] = {"name": line.get("name") or line.get("default_code") or "/",
                                "quantity": abs(quantity), "price_unit": price * (-1 if quantity < 0 else 1) * sign}
        if line.get("discount") is not None:
            vals["discount"] = line["discount"]
        if line.get("default_code"):  # Odoo's product with the Tribe product's code, when it has one
            product = self._id("product.product", "default_code", line["default_code"], [], field=f"{where}.Product.Code",
                               what="product", required=False)
            if product is not None:
                vals["product_id"] = product
        if line.get("tax"):
            tax = self._id("account.tax", "name", line["tax"], [["type_tax_use", "=", "sale"]],
                           field=f"{where}.VatGroup.Code", what="sales tax")
            vals["tax_ids"] = [(6, 0, [tax])]
        if line.get("account"):
            vals["account_id"] = self._id("account.account", "code", line["account"], [],
                                          field=f"{where}.VatGroup.Code", what="revenue account")
        return (0, 0, vals)

    def document(self, fields: dict[str, Any], reference: str) -> dict[str, Any]:
        """The ``account.move`` values for a mapped invoice: out_refund when its total is negative."""
        lines = fields.get("invoice_line_ids") or []
        total = sum(_amount(line.get("quantity")) * _amount(line.get("price_unit")) for line in lines)
        sign = -1 if total < 0 else 1
        vals = {k: v for k, v in fields.items() if k != "invoice_line_ids" and v is not None}
        vals.update(move_type="out_refund" if sign < 0 else "out_invoice", invoice_origin=reference,
                    invoice_line_ids=[self._line(i, line, sign) for i, line in enumerate(lines, start=1)])
        if self.journal:
            vals["journal_id"] = self._id("account.journal", "code", self.journal, [["type", "=", "sale"]],
                                          field=None, what="sales journal")
        return vals

    def find(self, reference: str, claimed_at: datetime) -> Exported | None:
        """The move carrying ``reference`` as its Origin, made since about ``claimed_at``."""
        since = odoo_datetime(claimed_at - timedelta(minutes=10))
        rows = self._search("account.move", [["invoice_origin", "=", reference], ["move_type", "in", SALES],
                                             ["create_date", ">=", since]], ["name", "state"])
        if not rows:
            return None
        row = min(rows, key=lambda r: r["id"])
        return Exported(str(row["id"]), row["name"] if row.get("state") == "posted" else None)

    def create(self, fields: dict[str, Any], reference: str) -> Exported:
        [move_id] = self.hook.create("account.move", [self.document(fields, reference)], context=self.context)
        return Exported(str(move_id))

    def posted_number(self, external_id: str) -> str | None:
        rows = self._search("account.move", [["id", "=", int(external_id)]], ["name", "state"])
        return rows[0]["name"] if rows and rows[0].get("state") == "posted" else None

    def post(self, external_id: str) -> None:
        self.hook.call("account.move", "action_post", [int(external_id)], context=self.context)
