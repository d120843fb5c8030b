"""Payments: ``account.payment``, the ``account.payment.register`` wizard and the invoice's
``payment_state`` / ``amount_residual``.

The wizard is used as Odoo's UI uses it: ``create`` with context ``active_model='account.move'``
and ``active_ids``, then ``action_create_payments``. A payment reconciled with an invoice but not
yet matched with a bank statement leaves the invoice ``in_payment`` (17: payment ``posted``, 18+:
``in_process``); matching it (``OdooState.match_payment`` or ``/_sandbox/odoo/payments/<id>/match``,
the bank reconciliation a client cannot do over RPC) makes the invoice ``paid``. Simplification:
payments do not create their own journal entries here.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.odoo import api
from sandbox.odoo.errors import UserError
from sandbox.odoo.models import boolean, char, date, m2m, m2o, monetary, selection
from sandbox.odoo.moves import SALE, SYNC, money
from sandbox.odoo.registry import Hooks, ModelDef
from sandbox.odoo.writing import create, touch

if TYPE_CHECKING:
    from sandbox.odoo.access import Env
    from sandbox.odoo.versions import VersionProfile

__all__ = ["define", "match_payment", "refresh_payment_state", "unreconcile"]

ALLOC = "_allocations"  # hidden column of a payment: {move id: amount applied}
REVERSED = "_reversal_amount"  # hidden column of a move: amount settled by its reversal


def _row(env: Env, model: str, rid: Any) -> dict[str, Any]:
    return (env.store.get(model, rid) if rid else None) or {}


def _live_payments(env: Env, move_id: int) -> list[dict[str, Any]]:
    return [p for p in env.store.rows("account.payment")
            if str(move_id) in (p.get(ALLOC) or {}) and p.get("state") not in ("draft", "cancel", "canceled")]


def refresh_payment_state(env: Env, move_id: int) -> None:
    """Recompute ``amount_residual`` (+ signed) and ``payment_state`` of one move."""
    move = _row(env, "account.move", move_id)
    total = move.get("amount_total") or 0.0
    if move.get("state") != "posted":
        residual, state, paid = total, "not_paid", 0.0
    else:
        payments = _live_payments(env, move_id)
        by_reversal = move.get(REVERSED) or 0.0
        paid = sum(p[ALLOC][str(move_id)] for p in payments) + by_reversal
        residual = money(max(total - paid, 0.0))
        if residual == 0 and total:
            if by_reversal and not payments:
                state = "reversed"
            else:
                state = "paid" if all(p.get("is_matched") for p in payments) else "in_payment"
        elif paid:
            state = "partial"
        else:
            state = "not_paid"
    sign = 1 if move.get("move_type") in ("out_invoice", "in_refund", "out_receipt") else -1
    changes = {"amount_residual": residual, "amount_residual_signed": money(sign * residual), "payment_state": state}
    sync = env.with_context(**{SYNC: True})
    if any(move.get(k) != v for k, v in changes.items()):
        touch(sync, "account.move", move_id, changes)
    for line in env.store.rows("account.move.line"):
        if line.get("move_id") == move_id and line.get("display_type") == "payment_term":
            values = {"amount_residual": money(abs(line.get("balance") or 0.0) * (residual / total if total else 0)),
                      "reconciled": bool(total) and residual == 0}
            if any(line.get(k) != v for k, v in values.items()):
                touch(sync, "account.move.line", line["id"], values)


def unreconcile(env: Env, move_id: int) -> None:
    """Remove the move from its payments' reconciliations (button_draft does this)."""
    for payment in env.store.rows("account.payment"):
        if str(move_id) in (payment.get(ALLOC) or {}):
            allocations = {k: v for k, v in payment[ALLOC].items() if k != str(move_id)}
            env.store.update("account.payment", payment["id"], {ALLOC: allocations})
    env.store.update("account.move", move_id, {REVERSED: 0.0})


def match_payment(env: Env, payment_id: int) -> None:
    """The bank statement line was matched with this payment: its invoices become ``paid``."""
    payment = _row(env, "account.payment", payment_id)
    if not payment:
        raise KeyError(payment_id)
    changes: dict[str, Any] = {"is_matched": True}
    if env.profile.payment_rework:
        changes["state"] = "paid"
    touch(env, "account.payment", payment_id, changes)
    for move_id in payment.get(ALLOC) or {}:
        refresh_payment_state(env, int(move_id))


