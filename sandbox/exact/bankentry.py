"""Customer payments booked in a bank or cash journal: ``financialtransaction/BankEntries`` and
``CashEntries`` (+ lines, deep insert), as Exact documents them.

A line with the customer's ``Account`` and the invoice number in ``OurRef`` ("the invoice number:
links the line to the invoice's open item") settles that receivable by the line's amount: money
received is a negative ``AmountFC`` (a credit on the debtor) [INFER sign, from Exact's bank entry
examples]. ``Journal`` is the journal's code and must be a bank (12) or cash (10) journal.

A line the other way (a positive ``AmountFC`` on the customer, the invoice number in ``OurRef``:
the payment taken back, or paid back) lowers what was paid, and a settled receivable opens again
[INFER]; :func:`reverse_financial_entry` books that for a whole entry, as an accountant reversing
it does. Every entry booked sends a ``FinancialTransactions`` webhook (a topic Exact offers:
cdata's WebhookSubscriptions page, pionect.nl) keyed by the entry [INFER: which entries Exact
announces on that topic, and the key, are not documented].
"""
from __future__ import annotations

from typing import Any

from sandbox.exact.entities import EntitySpec
from sandbox.exact.errors import INVALID_REFERENCE, ExactError
from sandbox.exact.rules import Ctx, Rules, by_code, mandatory, reference
from sandbox.exact.salesentry import FINANCIAL_TRANSACTIONS, register_payment

__all__ = ["FinancialEntryRules", "reverse_financial_entry"]


class FinancialEntryRules(Rules):
    def __init__(self, lines: str, journal_type: int) -> None:
        self.lines, self.journal_type = lines, journal_type  # "financialtransaction/BankEntryLines", 12

    def create(self, ctx: Ctx, spec: EntitySpec, body: dict[str, Any]) -> dict[str, Any]:
        raw = body.get("BankEntryLines" if "Bank" in self.lines else "CashEntryLines")
        values = self.writable(ctx, spec, body)
        mandatory(values, "Journal")
        journal = by_code(ctx, "financial/Journals", values["Journal"])
        if journal is None or journal.get("Type") != self.journal_type:
            raise ExactError(400, INVALID_REFERENCE.format(what="Journals"))
        if not isinstance(raw, list) or not raw:
            raise ExactError(400, f"Verplicht veld ontbreekt: {self.lines.rsplit('/', 1)[1]}")  # [INFER]
        values.pop("BankEntryLines", None)
        values.pop("CashEntryLines", None)
        line_spec = ctx.spec(self.lines)
        lines = []
        for body_line in raw:
            line = self.writable(ctx, line_spec, body_line)
            mandatory(line, "AmountFC")
            if line.get("Account") is not None:
                reference(ctx, "crm/Accounts", line["Account"], "Accounts")
            lines.append(line)
        store = ctx.state.store
        now = ctx.state.wall_now()
        values.update(Journal=journal["Code"], JournalDescription=journal["Description"], Currency="EUR",
                      FinancialYear=values.get("FinancialYear") or now.year, Status=20, StatusDescription="Open",
                      FinancialPeriod=values.get("FinancialPeriod") or now.month)
        store.bump_seq(ctx.division, f"fin:{journal['Code']}", (now.year % 100) * 1_000_000)
        values["EntryNumber"] = store.next_seq(ctx.division, f"fin:{journal['Code']}")
        entry = store.insert(ctx.division, spec, values, ctx.user)
        for line in lines:
            store.insert(ctx.division, line_spec, dict(line, EntryID=entry["EntryID"]), ctx.user)
            self._settle(ctx, line)
        ctx.state.webhooks.notify(ctx.division, FINANCIAL_TRANSACTIONS, "Create", entry["EntryID"], spec.path)
        return entry

    def _settle(self, ctx: Ctx, line: dict[str, Any]) -> None:
        if line.get("OurRef") is None or line.get("Account") is None:
            return  # not a customer payment of an invoice: nothing to match
        receivable = next((r for r in ctx.table("cashflow/Receivables").values()
                           if r["InvoiceNumber"] == line["OurRef"] and r["Account"] == line["Account"]
                           and not r.get("TransactionIsReversal")), None)
        if receivable is not None:
            register_payment(ctx, receivable["TransactionEntryID"], -float(line["AmountFC"]))


class EntryLineRules(Rules):
    def create(self, ctx: Ctx, spec: EntitySpec, body: dict[str, Any]) -> dict[str, Any]:
        raise ExactError(400, "Add lines with the entry (deep insert).")  # [INFER]


_LINES = {"financialtransaction/BankEntries": ("financialtransaction/BankEntryLines", "BankEntryLines", 12),
          "financialtransaction/CashEntries": ("financialtransaction/CashEntryLines", "CashEntryLines", 10)}


def reverse_financial_entry(ctx: Ctx, path: str, entry_id: str) -> dict[str, Any]:
    """Take a bank or cash entry back (tests and demos): a new entry in its journal with every
    line the other way, the same account and ``OurRef`` — the receivable it settled opens again."""
    line_path, nav, journal_type = _LINES[path]
    entry = ctx.table(path)[entry_id]
    lines = [line for line in ctx.table(line_path).values() if line["EntryID"] == entry_id]
    body = {"Journal": entry["Journal"], nav: [
        {"Account": line.get("Account"), "GLAccount": line.get("GLAccount"), "AmountFC": -line["AmountFC"],
         "OurRef": line.get("OurRef"), "Description": f"Terugboeking {entry['EntryNumber']}"}
        for line in sorted(lines, key=lambda x: x.get("LineNumber") or 0)]}
    body[nav] = [{k: v for k, v in line.items() if v is not None} for line in body[nav]]
    return FinancialEntryRules(line_path, journal_type).create(ctx, ctx.spec(path), body)
