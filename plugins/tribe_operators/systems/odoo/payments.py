"""Odoo's payment adapter: an invoice's ``payment_state`` says whether it is settled.

``paid`` and ``in_payment`` (paid, the bank match still pending) settle it; ``partial`` leaves
``amount_residual`` open; ``reversed`` (credited in full) is reported as such. Odoo moves a
move's ``write_date`` whenever its payment state changes, so the window is read on it; only
invoices this integration made (``invoice_origin`` ours) in this legal entity are asked for.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from tribe_operators.sync.payments import Settlement, money
from tribe_operators.sync.invoices import invoice_reference
from tribe_operators.systems.odoo.invoices import SALES, company_of
from tribe_operators.systems.odoo.records import odoo_datetime
from tribe_operators.systems.odoo.source import read_context
from tribe_operators.timeutil import parse_timestamp

__all__ = ["OdooPayments"]

SETTLED = ("paid", "in_payment")


class OdooPayments:
    def __init__(self, hook: Any, settings: dict[str, Any] | None = None, scope: dict[str, Any] | None = None) -> None:
        self.hook = hook
        company = company_of(scope)
        self.context = read_context([company] if company else None)
        self.company = company

    def settlements(self, since: datetime | None, until: datetime | None) -> Iterator[Settlement]:
        ours = invoice_reference("%")  # "tribe:%": the invoices this integration made
        domain: list[Any] = [["move_type", "in", SALES], ["state", "=", "posted"], ["invoice_origin", "=like", ours]]
        if self.company:
            domain.append(["company_id", "=", self.company])
        if since is not None:
            domain.append(["write_date", ">", odoo_datetime(since)])
        if until is not None:
            domain.append(["write_date", "<=", odoo_datetime(until)])
        fields = ["amount_total", "amount_residual", "payment_state", "write_date"]
        for page in self.hook.search_read_all("account.move", domain, fields, context=self.context):
            for move in page:
                state = move.get("payment_state")
                total = money(move.get("amount_total"))
                open_ = Decimal("0.00") if state in SETTLED else money(move.get("amount_residual"))
                yield Settlement(str(move["id"]), total, open_, parse_timestamp(move.get("write_date")),
                                 reversed=state == "reversed")