def _reconciled(env: Env, row: dict[str, Any]) -> list[int]:
    return [int(k) for k in (row.get(ALLOC) or {})]


class PaymentHooks(Hooks):
    def prepare_create(self, env: Env, vals: dict[str, Any]) -> dict[str, Any]:
        journal = _row(env, "account.journal", vals.get("journal_id"))
        vals["company_id"] = journal.get("company_id") or env.company
        vals.setdefault("currency_id", journal.get("currency_id")
                        or _row(env, "res.company", vals["company_id"]).get("currency_id"))
        return vals


def _register_defaults(env: Env, vals: dict[str, Any]) -> dict[str, Any]:
    """The wizard's ``default_get``: the invoices come from the context."""
    if env.context.get("active_model") != "account.move":
        raise UserError("The register payment wizard should only be called on account.move or account.move.line "
                        "records.")
    ids = env.context.get("active_ids") or []
    from sandbox.odoo.access import check_records

    check_records(env, env.registry["account.move"], list(ids), "read")
    moves = [_row(env, "account.move", rid) for rid in ids]
    if not moves or any(m.get("state") != "posted" for m in moves):
        raise UserError("You can only register payment for posted journal entries.")
    if all((m.get("amount_residual") or 0.0) <= 0 for m in moves):
        raise UserError("You can't register a payment because there is nothing left to pay on the selected "
                        "journal items.")
    company = moves[0]["company_id"]
    if "journal_id" not in vals:
        banks = [j for j in env.store.rows("account.journal")
                 if j.get("company_id") == company and j.get("type") in ("bank", "cash") and j.get("active")]
        if not banks:
            raise UserError("No payment journal could be found: create a bank or cash journal first.")  # [INFER]
        vals["journal_id"] = banks[0]["id"]
    vals.setdefault("amount", money(sum(m.get("amount_residual") or 0.0 for m in moves)))
    vals.setdefault("currency_id", moves[0].get("currency_id"))
    vals.setdefault("communication", moves[0].get("payment_reference") or moves[0].get("name"))
    vals.setdefault("partner_id", moves[0].get("commercial_partner_id") or moves[0].get("partner_id"))
    vals["company_id"] = company
    vals["line_ids"] = [(6, 0, [line["id"] for line in env.store.rows("account.move.line")
                                if line.get("move_id") in ids and line.get("display_type") == "payment_term"])]
    vals["_move_ids"] = list(ids)
    return vals


class RegisterHooks(Hooks):
    def prepare_create(self, env: Env, vals: dict[str, Any]) -> dict[str, Any]:
        return _register_defaults(env, vals)


def action_create_payments(self: api.Records) -> Any:
    """Create the payment(s) and reconcile them with the invoices."""
    env = self.env
    result = None
    for wizard_id in self.ids:
        wizard = _row(env, "account.payment.register", wizard_id)
        moves = [_row(env, "account.move", m) for m in wizard.get("_move_ids") or []]
        groups = [moves] if wizard.get("group_payment") or len(moves) == 1 else [[m] for m in moves]
        for group in groups:
            amount = wizard.get("amount") if len(groups) == 1 else sum(m.get("amount_residual") or 0 for m in group)
            result = _pay(env, wizard, group, float(amount or 0.0))
    if env.context.get("dont_redirect_to_payments"):
        return True
    return {"name": "Payments", "type": "ir.actions.act_window", "res_model": "account.payment",
            "context": {"create": False}, "view_mode": "form", "res_id": result}


