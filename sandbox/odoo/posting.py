"""``account.move`` buttons: ``action_post`` (checks, invoice date, journal sequence name),
``button_draft``, ``button_cancel``, and the wizards' entry points; the two models' definitions.

Names come from the journal like Odoo's ``sequence.mixin`` starts them: ``INV/2026/00001`` on
sale (and bank/cash) journals, ``BILL/2026/01/0001`` (monthly) on purchase and general journals,
``R`` in front for credit notes on journals with a dedicated refund sequence.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sandbox.odoo import api
from sandbox.odoo.errors import UserError
from sandbox.odoo.models.invoice import MOVE_TYPES, line_fields, move_fields
from sandbox.odoo.moves import REFUNDS, SALE, SYNC, LineHooks, MoveHooks, recompute
from sandbox.odoo.registry import ModelDef
from sandbox.odoo.writing import touch

if TYPE_CHECKING:
    from sandbox.odoo.access import Env
    from sandbox.odoo.versions import VersionProfile

__all__ = ["define", "next_name"]

_PARTNER_LABEL = {"out_invoice": "Customer", "out_refund": "Customer", "out_receipt": "Customer",
                  "in_invoice": "Vendor", "in_refund": "Vendor", "in_receipt": "Vendor"}


def next_name(env: Env, move: dict[str, Any]) -> str:
    """The next number of the move's journal sequence for its date."""
    journal = env.store.get("account.journal", move["journal_id"]) or {}
    year, month = move["date"][:4], move["date"][5:7]
    if journal.get("type") in ("sale", "bank", "cash"):
        prefix, width = f"{journal.get('code')}/{year}/", 5
    else:
        prefix, width = f"{journal.get('code')}/{year}/{month}/", 4
    if journal.get("refund_sequence") and move.get("move_type") in REFUNDS:
        prefix = "R" + prefix
    pattern = re.compile(re.escape(prefix) + r"(\d+)$")
    used = [int(m.group(1)) for row in env.store.rows("account.move")
            if row.get("journal_id") == move["journal_id"] and (m := pattern.match(row.get("name") or ""))]
    return f"{prefix}{(max(used) if used else 0) + 1:0{width}d}"


def _moves(records: api.Records) -> list[dict[str, Any]]:
    from sandbox.odoo.access import check_records

    check_records(records.env, records.model, records.ids, "write")
    return [records.env.store.get("account.move", rid) for rid in records.ids]


def action_post(self: api.Records) -> bool:
    """Post draft moves; returns False (recent versions do, so XML-RPC can marshal it)."""
    env = self.env
    sync = env.with_context(**{SYNC: True})
    for move in _moves(self):
        label = f"{move.get('name')} (id {move['id']})"
        if move.get("state") == "posted":
            raise UserError(f"The entry {label} is already posted.")
        if move.get("state") == "cancel":
            raise UserError(f"The entry {label} is cancelled: reset it to draft before posting it.")  # [INFER]
        kind = move.get("move_type")
        if kind in _PARTNER_LABEL:
            type_label = dict(MOVE_TYPES)[kind]
            if not move.get("partner_id"):
                raise UserError(f"The field '{_PARTNER_LABEL[kind]}' is required, please complete it to validate "
                                f"the {type_label}.")
            if not any(line.get("display_type") == "product" for line in env.store.rows("account.move.line")
                       if line.get("move_id") == move["id"]):
                raise UserError("You need to add a line before posting.")
            if not move.get("invoice_date"):
                if kind not in SALE:
                    raise UserError("The Bill/Refund date is required to validate this document.")
                touch(sync, "account.move", move["id"], {"invoice_date": env.today()})
            if (move.get("amount_total") or 0.0) < 0:
                raise UserError("You cannot validate an invoice with a negative total amount. You should create a "
                                "credit note instead.")
            changes: dict[str, Any] = {"date": move["invoice_date"]}
            if not move.get("invoice_date_due"):
                changes["invoice_date_due"] = move["invoice_date"]
            touch(sync, "account.move", move["id"], changes)
        if not move.get("name") or move["name"] == "/":
            touch(sync, "account.move", move["id"], {"name": next_name(env, move)})
        touch(sync, "account.move", move["id"], {"state": "posted", "posted_before": True})
        recompute(env, move["id"])
        _increase_rank(env, move)
    return False


def _increase_rank(env: Env, move: dict[str, Any]) -> None:
    """Posting raises the partner's customer/supplier rank with raw SQL in Odoo
    (``_increase_rank``), so the partner's write_date does not move."""
    field = "customer_rank" if move.get("move_type") in SALE else "supplier_rank"
    partner = env.store.get("res.partner", move.get("partner_id")) if move.get("partner_id") else None
    if partner is not None and move.get("move_type") != "entry":
        from sandbox.odoo.models.partner import commercial

        top = commercial(env, partner)
        env.store.update("res.partner", top["id"], {field: (top.get(field) or 0) + 1})


def button_draft(self: api.Records) -> None:
    """Back to draft, undoing the reconciliation with payments. Returns None, which XML-RPC
    cannot marshal: the call succeeds but the client gets a fault (reference §5.4)."""
    from sandbox.odoo.payments import unreconcile

    for move in _moves(self):
        if move.get("state") not in ("posted", "cancel"):
            raise UserError("Only posted/cancelled journal entries can be reset to draft.")
        unreconcile(self.env, move["id"])
        touch(self.env.with_context(**{SYNC: True}), "account.move", move["id"], {"state": "draft"})
        recompute(self.env, move["id"])
    return None


def button_cancel(self: api.Records) -> None:
    """Posted moves go through draft first, as in Odoo 17; returns None (see button_draft)."""
    posted = [m["id"] for m in _moves(self) if m.get("state") == "posted"]
    if posted:
        button_draft(self.with_ids(posted))
    for move in _moves(self):
        if move.get("state") != "draft":
            raise UserError("Only draft journal entries can be cancelled.")
        touch(self.env.with_context(**{SYNC: True}), "account.move", move["id"], {"state": "cancel"})
        recompute(self.env, move["id"])
    return None


def _wizard_action(name: str, model: str, ids: list[int]) -> dict[str, Any]:
    return {"name": name, "type": "ir.actions.act_window", "res_model": model, "view_mode": "form",
            "views": [[False, "form"]], "target": "new",
            "context": {"active_model": "account.move", "active_ids": ids}}


def action_register_payment(self: api.Records) -> dict[str, Any]:
    """The "Register Payment" button: the wizard's action (create it with this context)."""
    _moves(self)
    return _wizard_action("Register Payment", "account.payment.register", self.ids)


def action_reverse(self: api.Records) -> dict[str, Any]:
    """The "Reverse Entry"/"Credit Note" button: the reversal wizard's action."""
    _moves(self)
    return _wizard_action("Reverse", "account.move.reversal", self.ids)


def define(p: VersionProfile) -> list[ModelDef]:
    methods = {"action_post": action_post, "button_draft": button_draft, "button_cancel": button_cancel,
               "action_register_payment": action_register_payment, "action_reverse": action_reverse}
    return [
        ModelDef("account.move", "Journal Entry",
                 move_fields(p, today=lambda env, vals: vals.get("invoice_date") or env.today(),
                             default_user=lambda env, vals: env.uid),
                 order="date desc, name desc, id desc", rec_names_search=("name", "partner_id.complete_name", "ref"),
                 company_field="company_id", hooks=MoveHooks(), methods=methods),
        ModelDef("account.move.line", "Journal Item", line_fields(p), order="date desc, move_name desc, id",
                 rec_names_search=("name", "move_id.name"), company_field="company_id", hooks=LineHooks()),
    ]
