"""Field lists of ``account.move`` and ``account.move.line`` (the rules are in ``moves.py``)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.odoo.models import boolean, char, date, float_, html, integer, m2m, m2o, monetary, o2m, selection

if TYPE_CHECKING:
    from sandbox.odoo.versions import VersionProfile

__all__ = ["MOVE_TYPES", "line_fields", "move_fields", "payment_states"]

MOVE_TYPES = [("entry", "Journal Entry"), ("out_invoice", "Customer Invoice"), ("out_refund", "Customer Credit Note"),
              ("in_invoice", "Vendor Bill"), ("in_refund", "Vendor Credit Note"),
              ("out_receipt", "Sales Receipt"), ("in_receipt", "Purchase Receipt")]


def _commercial(env: Any, row: dict[str, Any]) -> Any:
    from sandbox.odoo.models.partner import commercial

    partner = env.store.get("res.partner", row.get("partner_id")) if row.get("partner_id") else None
    return commercial(env, partner)["id"] if partner else False


def payment_states(major: int) -> list[tuple[str, str]]:
    states = [("not_paid", "Not Paid"), ("in_payment", "In Payment"), ("paid", "Paid"), ("partial", "Partially Paid"),
              ("reversed", "Reversed"), ("invoicing_legacy", "Invoicing App Legacy")]
    return states + [("blocked", "Blocked")] if major >= 18 else states  # 'blocked' in 18/19-era code



def move_fields(p: VersionProfile, today: Any, default_user: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": char("Number", default="/"),
        "ref": char("Reference"),
        "date": date("Date", required=True, default=today),
        "state": selection("Status", [("draft", "Draft"), ("posted", "Posted"), ("cancel", "Cancelled")],
                           required=True, readonly=True, default="draft"),
        "move_type": selection("Type", MOVE_TYPES, required=True, readonly=True, default="entry"),
        "journal_id": m2o("account.journal", "Journal", required=True),
        "company_id": m2o("res.company", "Company", readonly=True),
        "partner_id": m2o("res.partner", "Partner", ondelete="restrict"),
        "commercial_partner_id": m2o("res.partner", "Commercial Entity", readonly=True, compute=_commercial),
        "invoice_date": date("Invoice/Bill Date"),
        "invoice_date_due": date("Due Date"),
        "currency_id": m2o("res.currency", "Currency", required=True),
        "payment_reference": char("Payment Reference"),
        "invoice_origin": char("Origin"),
        "narration": html("Terms and Conditions"),
        "line_ids": o2m("account.move.line", "move_id", "Journal Items"),
        "invoice_line_ids": o2m("account.move.line", "move_id", "Invoice lines",
                                domain=(("display_type", "in", ("product", "line_section", "line_note")),)),
        "reversed_entry_id": m2o("account.move", "Reversal of", readonly=True),
        "invoice_user_id": m2o("res.users", "Salesperson", default=default_user),
        "posted_before": boolean("Posted Before", readonly=True),
        "payment_state": selection("Payment Status", payment_states(p.major), readonly=True, default="not_paid"),
    }
    for name, label in (("amount_untaxed", "Untaxed Amount"), ("amount_tax", "Tax"), ("amount_total", "Total"),
                        ("amount_residual", "Amount Due")):
        fields[name] = monetary(label, readonly=True)
        fields[f"{name}_signed"] = monetary(f"{label} Signed", readonly=True)
    if p.payment_rework:
        fields["matched_payment_ids"] = m2m("account.payment", "Matched Payments", readonly=True, store=False)
    return fields


def line_fields(p: VersionProfile) -> dict[str, Any]:
    display_types = [("product", "Product"), ("cogs", "Cost of Goods Sold"), ("tax", "Tax"),
                     ("discount", "Discount"), ("rounding", "Rounding"), ("payment_term", "Payment Term"),
                     ("line_section", "Section"), ("line_note", "Note"), ("epd", "Early Payment Discount")]
    if p.major >= 19:
        display_types.insert(7, ("line_subsection", "Subsection"))
    return {
        "move_id": m2o("account.move", "Journal Entry", required=True, ondelete="cascade"),
        "move_name": char("Number", related=("move_id", "name")),
        "date": date("Date", related=("move_id", "date")),
        "parent_state": selection("Status", [("draft", "Draft"), ("posted", "Posted"), ("cancel", "Cancelled")],
                                  related=("move_id", "state")),
        "company_id": m2o("res.company", "Company", related=("move_id", "company_id")),
        "sequence": integer("Sequence", default=10),
        "name": char("Label"),
        "display_type": selection("Display Type", display_types, required=True, default="product"),
        "product_id": m2o("product.product", "Product", ondelete="restrict"),
        "product_uom_id": m2o("uom.uom", "Unit of Measure"),
        "quantity": float_("Quantity", default=1.0),
        "price_unit": float_("Unit Price"),
        "discount": float_("Discount (%)"),
        "tax_ids": m2m("account.tax", "Taxes"),
        "tax_line_id": m2o("account.tax", "Originator Tax", readonly=True, ondelete="restrict"),
        "price_subtotal": monetary("Subtotal", readonly=True),
        "price_total": monetary("Total", readonly=True),
        "account_id": m2o("account.account", "Account", ondelete="restrict"),
        "partner_id": m2o("res.partner", "Partner", ondelete="restrict"),
        "currency_id": m2o("res.currency", "Currency"),
        "amount_currency": monetary("Amount in Currency"),
        "debit": monetary("Debit"),
        "credit": monetary("Credit"),
        "balance": monetary("Balance"),
        "amount_residual": monetary("Residual Amount", readonly=True),
        "reconciled": boolean("Reconciled", readonly=True),
        "date_maturity": date("Due Date"),
    }
