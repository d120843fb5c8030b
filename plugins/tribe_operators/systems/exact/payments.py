"""Exact Online's payment adapter: a sales entry's receivable (``cashflow/Receivables``) says
whether it is settled, and a payment Tribe knows of first is booked in a bank or cash journal.

Reads, all ``$filter`` (never a GET by key: a 404 counts toward Exact's block):
- the receivables of the division's sales journal modified in the window (one paged read);
  ``IsFullyPaid`` settles one; ``TransactionEntryID`` is the entry id the export ledger keeps;
- for those not fully paid, their open amount from ``read/financial/ReceivablesList`` (outstanding
  items only), the sales journal's items in one read — a receivable has no paid-amount field.

Reversals, as Exact shows them: a payment taken back reopens the receivable (no longer
``IsFullyPaid``, open again in ``ReceivablesList``) — the core sees an invoice it had settled
open again and reports it. An entry reversed (a sales entry with ``Reversal``, the same invoice
number) leaves a receivable with ``TransactionIsReversal`` whose open item cancels the
original's: the original is reported ``reversed``, never taken for paid [INFER: the matching by
invoice number; Exact's reference names the flags, not how the two items are linked].

Booking (``payments.<division>`` in the settings names the journal): one ``BankEntries`` /
``CashEntries`` entry per invoice, its line on the customer's account with the invoice number in
``OurRef`` (how Exact matches a payment to the open item) for the open amount; our unique
reference in the line's ``Notes`` [INFER: Exact's wording for an outside key on a line], looked
up after a lost answer. Without that setting :meth:`can_book` is False: the core reports it.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from tribe_operators.sync.payments import Settlement, money
from tribe_operators.systems.exact.odata import odata_string, results, window_filter

__all__ = ["ExactPayments"]

RECEIVABLES = "cashflow/Receivables"
OPEN_ITEMS = "read/financial/ReceivablesList"
_ENTRIES = {"bank": ("financialtransaction/BankEntries", "BankEntryLines"),
            "cash": ("financialtransaction/CashEntries", "CashEntryLines")}


class ExactPayments:
    def __init__(self, hook: Any, settings: dict[str, Any] | None = None, scope: dict[str, Any] | None = None) -> None:
        self.hook = hook
        self.settings = settings or {}
        self.scope = scope or {}
        name = str(self.scope.get("name") or "default")
        self.sales_journal = str(((self.settings.get("invoices") or {}).get(name) or {}).get("journal") or "")
        self.booking = (self.settings.get("payments") or {}).get(name) or {}

    def _client(self) -> Any:
        return self.hook.client_for(self.scope.get("key") or None)

    def _read(self, entity_set: str, condition: str, select: str) -> list[dict[str, Any]]:
        from tribe_operators.http.pagination import NextLinkPaginator

        params = {"$select": select, "$filter": condition}
        return [r for page in self._client().pages(entity_set, NextLinkPaginator(), params) for r in page]

    def _open_amounts(self) -> dict[int, Decimal]:
        """Entry number → what is still open, for the sales journal's outstanding items."""
        rows = self._read(OPEN_ITEMS, f"JournalCode eq {odata_string(self.sales_journal)}", "EntryNumber,Amount")
        return {int(r["EntryNumber"]): money(r.get("Amount")) for r in rows if r.get("EntryNumber") is not None}

    def settlements(self, since: datetime | None, until: datetime | None) -> Iterator[Settlement]:
        if not self.sales_journal:
            return  # no invoices booked in this division: nothing of ours to read
        window = window_filter("Modified", since, until, zone=self.hook.exact.timezone)
        rows = self._read(RECEIVABLES, f"Journal eq {odata_string(self.sales_journal)} and {window}",
                          "TransactionEntryID,EntryNumber,InvoiceNumber,Account,AmountFC,IsFullyPaid,"
                          "TransactionIsReversal")
        # A reversal's own receivable is not an invoice of ours; it names the one it cancels.
        reversals = {(r.get("Account"), r.get("InvoiceNumber")) for r in rows if r.get("TransactionIsReversal")}
        rows = [r for r in rows if not r.get("TransactionIsReversal")]
        open_amounts = self._open_amounts() if any(not r.get("IsFullyPaid") for r in rows) else {}
        for row in rows:
            total = money(row.get("AmountFC"))
            if row.get("IsFullyPaid"):
                open_ = Decimal("0.00")
            else:  # not in the open items any more although not fully paid: leave it as it was
                open_ = open_amounts.get(int(row.get("EntryNumber") or 0), total)
            reversed_ = (row.get("Account"), row.get("InvoiceNumber")) in reversals
            yield Settlement(str(row["TransactionEntryID"]), total, open_, None, reversed=reversed_)

    # ---- a payment Tribe knows of first -----------------------------------------------------
    def can_book(self) -> bool:
        return bool(self.booking.get("journal"))

    def open_amount(self, external_id: str) -> tuple[Decimal, dict[str, Any]] | None:
        """The entry's open amount and its receivable, or None when Exact has it settled."""
        rows = self._read(RECEIVABLES, f"TransactionEntryID eq guid'{external_id}'",
                          "TransactionEntryID,Account,InvoiceNumber,EntryNumber,AmountFC,IsFullyPaid")
        if not rows or rows[0].get("IsFullyPaid"):
            return None
        row = rows[0]
        items = self._read(OPEN_ITEMS, f"JournalCode eq {odata_string(self.sales_journal)} and "
                                       f"EntryNumber eq {int(row['EntryNumber'])}", "EntryNumber,Amount")
        amount = money(items[0].get("Amount")) if items else money(row.get("AmountFC"))
        return (amount, row) if amount != 0 else None

    def find_payment(self, reference: str) -> str | None:
        entity, lines = _ENTRIES[self.booking.get("type", "bank")]
        rows = self._read(f"financialtransaction/{lines}", f"Notes eq {odata_string(reference)}", "ID,EntryID")
        return str(rows[0]["EntryID"]) if rows else None

    def book_payment(self, external_id: str, reference: str) -> str | None:
        """Book what is open on the entry in the settings' journal; None when nothing is open."""
        found = self.open_amount(external_id)
        if found is None:
            return None
        amount, receivable = found
        entity, lines = _ENTRIES[self.booking.get("type", "bank")]
        body = {"Journal": str(self.booking["journal"]), lines: [{
            "Account": receivable["Account"], "AmountFC": float(-amount), "OurRef": receivable["InvoiceNumber"],
            "Description": f"Betaling factuur {receivable['InvoiceNumber']} (Tribe)", "Notes": reference}]}
        return str(results(self._client().request("POST", entity, json=body).json())[0]["EntryID"])
