"""``account.move.reversal``: credit notes for posted invoices.

``refund_moves`` makes draft credit notes (``reversed_entry_id`` set); ``modify_moves`` posts the
credit note, reconciles it with the invoice (both become ``payment_state='reversed'``) and
opens a draft copy of the invoice to correct, as the wizard's "Reverse and Create Invoice" does.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.odoo import api
from sandbox.odoo.errors import UserError
from sandbox.odoo.models import char, date, m2m, m2o
from sandbox.odoo.moves import SYNC, money
from sandbox.odoo.payments import REVERSED, refresh_payment_state
from sandbox.odoo.registry import Hooks, ModelDef
from sandbox.odoo.writing import create, touch

if TYPE_CHECKING:
    from sandbox.odoo.access import Env
    from sandbox.odoo.versions import VersionProfile

__all__ = ["define"]

_REVERSE_TYPE = {"out_invoice": "out_refund", "out_refund": "out_invoice", "in_invoice": "in_refund",
                 "in_refund": "in_invoice", "entry": "entry"}
_COPIED = ("product_id", "name", "quantity", "price_unit", "discount", "account_id", "product_uom_id", "sequence")


class ReversalHooks(Hooks):
    def prepare_create(self, env: Env, vals: dict[str, Any]) -> dict[str, Any]:
        if "move_ids" not in vals and env.context.get("active_model") == "account.move":
            vals["move_ids"] = [(6, 0, list(env.context.get("active_ids") or []))]
        ids = vals.get("move_ids") or []
        ids = ids[0][2] if ids and isinstance(ids[0], list | tuple) else ids
        moves = [env.store.get("account.move", rid) or {} for rid in ids]
        if not moves or any(m.get("state") != "posted" for m in moves):
            raise UserError("You can only reverse posted moves.")
        vals.setdefault("company_id", moves[0].get("company_id"))
        return vals


def _lines(env: Env, move_id: int) -> list[tuple]:
    return [(0, 0, {**{k: line.get(k) for k in _COPIED}, "tax_ids": [(6, 0, list(line.get("tax_ids") or []))]})
            for line in env.store.rows("account.move.line")
            if line.get("move_id") == move_id and line.get("display_type") == "product"]


def _reverse(self: api.Records, *, cancel: bool, modify: bool) -> dict[str, Any]:
    from sandbox.odoo.posting import action_post

    env = self.env
    created: list[int] = []
    for wizard_id in self.ids:
        wizard = env.store.get("account.move.reversal", wizard_id) or {}
        for move_id in wizard.get("move_ids") or []:
            move = env.store.get("account.move", move_id) or {}
            day = wizard.get("date") or env.today()
            refund_id = create(env, "account.move", [{
                "move_type": _REVERSE_TYPE.get(move.get("move_type"), "entry"),
                "partner_id": move.get("partner_id"), "currency_id": move.get("currency_id"),
                "journal_id": wizard.get("journal_id") or move.get("journal_id"),
                "invoice_date": day, "date": day, "reversed_entry_id": move_id,
                "ref": f"Reversal of: {move.get('name')}" + (f", {wizard['reason']}" if wizard.get("reason") else ""),
                "invoice_line_ids": _lines(env, move_id)}])[0]
            created.append(refund_id)
            if cancel:
                action_post(api.Records(env, env.registry["account.move"], [refund_id]))
                refund = env.store.get("account.move", refund_id)
                settled = money(min(move.get("amount_residual") or 0.0, refund.get("amount_total") or 0.0))
                sync = env.with_context(**{SYNC: True})
                for rid in (move_id, refund_id):
                    row = env.store.get("account.move", rid)
                    touch(sync, "account.move", rid, {REVERSED: money((row.get(REVERSED) or 0.0) + settled)})
                    refresh_payment_state(env, rid)
            if modify:
                created.append(create(env, "account.move", [{
                    "move_type": move.get("move_type"), "partner_id": move.get("partner_id"),
                    "currency_id": move.get("currency_id"), "journal_id": move.get("journal_id"),
                    "ref": move.get("ref"), "payment_reference": move.get("payment_reference"),
                    "invoice_line_ids": _lines(env, move_id)}])[0])
    shown = created[-1:] if modify else created
    action: dict[str, Any] = {"name": "Reverse Moves", "type": "ir.actions.act_window", "res_model": "account.move"}
    if len(shown) == 1:
        action.update(view_mode="form", res_id=shown[0])
    else:
        action.update(view_mode="list,form", domain=[["id", "in", shown]])
    return action


def refund_moves(self: api.Records) -> dict[str, Any]:
    return _reverse(self, cancel=False, modify=False)


def modify_moves(self: api.Records) -> dict[str, Any]:
    return _reverse(self, cancel=True, modify=True)


def reverse_moves(self: api.Records, is_modify: bool = False) -> dict[str, Any]:
    return _reverse(self, cancel=is_modify, modify=is_modify)


def define(p: VersionProfile) -> list[ModelDef]:
    return [ModelDef("account.move.reversal", "Account Move Reversal", {
        "move_ids": m2m("account.move", "Moves"),
        "reason": char("Reason displayed on Credit Note"),
        "date": date("Reversal Date", default=lambda env, vals: env.today()),
        "journal_id": m2o("account.journal", "Use Specific Journal"),
        "company_id": m2o("res.company", "Company", readonly=True),
    }, transient=True, hooks=ReversalHooks(),
        methods={"refund_moves": refund_moves, "modify_moves": modify_moves, "reverse_moves": reverse_moves})]
