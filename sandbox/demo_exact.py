"""The demo's Exact Online act: authorize once, the import, the export back, two invoices with
their PDFs, and a payment each way.

1. The app is authorized once, as a person would with ``oauth authorize`` (the simulator's test
   mode consents at once): the first refresh token goes encrypted into the link database;
2. ``exact_to_tribe`` imports the division's accounts (customers and suppliers: one organisation
   for both roles; matched by the debtor number, or by name + postcode + house number; blocked
   ones skipped), their contacts and its items (an ended item Inactive in Tribe);
3. ``tribe_to_exact`` exports what Tribe holds that Exact does not: a Tribe-born customer becomes
   an account, and Exact's number is written back over Tribe's;
4. acting as a Tribe user (once): two invoices marked Sent, to the customer matched by its debtor
   number and to the Tribe-born one, the second with a credit line (a negative line);
   ``tribe_invoices_to_exact`` books each as a sales entry in the sales journal with Tribe's PDF
   as a sales-invoice document and its attachment;
5. the first is paid in full in Exact (a payment on its receivable in the simulator); the
   second is marked Paid in Tribe; ``exact_payments_to_tribe`` — with the division's bank
   journal named in the settings (``payments.default``) — marks the first Paid in Tribe and books
   the second's payment in the bank journal.
A second demo run reuses the stored token chain, finds everything done and writes nothing.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

__all__ = ["PAYMENTS", "authorize_once", "exact_invoice_story", "exact_story", "invoice_outcomes"]

SUBJECT = "tribe-sync Exact demo invoice"
# The settings a person sets to have payments marked in Tribe first booked in Exact (the
# Variable tribe_sync_exact_settings; include/mappings/exact/settings.yaml explains the key).
PAYMENTS = {"payments": {"default": {"journal": "20", "type": "bank"}}}
SETTINGS_VARIABLE = "AIRFLOW_VAR_TRIBE_SYNC_EXACT_SETTINGS"


def authorize_once(engine: Any) -> bool:
    """Store the app's first token pair unless the chain has one; True when it was authorized now."""
    from tribe_operators.systems.exact.authorize import ExactAuthorization
    from tribe_operators.systems.exact.hook import ExactOnlineHook

    hook = ExactOnlineHook(link_engine=engine)
    if hook.token_store.read() is not None:
        return False
    flow = ExactAuthorization(hook)
    consent = requests.get(flow.url(), allow_redirects=False, timeout=10)  # the person's browser
    flow.complete(consent.headers["Location"])
    return True


def exact_story(bag: Any, engine: Any) -> list[tuple[str, Any]]:
    """Run the Exact relations DAGs; return the (label, dagrun) pairs."""
    authorize_once(engine)
    now = datetime.now(UTC)
    return [("import", bag.dags["exact_to_tribe"].test(logical_date=now)),
            ("export", bag.dags["tribe_to_exact"].test(logical_date=now + timedelta(minutes=5)))]


def _ensure_invoices(tribe: Any, links: Any) -> list[str]:
    """The demo's two Sent invoices (made once): to the customer matched by its debtor number and
    to the Tribe-born one (both linked to their Exact accounts by now); the second has a credit line."""
    from sandbox.exact_scenario import BY_DEBTOR_NUMBER, TRIBE_BORN

    existing = [r["ID"] for r in tribe.iter_records("Activity_Invoice", filter=f"Subject eq '{SUBJECT}'",
                                                    select=["ID"], orderby="Number")]
    if existing:
        return existing
    relationships = {(r.get("Organization") or {}).get("Name"): r["ID"] for r in tribe.iter_records(
        "Relationship_Organization_CommercialRelationship_Customer", select=["ID"],
        expand="Organization($select=Name)")}
    chosen = [relationships[name] for name in (BY_DEBTOR_NUMBER, TRIBE_BORN)]
    missing = [rel for rel in chosen if not links.to_external("customer_relationship", rel)]
    if missing:  # the relations sync did not link them: the invoices would only be held
        raise SystemExit(f"the Exact demo's customers are not linked to Exact accounts: {missing}")
    high, sent = tribe.codes("Datastore_VatGroup")["HIGH"], tribe.codes("Datastore_Phase_ActivityInvoice")["Sent"]
    lines = ([("Onderhoud installaties (kwartaal)", 4, 250.0)],
             [("Adviesuren", 10, 95.0), ("Creditering: te veel gefactureerd in oktober", 1, -190.0)])
    made = []
    for rel_id, invoice_lines in zip(chosen, lines, strict=True):
        invoice = tribe.create("Activity_Invoice", {
            "Subject": SUBJECT, "Relationship": {"ID": rel_id}, "PaymentTermInDays": 14,
            "ProductLines": [{"Description": text, "Quantity": quantity, "Price": price, "VatGroup": {"ID": high}}
                             for text, quantity, price in invoice_lines]})
        tribe.update("Activity_Invoice", invoice["ID"], {"Phase": {"ID": sent}})  # Tribe makes its PDF
        made.append(invoice["ID"])
    return made