def _pay(env: Env, wizard: dict[str, Any], moves: list[dict[str, Any]], amount: float) -> int:
    first = moves[0]
    inbound = first.get("move_type") in ("out_invoice", "in_refund", "out_receipt")
    allocations: dict[str, float] = {}
    left = amount
    for move in sorted(moves, key=lambda m: (m.get("invoice_date_due") or m.get("date") or "", m["id"])):
        applied = money(min(left, move.get("amount_residual") or 0.0))
        if applied > 0:
            allocations[str(move["id"])] = applied
            left = money(left - applied)
    journal = _row(env, "account.journal", wizard.get("journal_id"))
    memo = "memo" if env.profile.payment_rework else "ref"
    vals = {"payment_type": "inbound" if inbound else "outbound",
            "partner_type": "customer" if first.get("move_type") in SALE else "supplier",
            "partner_id": wizard.get("partner_id"), "amount": amount, "currency_id": wizard.get("currency_id"),
            "date": wizard.get("payment_date") or env.today(), "journal_id": journal.get("id"),
            memo: wizard.get("communication") or False,
            "state": "in_process" if env.profile.payment_rework else "posted"}
    payment_id = create(env, "account.payment", [vals])[0]
    prefix = f"P{journal.get('code')}/{vals['date'][:4]}/"
    used = [int(r["name"][len(prefix):]) for r in env.store.rows("account.payment")
            if (r.get("name") or "").startswith(prefix) and r["name"][len(prefix):].isdigit()]
    env.store.update("account.payment", payment_id, {ALLOC: allocations})
    touch(env, "account.payment", payment_id, {"name": f"{prefix}{(max(used) if used else 0) + 1:05d}"})
    if env.state.payments_match_immediately:
        match_payment(env, payment_id)
    for move_id in allocations:
        refresh_payment_state(env, int(move_id))
    return payment_id


def action_cancel(self: api.Records) -> bool:
    """Cancel payments: their invoices are open again."""
    from sandbox.odoo.access import check_records

    check_records(self.env, self.model, self.ids, "write")
    for rid in self.ids:
        payment = _row(self.env, "account.payment", rid)
        touch(self.env, "account.payment", rid, {"state": "canceled" if self.env.profile.payment_rework else "cancel"})
        for move_id in payment.get(ALLOC) or {}:
            refresh_payment_state(self.env, int(move_id))
    return True


def define(p: VersionProfile) -> list[ModelDef]:
    if p.payment_rework:
        states = [("draft", "Draft"), ("in_process", "In Process"), ("paid", "Paid"), ("canceled", "Canceled"),
                  ("rejected", "Rejected")]
    else:
        states = [("draft", "Draft"), ("posted", "Posted"), ("cancel", "Cancelled")]
    invoices = m2m("account.move", "Reconciled Invoices", readonly=True, store=False, compute=_reconciled)
    fields: dict[str, Any] = {
        "name": char("Number", default="/", readonly=True),
        "payment_type": selection("Payment Type", [("outbound", "Send"), ("inbound", "Receive")], required=True),
        "partner_type": selection("Partner Type", [("customer", "Customer"), ("supplier", "Vendor")]),
        "partner_id": m2o("res.partner", "Customer/Vendor", ondelete="restrict"),
        "amount": monetary("Amount"),
        "currency_id": m2o("res.currency", "Currency"),
        "date": date("Date", required=True, default=lambda env, vals: env.today()),
        "journal_id": m2o("account.journal", "Journal", required=True),
        "company_id": m2o("res.company", "Company", readonly=True),
        "state": selection("Status", states, required=True, readonly=True, default="draft"),
        "is_matched": boolean("Is Matched With a Bank Statement", readonly=True),
        "is_reconciled": boolean("Is Reconciled", readonly=True, store=False,
                                 compute=lambda env, row: bool(row.get(ALLOC))),
        "reconciled_invoice_ids": invoices,
    }
    fields["memo" if p.payment_rework else "ref"] = char("Memo")
    if p.payment_rework:
        fields["invoice_ids"] = invoices
    return [
        ModelDef("account.payment", "Payments", fields, order="date desc, name desc", company_field="company_id",
                 hooks=PaymentHooks(), methods={"action_cancel": action_cancel}),
        ModelDef("account.payment.register", "Pay", {
            "payment_date": date("Payment Date", required=True, default=lambda env, vals: env.today()),
            "amount": monetary("Amount"),
            "currency_id": m2o("res.currency", "Currency"),
            "journal_id": m2o("account.journal", "Journal", required=True),
            "communication": char("Memo"),
            "partner_id": m2o("res.partner", "Customer/Vendor"),
            "line_ids": m2m("account.move.line", "Journal items", readonly=True),
            "group_payment": boolean("Group Payments", default=True),
            "company_id": m2o("res.company", "Company", readonly=True),
            "payment_difference": monetary("Payment Difference", readonly=True, store=False,
                                           compute=lambda env, row: _difference(env, row)),
        }, transient=True, hooks=RegisterHooks(), methods={"action_create_payments": action_create_payments}),
    ]


def _difference(env: Env, row: dict[str, Any]) -> float:
    due = sum(_row(env, "account.move", m).get("amount_residual") or 0.0 for m in row.get("_move_ids") or [])
    return money(due - (row.get("amount") or 0.0))

