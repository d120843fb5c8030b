"""PowerOffice's payment adapter: an outgoing invoice's ``Balance`` is what is still open.

PowerOffice filters on ``balanceLastChangedDateTimeOffsetGreaterThan`` (strictly after the
window's start); the window's end is applied here. Only invoices this integration created are
asked for (``onlyCreatedByCurrentIntegration``).
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from tribe_operators.sync.payments import Settlement, money
from tribe_operators.timeutil import iso_timestamp, parse_timestamp

__all__ = ["PowerOfficePayments"]


class PowerOfficePayments:
    def __init__(self, hook: Any, settings: dict[str, Any] | None = None, scope: Any = None) -> None:
        self.hook = hook

    def settlements(self, since: datetime | None, until: datetime | None) -> Iterator[Settlement]:
        params: dict[str, Any] = {"onlyCreatedByCurrentIntegration": True}
        if since is not None:
            params["balanceLastChangedDateTimeOffsetGreaterThan"] = iso_timestamp(since)
        for invoice in self.hook.iter_records("OutgoingInvoices", params):
            changed = parse_timestamp(invoice.get("BalanceLastChangedDateTimeOffset"))
            if until is not None and changed is not None and changed > until:
                continue  # the next window's
            yield Settlement(str(invoice["Id"]), money(invoice.get("TotalPostedAmount") or invoice.get("TotalAmount")),
                             money(invoice.get("Balance")), changed)