@contextmanager
def _payments_setting() -> Iterator[None]:
    os.environ[SETTINGS_VARIABLE] = json.dumps(PAYMENTS)
    try:
        yield
    finally:
        del os.environ[SETTINGS_VARIABLE]


def _payments(engine: Any) -> Any:
    from tribe_operators.mapping.settings import load_settings
    from tribe_operators.registry import get_system

    settings = load_settings("exact")
    scope = {**settings["scopes"]["default"], "name": "default"}
    return get_system("exact").adapter("payments", None, scope, settings)


def exact_invoice_story(bag: Any, engine: Any, exact_url: str) -> tuple[list[tuple[str, Any, float]], list[str]]:
    """The invoices and their payments around the user's actions; returns the (label, dagrun,
    seconds) of each run and the demo invoices' Tribe ids."""
    from sandbox.exact.seed import NL
    from tribe_operators.store.ledger import ExportLedger
    from tribe_operators.store.links import LinkStore
    from tribe_operators.systems.tribe.hook import TribeCrmHook

    tribe = TribeCrmHook()
    paid_in_exact, paid_in_tribe = invoices = _ensure_invoices(tribe, LinkStore(engine, "exact"))[:2]
    now = datetime.now(UTC)
    runs = [_timed("invoices → sales entries", lambda: bag.dags["tribe_invoices_to_exact"].test(
        logical_date=now + timedelta(minutes=10), run_conf={"invoice_ids": invoices}))]
    with _payments_setting():
        row = ExportLedger(engine, "exact").get(paid_in_exact)
        if row is not None and row.state == "sent":  # the customer pays it in full in Exact (once)
            open_ = _payments(engine).open_amount(row.external_id)
            if open_ is not None:
                requests.post(f"{exact_url}/_sandbox/payments", json={
                    "division": NL, "entry_id": row.external_id, "amount": float(open_[0])}, timeout=10).raise_for_status()
        paid = tribe.codes("Datastore_Phase_ActivityInvoice")["Paid"]
        if tribe.get("Activity_Invoice", paid_in_tribe, expand="Phase($select=Code)")["Phase"]["Code"] == "Sent":
            tribe.update("Activity_Invoice", paid_in_tribe, {"Phase": {"ID": paid}})  # the user marks it Paid
        runs.append(_timed("payments, both ways", lambda: bag.dags["exact_payments_to_tribe"].test(
            logical_date=now + timedelta(hours=1))))
    return runs, invoices


def _timed(label: str, run: Any) -> tuple[str, Any, float]:
    started = time.monotonic()
    dagrun = run()
    return label, dagrun, time.monotonic() - started


