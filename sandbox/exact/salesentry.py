"""Sales invoices booked straight into the ledger: ``salesentry/SalesEntries`` (+ lines), and what
they leave behind: ``cashflow/Receivables`` and the open items of ``read/financial/ReceivablesList``.

POST needs ``Customer`` (account GUID), ``Journal`` as the journal's *code* (a GUID gives
"Ongeldige referentie: Journals", picqer#31) and ``SalesEntryLines`` (deep insert; each line a
``GLAccount`` and an ``AmountFC``). ``EntryNumber`` is writable and unique per journal per year
(ossobv README); the duplicate's wording is unknown [INFER]. A negative total is a credit note.

Reversals. ``Reversal`` is writable on the entry ("amounts are reversed") and a receivable says
``TransactionIsReversal`` (Exact's reference). An entry booked with ``Reversal`` and the
``InvoiceNumber`` of an earlier entry of the customer in the journal cancels it: its receivable is
a reversal and both open items are matched (``IsFullyPaid``, Status 50) [INFER: the matching, from
how Exact closes an invoice against its credit]. A payment that is taken back (a bank or cash line
the other way, ``bankentry.py``) lowers what was paid: a settled receivable opens again (Status 20,
back in ``ReceivablesList``) [INFER]. Either sends a ``FinancialTransactions`` webhook [INFER].
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sandbox.exact.entities import EntitySpec
from sandbox.exact.errors import INVALID_REFERENCE, ExactError
from sandbox.exact.rules import Ctx, Rules, by_code, mandatory, reference

__all__ = ["FINANCIAL_TRANSACTIONS", "LineRules", "ReceivablesListRules", "SalesEntryRules", "register_payment",
           "reverse_sales_entry"]

FINANCIAL_TRANSACTIONS = "FinancialTransactions"  # the webhook topic of entries that change a receivable
DUPLICATE_ENTRY = "Boekstuknummer {number} bestaat al in dagboek {journal} ({year})."  # [INFER]


def _journal(ctx: Ctx, code: Any) -> dict[str, Any]:
    journal = by_code(ctx, "financial/Journals", code)
    if journal is None or journal.get("Type") != 20:  # 20: the sales journal type
        raise ExactError(400, INVALID_REFERENCE.format(what="Journals"))
    return journal


def _day(value: Any) -> datetime:
    return datetime(value.year, value.month, value.day)


class SalesEntryRules(Rules):
    def _numbers(self, ctx: Ctx, values: dict[str, Any], journal: dict[str, Any], own: Any = None) -> None:
        year = values["ReportingYear"]
        taken = {e["EntryNumber"] for e in ctx.table("salesentry/SalesEntries").values()
                 if e["Journal"] == journal["Code"] and e["ReportingYear"] == year and e["EntryID"] != own}
        if values.get("EntryNumber") is None:
            series = f"entry:{journal['Code']}:{year}"
            ctx.state.store.bump_seq(ctx.division, series, max(taken, default=(year % 100) * 1_000_000))
            values["EntryNumber"] = ctx.state.store.next_seq(ctx.division, series)
        elif values["EntryNumber"] in taken:
            raise ExactError(400, DUPLICATE_ENTRY.format(number=values["EntryNumber"], journal=journal["Code"], year=year))
        values.setdefault("InvoiceNumber", values["EntryNumber"])

    def _lines(self, ctx: Ctx, raw: Any, rate: float) -> list[dict[str, Any]]:
        if not isinstance(raw, list) or not raw:
            raise ExactError(400, "Verplicht veld ontbreekt: SalesEntryLines")  # [INFER]
        spec = ctx.spec("salesentry/SalesEntryLines")
        lines = []
        for number, body in enumerate(raw, start=1):
            if not isinstance(body, dict):
                raise ExactError(400, "Error processing request stream. SalesEntryLines must hold objects.")
            line = self.writable(ctx, spec, body)
            mandatory(line, "GLAccount", "AmountFC")
            gl = reference(ctx, "financial/GLAccounts", line["GLAccount"], "GLAccounts")
            vat = None
            if line.get("VATCode") is not None:
                vat = by_code(ctx, "vat/VATCodes", line["VATCode"])
                if vat is None:
                    raise ExactError(400, INVALID_REFERENCE.format(what="VATCodes"))
            pct = line.get("VATPercentage", (vat or {}).get("Percentage") or 0.0)
            vat_fc = line.get("VATAmountFC")
            if vat_fc is None:
                vat_fc = round(line["AmountFC"] * pct / 100, 2)
            line.update(LineNumber=number, Type=20, VATPercentage=pct, VATAmountFC=vat_fc,
                        VATAmountDC=round(vat_fc * rate, 2), AmountDC=round(line["AmountFC"] * rate, 2),
                        VATBaseAmountFC=line.get("VATBaseAmountFC", line["AmountFC"]),
                        GLAccountCode=gl["Code"], GLAccountDescription=gl["Description"],
                        VATCodeDescription=(vat or {}).get("Description"))
            lines.append(line)
        return lines

    def create(self, ctx: Ctx, spec: EntitySpec, body: dict[str, Any]) -> dict[str, Any]:
        values = self.writable(ctx, spec, body)
        mandatory(values, "Customer", "Journal")
        customer = reference(ctx, "crm/Accounts", values["Customer"], "Accounts")
        journal = _journal(ctx, values["Journal"])
        rate = values.setdefault("Rate", 1.0) or 1.0
        lines = self._lines(ctx, values.pop("SalesEntryLines", None), rate)
        entry_date = _day(values.get("EntryDate") or ctx.state.wall_now())
        values.update(EntryDate=entry_date, Journal=journal["Code"], JournalDescription=journal["Description"],
                      CustomerName=customer["Name"], Currency=values.get("Currency") or "EUR")
        values.setdefault("ReportingYear", entry_date.year)
        values.setdefault("ReportingPeriod", entry_date.month)
        values["DueDate"] = values.get("DueDate") or entry_date + timedelta(days=30)  # [INFER] 30 days
        self._numbers(ctx, values, journal)
        if values.get("Document") is not None:
            document = reference(ctx, "documents/Documents", values["Document"], "Documents")
            values.update(DocumentNumber=document["HID"], DocumentSubject=document["Subject"])
        net = sum(line["AmountFC"] for line in lines)
        vat = sum(line["VATAmountFC"] for line in lines)
        credit = net + vat < 0
        values.update(AmountFC=round(net + vat, 2), VATAmountFC=round(vat, 2), AmountDC=round((net + vat) * rate, 2),
                      VATAmountDC=round(vat * rate, 2), Status=20, StatusDescription="Open", Type=21 if credit else 20,
                      TypeDescription="Verkoopcreditnota" if credit else "Verkoopfactuur",
                      Reversal=bool(values.get("Reversal")))
        reversed_ = _reversed_receivable(ctx, values, customer["ID"]) if values["Reversal"] else None
        store = ctx.state.store
        entry = store.insert(ctx.division, spec, values, ctx.user)
        line_spec = ctx.spec("salesentry/SalesEntryLines")
        rows = [store.insert(ctx.division, line_spec, dict(line, EntryID=entry["EntryID"]), ctx.user) for line in lines]
        own = self._receivable(ctx, entry, customer, journal, rows[0]["ID"])
        if reversed_ is not None:  # the two open items cancel each other out
            register_payment(ctx, reversed_["TransactionEntryID"], -entry["AmountFC"])
            store.update(ctx.division, ctx.spec("cashflow/Receivables"), own, {
                "_paid": entry["AmountFC"], "IsFullyPaid": True, "Status": 50, "EndDate": _day(ctx.state.wall_now())})
            ctx.state.webhooks.notify(ctx.division, FINANCIAL_TRANSACTIONS, "Create", entry["EntryID"], spec.path)
        return entry

    def _receivable(self, ctx: Ctx, entry: dict[str, Any], customer: dict[str, Any], journal: dict[str, Any],
                    first_line: str) -> dict[str, Any]:
        store = ctx.state.store
        amount = entry["AmountFC"]
        return store.insert(ctx.division, ctx.spec("cashflow/Receivables"), {
            "Account": customer["ID"], "AccountCode": customer["Code"], "AccountName": customer["Name"],
            "AmountFC": amount, "AmountDC": entry["AmountDC"], "TransactionAmountFC": amount,
            "TransactionAmountDC": entry["AmountDC"], "Currency": entry["Currency"],
            "Description": entry.get("Description"), "DueDate": entry["DueDate"], "EntryDate": entry["EntryDate"],
            "EntryID": entry["EntryID"], "EntryNumber": entry["EntryNumber"], "InvoiceDate": entry["EntryDate"],
            "InvoiceNumber": entry["InvoiceNumber"], "IsFullyPaid": False, "Journal": journal["Code"],
            "JournalDescription": journal["Description"], "Status": 20, "TransactionEntryID": entry["EntryID"],
            "TransactionIsReversal": bool(entry.get("Reversal")),
            "TransactionID": first_line, "YourRef": entry.get("YourRef"), "PaymentReference": entry.get("PaymentReference"),
            "_hid": store.next_seq(ctx.division, "receivable-hid", 5_000_001), "_paid": 0.0}, ctx.user)

    def update(self, ctx: Ctx, spec: EntitySpec, row: dict[str, Any], body: dict[str, Any]) -> None:
        values = self.writable(ctx, spec, body)
        values.pop("EntryID", None)
        if "SalesEntryLines" in values:
            raise ExactError(400, "SalesEntryLines cannot be changed with PUT on SalesEntries.")  # [INFER]
        if values.get("Customer") is not None:
            values["CustomerName"] = reference(ctx, "crm/Accounts", values["Customer"], "Accounts")["Name"]
        journal = _journal(ctx, values.get("Journal", row["Journal"]))
        values["Journal"] = journal["Code"]
        if "EntryNumber" in values:
            self._numbers(ctx, dict(values, ReportingYear=row["ReportingYear"]), journal, own=row["EntryID"])
        ctx.state.store.update(ctx.division, spec, row, values, ctx.user)

    def delete(self, ctx: Ctx, spec: EntitySpec, row: dict[str, Any]) -> None:
        store = ctx.state.store
        for path, field in (("salesentry/SalesEntryLines", "EntryID"), ("cashflow/Receivables", "TransactionEntryID")):
            for child in [r for r in ctx.table(path).values() if r[field] == row["EntryID"]]:
                store.delete(ctx.division, ctx.spec(path), child["ID"], ctx.user)
        super().delete(ctx, spec, row)


class LineRules(Rules):
    def create(self, ctx: Ctx, spec: EntitySpec, body: dict[str, Any]) -> dict[str, Any]:
        raise ExactError(400, "Add lines with the sales entry (deep insert).")  # [INFER]


class ReceivablesListRules(Rules):
    """Open items only, derived from the receivables (so it is never out of step)."""

    def rows(self, ctx: Ctx, spec: EntitySpec) -> list[dict[str, Any]]:
        out = []
        for r in ctx.table("cashflow/Receivables").values():
            if r["IsFullyPaid"]:
                continue
            out.append({"HID": r["_hid"], "AccountCode": r["AccountCode"], "AccountId": r["Account"],
                        "AccountName": r["AccountName"], "Amount": round(r["AmountFC"] - r["_paid"], 2),
                        "AmountInTransit": 0.0, "CurrencyCode": r["Currency"], "Description": r["Description"],
                        "DueDate": r["DueDate"], "EntryNumber": r["EntryNumber"], "InvoiceDate": r["InvoiceDate"],
                        "InvoiceNumber": r["InvoiceNumber"], "JournalCode": r["Journal"],
                        "JournalDescription": r["JournalDescription"], "YourRef": r["YourRef"]})
        return out


def _reversed_receivable(ctx: Ctx, values: dict[str, Any], account: str) -> dict[str, Any]:
    """The receivable a reversal entry cancels: the customer's, in the journal, by invoice number."""
    found = next((r for r in ctx.table("cashflow/Receivables").values()
                  if r["InvoiceNumber"] == values.get("InvoiceNumber") and r["Account"] == account
                  and r["Journal"] == values["Journal"] and not r.get("TransactionIsReversal")), None)
    if found is None:
        raise ExactError(400, f"Factuurnummer {values.get('InvoiceNumber')} niet gevonden.")  # [INFER] wording
    return found


