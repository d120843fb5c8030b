"""``account.move`` rules: defaults, line computation (taxes, tax lines, the receivable or
payable line), totals, posting with the journal sequence, reset to draft and cancel.

Amounts follow Odoo's "round per line" default with half-up rounding to the currency. The
journal items of an invoice are its product lines plus one tax line per tax and one payment
term line, so ``line_ids`` is longer than ``invoice_line_ids`` as in Odoo.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from sandbox.odoo.errors import UserError
from sandbox.odoo.registry import Hooks, ModelDef
from sandbox.odoo.writing import create, touch, unlink

if TYPE_CHECKING:
    from collections.abc import Callable

    from sandbox.odoo.access import Env

__all__ = ["DIRECTION", "LineHooks", "MoveHooks", "PURCHASE", "REFUNDS", "SALE", "SYNC", "company_account", "money",
           "recompute"]

SYNC = "_sim_sync"  # internal context flag: the ORM is writing computed lines, skip the guards
SALE = ("out_invoice", "out_refund", "out_receipt")
PURCHASE = ("in_invoice", "in_refund", "in_receipt")
REFUNDS = ("out_refund", "in_refund")
# Sign of a product line's balance: income is credited on a customer invoice, and so on.
DIRECTION = {"out_invoice": -1, "out_receipt": -1, "in_refund": -1, "out_refund": 1, "in_invoice": 1,
             "in_receipt": 1}
_LOCKED = ("invoice_line_ids", "line_ids", "partner_id", "currency_id", "journal_id", "invoice_date", "date",
           "company_id")
_DRAFT_LABEL = {"entry": "Entry", "out_invoice": "Invoice", "out_refund": "Credit Note", "in_invoice": "Bill",
                "in_refund": "Refund", "out_receipt": "Sales Receipt", "in_receipt": "Purchase Receipt"}


def money(amount: float, rounding: float = 0.01) -> float:
    """Half-up rounding to the currency (Odoo's ``float_round``), not Python's banker's rounding."""
    return float(Decimal(repr(float(amount))).quantize(Decimal(repr(rounding)), rounding=ROUND_HALF_UP)) + 0.0


def _row(env: Env, model: str, rid: Any) -> dict[str, Any]:
    return (env.store.get(model, rid) if rid else None) or {}


def company_account(env: Env, company_id: int, account_type: str) -> int | False:
    """The company's first account of a type (stands in for the partner/tax properties)."""
    key = "company_ids" if "company_ids" in env.registry["account.account"].fields else "company_id"
    for row in env.store.rows("account.account"):
        owners = row.get(key) if key == "company_ids" else [row.get(key)]
        if row.get("account_type") == account_type and company_id in (owners or []):
            return row["id"]
    return False


class MoveHooks(Hooks):
    def display_name(self, env: Env, model: ModelDef, row: dict[str, Any]) -> str:
        if row.get("name") and row["name"] != "/":
            return row["name"]
        return f"Draft {_DRAFT_LABEL.get(row.get('move_type'), 'Entry')} (* {row['id']})"

    def prepare_create(self, env: Env, vals: dict[str, Any]) -> dict[str, Any]:
        move_type = vals.setdefault("move_type", env.context.get("default_move_type") or "entry")
        if not vals.get("journal_id"):
            kind = "sale" if move_type in SALE else "purchase" if move_type in PURCHASE else "general"
            company = vals.get("company_id") or env.company
            journals = [j for j in env.store.rows("account.journal")
                        if j.get("type") == kind and j.get("company_id") == company and j.get("active")]
            if not journals:
                name = _row(env, "res.company", company).get("name")
                raise UserError(f"No journal could be found in company {name} for any of those types: {kind}")
            vals["journal_id"] = sorted(journals, key=lambda j: (j.get("sequence") or 0, j["id"]))[0]["id"]
        journal = _row(env, "account.journal", vals["journal_id"])
        if not journal:
            return vals  # the foreign-key check reports it
        vals["company_id"] = journal["company_id"]
        company = _row(env, "res.company", journal["company_id"])
        vals.setdefault("currency_id", journal.get("currency_id") or company.get("currency_id"))
        if vals.get("invoice_date") and "date" not in vals:
            vals["date"] = vals["invoice_date"]
        _check_partner_company(env, vals.get("partner_id"), journal["company_id"])
        return vals

    def after_create(self, env: Env, ids: list[int]) -> None:
        for rid in ids:
            recompute(env, rid)

    def prepare_write(self, env: Env, ids: list[int], vals: dict[str, Any]) -> dict[str, Any]:
        if env.context.get(SYNC):
            return vals
        if "state" in vals or "move_type" in vals:
            # [INFER] simulator choice: the state only moves through action_post/button_draft/button_cancel.
            raise UserError("The state and type of a journal entry change only through action_post, button_draft "
                            "and button_cancel.")
        for name in [k for k in vals if k.startswith("amount_") or k in ("payment_state", "posted_before")]:
            vals.pop(name)  # computed amounts are recomputed, not written
        for rid in ids:
            row = _row(env, "account.move", rid)
            locked = [k for k in vals if k in _LOCKED]
            if row.get("state") == "posted" and locked:
                raise UserError(f"You cannot modify a posted journal entry ({', '.join(locked)}); reset it to "
                                f"draft first.")  # [INFER] wording
        if vals.get("journal_id"):
            journal = _row(env, "account.journal", vals["journal_id"])
            if journal:
                vals["company_id"] = journal["company_id"]
        return vals

    def after_write(self, env: Env, ids: list[int], vals: dict[str, Any]) -> None:
        if env.context.get(SYNC):
            return
        for rid in ids:
            row = _row(env, "account.move", rid)
            _check_partner_company(env, row.get("partner_id"), row.get("company_id"))
            if row.get("state") == "draft":
                recompute(env, rid)

    def before_unlink(self, env: Env, ids: list[int]) -> None:
        for rid in ids:
            row = _row(env, "account.move", rid)
            if row.get("state") == "posted" or row.get("posted_before"):
                raise UserError("You cannot delete an entry which has been posted once.")


class LineHooks(Hooks):
    def display_name(self, env: Env, model: ModelDef, row: dict[str, Any]) -> str:
        move = _row(env, "account.move", row.get("move_id"))
        return " ".join(p for p in (move.get("name") if move.get("name") != "/" else "", row.get("name") or "") if p)

    def prepare_create(self, env: Env, vals: dict[str, Any]) -> dict[str, Any]:
        move = _row(env, "account.move", vals.get("move_id"))
        if env.context.get(SYNC) or not move:
            return vals
        if move.get("state") == "posted":
            raise UserError("You cannot add lines to a posted journal entry; reset it to draft first.")  # [INFER]
        product = _row(env, "product.product", vals.get("product_id"))
        template = _row(env, "product.template", product.get("product_tmpl_id"))
        sale = move.get("move_type") in SALE
        if product:
            vals.setdefault("name", (env.registry["product.product"].hooks.display_name(
                env, env.registry["product.product"], product)))
            vals.setdefault("price_unit", template.get("list_price", 0.0) if sale else product.get("standard_price"))
            vals.setdefault("product_uom_id", template.get("uom_id"))
            if "tax_ids" not in vals:
                taxes = template.get("taxes_id" if sale else "supplier_taxes_id") or []
                vals["tax_ids"] = [(6, 0, [t for t in taxes
                                           if _row(env, "account.tax", t).get("company_id") == move["company_id"]])]
        if "account_id" not in vals:
            journal = _row(env, "account.journal", move.get("journal_id"))
            vals["account_id"] = journal.get("default_account_id") or False
        vals.setdefault("currency_id", move.get("currency_id"))
        return vals

    def after_create(self, env: Env, ids: list[int]) -> None:
        self._recompute(env, ids)

    def prepare_write(self, env: Env, ids: list[int], vals: dict[str, Any]) -> dict[str, Any]:
        if not env.context.get(SYNC):
            for rid in ids:
                move = _row(env, "account.move", _row(env, "account.move.line", rid).get("move_id"))
                if move.get("state") == "posted" and set(vals) - {"name"}:
                    raise UserError("You cannot modify the amounts, accounts or taxes of a posted journal item; "
                                    "reset the journal entry to draft first.")  # [INFER] wording
        return vals

    def after_write(self, env: Env, ids: list[int], vals: dict[str, Any]) -> None:
        self._recompute(env, ids)

    def before_unlink(self, env: Env, ids: list[int]) -> Callable[[], None] | None:
        if env.context.get(SYNC):
            return None
        moves = {_row(env, "account.move.line", rid).get("move_id") for rid in ids}
        if any(_row(env, "account.move", m).get("state") == "posted" for m in moves):
            raise UserError("You cannot delete the items of a posted journal entry; reset it to draft first.")
        return lambda: [recompute(env, m) for m in moves if env.store.exists("account.move", m)] and None

    def _recompute(self, env: Env, ids: list[int]) -> None:
        if env.context.get(SYNC):
            return
        for move_id in dict.fromkeys(_row(env, "account.move.line", rid).get("move_id") for rid in ids):
            if move_id:
                recompute(env, move_id)


def _check_partner_company(env: Env, partner_id: Any, company_id: Any) -> None:
    partner = _row(env, "res.partner", partner_id)
    if partner.get("company_id") and company_id and partner["company_id"] != company_id:
        raise UserError(f"Incompatible companies on records:\n- The partner '{partner.get('name')}' belongs to "
                        f"company '{_row(env, 'res.company', partner['company_id']).get('name')}' and the journal "
                        f"entry to another company.")  # [INFER] wording of _check_company


def _commercial_partner(env: Env, partner_id: Any) -> int | bool:
    from sandbox.odoo.models.partner import commercial

    partner = _row(env, "res.partner", partner_id)
    return commercial(env, partner)["id"] if partner else False


def _rate(env: Env, move: dict[str, Any]) -> float:
    company = _row(env, "res.company", move.get("company_id"))
    own = _row(env, "res.currency", company.get("currency_id")).get("rate") or 1.0
    other = _row(env, "res.currency", move.get("currency_id")).get("rate") or 1.0
    return other / own


def _line_taxes(env: Env, line: dict[str, Any], base_amount: float) -> tuple[float, list[tuple[int, float]]]:
    """(untaxed subtotal, [(tax id, amount)]) of one product line."""
    taxes = [_row(env, "account.tax", t) | {"id": t} for t in line.get("tax_ids") or []]
    tax_model = env.registry["account.tax"]
    from sandbox.odoo.reading import value

    included = sum(t.get("amount", 0.0) for t in taxes
                   if t.get("amount_type") == "percent" and value(env, tax_model, t, "price_include"))
    base = base_amount / (1 + included / 100.0) if included else base_amount
    subtotal = money(base)
    amounts = []
    for tax in taxes:
        if tax.get("amount_type") == "fixed":
            amounts.append((tax["id"], money(tax.get("amount", 0.0) * (line.get("quantity") or 0.0))))
        else:
            amounts.append((tax["id"], money(base * (tax.get("amount") or 0.0) / 100.0)))
    return subtotal, amounts


def recompute(env: Env, move_id: int) -> None:
    """Recompute an invoice's product lines, tax lines, payment-term line and totals."""
    from sandbox.odoo.payments import refresh_payment_state

    move = _row(env, "account.move", move_id)
    sync = env.with_context(**{SYNC: True})
    if not move or move.get("move_type") not in DIRECTION:
        if move:
            debit = sum(r.get("debit") or 0.0 for r in env.store.rows("account.move.line") if r.get("move_id") == move_id)
            _set(sync, "account.move", move_id, {"amount_total": money(debit), "amount_total_signed": money(debit)})
        return
    direction, rate = DIRECTION[move["move_type"]], _rate(env, move)
    lines = [r for r in env.store.rows("account.move.line") if r.get("move_id") == move_id]
    untaxed, tax_total, per_tax = 0.0, 0.0, {}
    for line in lines:
        if line.get("display_type") != "product":
            continue
        raw = (line.get("quantity") or 0.0) * (line.get("price_unit") or 0.0) * (1 - (line.get("discount") or 0) / 100)
        subtotal, taxes = _line_taxes(env, line, raw)
        line_tax = sum(a for _, a in taxes)
        for tax_id, amount in taxes:
            per_tax[tax_id] = money(per_tax.get(tax_id, 0.0) + amount)
        untaxed += subtotal
        tax_total += line_tax
        _set(sync, "account.move.line", line["id"], _amounts(direction * subtotal, rate) | {
            "price_subtotal": subtotal, "price_total": money(subtotal + line_tax),
            "partner_id": _commercial_partner(env, move.get("partner_id")),
            "currency_id": move.get("currency_id")})
    sale = move["move_type"] in SALE
    existing_tax = {r.get("tax_line_id"): r for r in lines if r.get("display_type") == "tax"}
    for tax_id, amount in per_tax.items():
        vals = _amounts(direction * amount, rate) | {"name": _row(env, "account.tax", tax_id).get("name"),
                                                      "currency_id": move.get("currency_id")}
        if tax_id in existing_tax:
            _set(sync, "account.move.line", existing_tax.pop(tax_id)["id"], vals)
        else:
            account = company_account(env, move["company_id"], "liability_current" if sale else "asset_current")
            create(sync, "account.move.line", [vals | {"move_id": move_id, "display_type": "tax", "tax_ids": [],
                                                       "tax_line_id": tax_id, "account_id": account}])
    stale = [r["id"] for r in existing_tax.values()]
    total = money(untaxed + tax_total)
    term = [r for r in lines if r.get("display_type") == "payment_term"]
    term_vals = _amounts(-direction * total, rate) | {
        "name": move.get("payment_reference") or "", "currency_id": move.get("currency_id"),
        "partner_id": _commercial_partner(env, move.get("partner_id")),
        "date_maturity": move.get("invoice_date_due") or move.get("invoice_date") or move.get("date")}
    if term:
        _set(sync, "account.move.line", term[0]["id"], term_vals)
        stale += [r["id"] for r in term[1:]]
    else:
        account = company_account(env, move["company_id"], "asset_receivable" if sale else "liability_payable")
        create(sync, "account.move.line", [term_vals | {"move_id": move_id, "display_type": "payment_term",
                                                        "account_id": account, "quantity": 0.0}])
    if stale:
        unlink(sync, "account.move.line", stale)
    signed = -direction  # out_invoice and in_refund count positive in the *_signed amounts
    _set(sync, "account.move", move_id, {
        "amount_untaxed": money(untaxed), "amount_tax": money(tax_total), "amount_total": total,
        "amount_untaxed_signed": money(signed * untaxed / rate), "amount_tax_signed": money(signed * tax_total / rate),
        "amount_total_signed": money(signed * total / rate)})
    refresh_payment_state(env, move_id)


def _amounts(amount_currency: float, rate: float) -> dict[str, float]:
    balance = money(amount_currency / rate)
    return {"amount_currency": money(amount_currency), "balance": balance, "debit": max(balance, 0.0),
            "credit": max(-balance, 0.0)}


def _set(env: Env, model: str, rid: int, vals: dict[str, Any]) -> None:
    """Write computed values only when they change (so an unchanged move keeps its write_date)."""
    row = _row(env, model, rid)
    changed = {k: v for k, v in vals.items() if row.get(k) != v}
    if changed:
        touch(env, model, rid, changed)