def invoice_outcomes(engine: Any, invoice_ids: list[str]) -> list[dict[str, Any]]:
    """What Tribe, the link database and Exact (read through its API: four reads) show for each
    demo invoice: its entry, its document and attachment, and how it was paid."""
    from tribe_operators.store.ledger import ExportLedger
    from tribe_operators.sync.documents import ATTACHMENT, DOCUMENT
    from tribe_operators.sync.payments import PAYMENT
    from tribe_operators.systems.tribe.hook import TribeCrmHook

    tribe, exact = TribeCrmHook(), _reader(engine)
    rows = []
    for tribe_id in invoice_ids:
        invoice = tribe.get("Activity_Invoice", tribe_id, expand="Phase($select=Code),ProductLines")
        kinds = {kind: ExportLedger(engine, "exact", "default", kind).get(tribe_id)
                 for kind in ("invoice", DOCUMENT, ATTACHMENT, PAYMENT)}
        rows.append({"tribe_id": tribe_id, "number": str(invoice.get("Number")), "tribe_phase": invoice["Phase"]["Code"],
                     "total": invoice.get("TotalIncludingVat"),
                     "credit_lines": sum(1 for line in invoice.get("ProductLines") or []
                                         if (line.get("TotalExcludingVat") or 0) < 0),
                     **{f"{kind}_ledger": None if row is None else {"state": row.state, "id": row.external_id,
                                                                      "number": row.external_number}
                        for kind, row in kinds.items()}})
    entries = [r["invoice_ledger"]["id"] for r in rows if r["invoice_ledger"] and r["invoice_ledger"]["id"]]
    receivables = {str(r["TransactionEntryID"]): r for r in _any_of(exact, "cashflow/Receivables", "TransactionEntryID",
                                                                     entries, "TransactionEntryID,IsFullyPaid,Journal")}
    documents = _any_of(exact, "documents/Documents", "FinancialTransactionEntryID", entries,
                        "ID,FinancialTransactionEntryID,Type")
    files = _any_of(exact, "documents/DocumentAttachments", "Document", [str(d["ID"]) for d in documents],
                    "ID,Document,FileName")
    bank_ids = [r["payment_ledger"]["id"] for r in rows if r["payment_ledger"] and r["payment_ledger"]["id"]]
    bank = {str(b["EntryID"]): b for b in _any_of(exact, "financialtransaction/BankEntries", "EntryID", bank_ids,
                                                 "EntryID,Journal")}
    for row in rows:
        entry = (row["invoice_ledger"] or {}).get("id")
        docs = [d for d in documents if str(d.get("FinancialTransactionEntryID")) == str(entry)] if entry else []
        row["exact"] = {
            "entry_paid": (receivables.get(str(entry)) or {}).get("IsFullyPaid"),
            "journal": str((receivables.get(str(entry)) or {}).get("Journal") or "").strip() or None,
            "documents": len(docs), "sales_invoice_documents": sum(1 for d in docs if d.get("Type") == 10),
            "attachments": [f.get("FileName") for d in docs for f in files if str(f["Document"]) == str(d["ID"])],
            "bank_journal": (bank.get(str((row["payment_ledger"] or {}).get("id"))) or {}).get("Journal")}
    return rows


def _reader(engine: Any) -> Any:
    from sandbox.exact.seed import NL
    from tribe_operators.systems.exact.hook import ExactOnlineHook

    return ExactOnlineHook(link_engine=engine).client_for(NL)


def _any_of(client: Any, entity_set: str, field: str, ids: list[str], select: str) -> list[dict[str, Any]]:
    """One filtered read of ``entity_set`` for the guids ``ids`` (none: no request)."""
    from tribe_operators.http.pagination import NextLinkPaginator

    if not ids:
        return []
    params = {"$filter": " or ".join(f"{field} eq guid'{i}'" for i in ids), "$select": select}
    return [row for page in client.pages(entity_set, NextLinkPaginator(), params) for row in page]


def describe(row: dict[str, Any]) -> str:
    """One line of the demo's report: what happened to a demo invoice, as the systems show it."""
    ledger, exact = row["invoice_ledger"] or {}, row["exact"]
    total = f"EUR {row['total']:,.2f}" if isinstance(row["total"], (int, float)) else "no total"
    what = f"Tribe invoice {row['number']} ({total}" + (
        f", {row['credit_lines']} credit line)" if row["credit_lines"] else ")")
    if ledger.get("state") != "sent":
        return f"{what}: NOT booked in Exact (ledger: {ledger.get('state') or 'nothing'})"
    files = exact["attachments"]
    pdf = (f"its PDF {files[0]!r} attached" if exact["sales_invoice_documents"] == 1 and len(files) == 1
           else f"{exact['documents']} document(s) with {len(files)} attachment(s)")
    paid = row["payment_ledger"]
    if paid and paid["state"] in ("sent", "created") and exact["bank_journal"]:
        how = f"marked Paid in Tribe → payment booked in Exact bank journal {exact['bank_journal'].strip()}"
    elif row["tribe_phase"] == "Paid" and exact["entry_paid"]:
        how = "paid in Exact → Paid in Tribe"
    else:
        how = f"Tribe: {row['tribe_phase']}"
    settled = "settled in Exact" if exact["entry_paid"] else "open in Exact"
    return f"{what} → Exact sales entry {ledger.get('number')} in journal {exact['journal']}, {pdf}; {how} ({settled})"