def register_payment(ctx: Ctx, entry_id: str, amount: float) -> dict[str, Any]:
    """Book a customer payment against a sales entry's receivable (tests and demos); a negative
    amount takes a payment back, and a settled receivable opens again."""
    receivable = next((r for r in ctx.table("cashflow/Receivables").values() if r["TransactionEntryID"] == entry_id),
                      None)
    if receivable is None:
        raise KeyError(entry_id)
    paid, total = round(receivable["_paid"] + amount, 2), receivable["AmountFC"]
    changes: dict[str, Any] = {"_paid": paid, "LastPaymentDate": _day(ctx.state.wall_now())}
    if paid >= total if total >= 0 else paid <= total:  # a credit note's is paid out: both negative
        changes.update(IsFullyPaid=True, Status=50, EndDate=changes["LastPaymentDate"])
    elif receivable["IsFullyPaid"]:
        changes.update(IsFullyPaid=False, Status=20, EndDate=None)
    ctx.state.store.update(ctx.division, ctx.spec("cashflow/Receivables"), receivable, changes, ctx.user)
    return receivable


def reverse_sales_entry(ctx: Ctx, entry_id: str) -> dict[str, Any]:
    """Reverse an entry as an accountant does in Exact (tests and demos): a new entry in the same
    journal with ``Reversal``, the same invoice number and every amount the other way."""
    entry = ctx.table("salesentry/SalesEntries")[entry_id]
    lines = [line for line in ctx.table("salesentry/SalesEntryLines").values() if line["EntryID"] == entry_id]
    body = {"Customer": entry["Customer"], "Journal": entry["Journal"], "InvoiceNumber": entry["InvoiceNumber"],
            "Reversal": True, "YourRef": entry.get("YourRef"), "Description": f"Terugboeking {entry['EntryNumber']}",
            "SalesEntryLines": [{"GLAccount": line["GLAccount"], "AmountFC": -line["AmountFC"],
                                 "VATCode": line.get("VATCode"), "VATAmountFC": -line["VATAmountFC"]}
                                for line in sorted(lines, key=lambda x: x["LineNumber"])]}
    return SalesEntryRules().create(ctx, ctx.spec("salesentry/SalesEntries"), body)
