"""``exact_payments_to_tribe`` end to end (dag.test(), the Tribe and Exact simulators, real
Postgres): a receivable fully paid in Exact → the Tribe invoice Paid in the next payments run, a
partial payment recorded (not Paid); an invoice marked Paid in Tribe first → its payment booked
once in the division's bank journal with the ``payments`` setting (a rerun books nothing, nor
does a lost answer at the POST book twice), and reported as a difference without it. Reversed in
Exact — a payment taken back, or the entry itself reversed — is reported (``reversed``, a
difference in the note) and Tribe is left as it is: never Paid for a cancelled invoice, never
moved back from Paid, and a payment taken back is not booked again from Tribe."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from sandbox.exact.bankentry import FinancialEntryRules, reverse_financial_entry
from sandbox.exact.salesentry import register_payment, reverse_sales_entry
from sandbox.exact.seed import NL, _ctx
from tests.fixtures.chaos import no_retry_wait
from tests.fixtures.records import invoice_phase, payment_counts, ref, sent_invoice
from tests.integration.conftest import dag_named
from tests.integration.test_exact_invoices import FAST, customer, entries, line
from tribe_operators.reports.summary import note_text, read_report
from tribe_operators.store.schema import export_ledger

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
UNPACED = pytest.mark.parametrize("world", [FAST], indirect=True, ids=["unpaced"])
SETTINGS = "AIRFLOW_VAR_TRIBE_SYNC_EXACT_SETTINGS"
BANK = "financialtransaction/BankEntries"


@pytest.fixture(scope="module")
def dags(airflow_db: Any) -> tuple[Any, Any]:
    return (no_retry_wait(dag_named("tribe_invoices_to_exact")), no_retry_wait(dag_named("exact_payments_to_tribe")))


@pytest.fixture
def unpaced(world: Any) -> Any:
    from tribe_operators.http.pacing import forget_shared_limiters

    world[1].state.options.update({"minutely_limit": FAST["calls_per_minute"]})
    forget_shared_limiters()
    return world


def booked(tribe: Any, exact: Any, link_db: Any, dags: Any, count: int) -> list[tuple[dict, dict]]:
    """``count`` Sent invoices booked in Exact as sales entries: (invoice, entry) each."""
    rel, _ = customer(tribe, exact, link_db, "Betaal Klant BV")
    invoices = [sent_invoice(tribe, rel, [line(tribe, f"Advies {i}", 1 + i, 100.0)]) for i in range(count)]
    assert str(dags[0].test(logical_date=datetime.now(UTC)).state).endswith("success")
    return [(invoice, entries(exact, invoice["ID"])[0]) for invoice in invoices]


def pay_in_exact(exact: Any, entry: dict[str, Any], amount: float) -> None:
    with exact.state.lock:
        register_payment(_ctx(exact.state, NL), entry["EntryID"], amount)


def pay_by_bank(exact: Any, entry: dict[str, Any]) -> dict[str, Any]:
    """The customer's payment as the accountant books it in Exact: a bank entry in journal 20
    whose line names the invoice number (``OurRef``), for the whole amount."""
    with exact.state.lock:
        ctx = _ctx(exact.state, NL)
        return FinancialEntryRules("financialtransaction/BankEntryLines", 12).create(ctx, ctx.spec(BANK), {
            "Journal": "20", "BankEntryLines": [{"Account": entry["Customer"], "OurRef": entry["InvoiceNumber"],
                                                 "AmountFC": -entry["AmountFC"]}]})


def ledger_row(link_db: Any, tribe_id: str) -> Any:
    with link_db.connect() as conn:
        return conn.execute(sa.select(export_ledger).where(
            export_ledger.c.integration == "exact", export_ledger.c.document_type == "invoice",
            export_ledger.c.tribe_id == tribe_id)).one()


def receivable(exact: Any, entry: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in exact.state.store.table(NL, "cashflow/Receivables").values()
                if r["TransactionEntryID"] == entry["EntryID"])


def bank_entries(exact: Any) -> list[dict[str, Any]]:
    return list(exact.state.store.table(NL, BANK).values())


def run(dags: Any, days: int) -> Any:
    return dags[1].test(logical_date=datetime.now(UTC) + timedelta(days=days))


@UNPACED
def test_paid_in_exact_is_paid_in_tribe_and_a_partial_payment_is_recorded(dags, unpaced, link_db):
    tribe, exact = unpaced
    (full, full_entry), (half, half_entry) = booked(tribe, exact, link_db, dags, 2)
    pay_in_exact(exact, full_entry, full_entry["AmountFC"])
    pay_in_exact(exact, half_entry, 100.0)
    dagrun = run(dags, 1)
    assert str(dagrun.state).endswith("success")
    assert invoice_phase(tribe, full["ID"]) == "Paid"
    assert invoice_phase(tribe, half["ID"]) == "Sent"  # partial: recorded, not Paid
    counts = payment_counts(link_db, dagrun.run_id)["default"]
    assert (counts["paid"], counts["partial"], counts["booked"], counts["differences"]) == (1, 1, 0, 0), counts
    with link_db.connect() as conn:
        balance = conn.execute(sa.select(export_ledger.c.balance).where(
            export_ledger.c.integration == "exact", export_ledger.c.document_type == "invoice",
            export_ledger.c.tribe_id == half["ID"])).scalar_one()
    assert str(balance) == f"{half_entry['AmountFC'] - 100.0:.2f}"  # from Exact's open items, in Decimal
    assert bank_entries(exact) == []  # paid in Exact: nothing to book back


@UNPACED
def test_paid_in_tribe_is_reported_without_the_setting_and_booked_once_with_it(dags, unpaced, link_db,
                                                                               monkeypatch):
    tribe, exact = unpaced
    [(invoice, entry)] = booked(tribe, exact, link_db, dags, 1)
    tribe.update("Activity_Invoice", invoice["ID"], {"Phase": {"ID": ref(tribe, "Datastore_Phase_ActivityInvoice",
                                                                         "Paid")}})
    # No journal named for payments: reported as a difference, nothing booked.
    dagrun = run(dags, 1)
    assert str(dagrun.state).endswith("success")
    counts = payment_counts(link_db, dagrun.run_id)["default"]
    assert (counts["differences"], counts["booked"]) == (1, 0), counts
    assert bank_entries(exact) == [] and not receivable(exact, entry)["IsFullyPaid"]

    # With the bank journal set, every answer to the POST lost: the entry lands, the attempt
    # fails, and the task's retry finds the booking by our reference instead of booking again.
    monkeypatch.setenv(SETTINGS, json.dumps({"payments": {"default": {"journal": "20"}}}))
    exact.state.faults.update({"paths": [BANK], "lost_response": 1.0, "seed": 20261207})
    dagrun = run(dags, 2)
    assert sum(exact.state.faults.injected.values()) >= 1, exact.state.faults.injected
    exact.state.faults.clear()
    assert str(dagrun.state).endswith("success")
    counts = payment_counts(link_db, dagrun.run_id)["default"]
    assert (counts["booked"], counts["differences"]) == (1, 0), counts
    [bank] = bank_entries(exact)
    assert bank["Journal"] == "20"
    assert receivable(exact, entry)["IsFullyPaid"]  # matched to the open item by the invoice number
    # A rerun books nothing.
    dagrun = run(dags, 3)
    assert str(dagrun.state).endswith("success")
    assert payment_counts(link_db, dagrun.run_id)["default"]["booked"] == 0
    assert len(bank_entries(exact)) == 1 and invoice_phase(tribe, invoice["ID"]) == "Paid"


@UNPACED
def test_a_payment_taken_back_in_exact_is_reported_and_tribe_stays_paid(dags, unpaced, link_db, monkeypatch):
    tribe, exact = unpaced
    [(invoice, entry)] = booked(tribe, exact, link_db, dags, 1)
    # The bank journal is named: a reversed payment must still not be booked again from Tribe.
    monkeypatch.setenv(SETTINGS, json.dumps({"payments": {"default": {"journal": "20"}}}))
    # Paid two days ago, read by that day's run (Exact's clock turned back and forth: the token
    # issued now stays valid, so no renewal is asked for too early).
    exact.state.advance(-2 * 86400)
    payment = pay_by_bank(exact, entry)
    assert str(run(dags, -1).state).endswith("success")
    assert invoice_phase(tribe, invoice["ID"]) == "Paid"
    exact.state.advance(2 * 86400)

    with exact.state.lock:  # today the accountant takes the payment back: the receivable opens again
        reverse_financial_entry(_ctx(exact.state, NL), BANK, payment["EntryID"])
    assert not receivable(exact, entry)["IsFullyPaid"]
    dagrun = run(dags, 1)
    assert str(dagrun.state).endswith("success")
    counts = payment_counts(link_db, dagrun.run_id)["default"]
    assert (counts["reversed"], counts["differences"], counts["paid"], counts["unpaid"], counts["booked"]) == (
        1, 1, 0, 0, 0), counts
    assert invoice_phase(tribe, invoice["ID"]) == "Paid"  # the spec says nothing of reversals: left as it is
    note = note_text(read_report(link_db, dagrun.run_id))
    assert note is not None and note.startswith("⚠") and "1 differences" in note, note
    row = ledger_row(link_db, invoice["ID"])
    assert str(row.balance) == f"{entry['AmountFC']:.2f}" and row.paid_at is not None  # open again, as Exact says
    assert len(bank_entries(exact)) == 2  # the payment and its reversal; nothing booked by us


@UNPACED
def test_an_entry_reversed_in_exact_is_reported_and_never_taken_for_paid(dags, unpaced, link_db):
    tribe, exact = unpaced
    [(invoice, entry)] = booked(tribe, exact, link_db, dags, 1)
    with exact.state.lock:  # reversed in Exact: its open item is matched by the reversal's
        reverse_sales_entry(_ctx(exact.state, NL), entry["EntryID"])
    assert receivable(exact, entry)["IsFullyPaid"]
    dagrun = run(dags, 1)
    assert str(dagrun.state).endswith("success")
    counts = payment_counts(link_db, dagrun.run_id)["default"]
    assert (counts["reversed"], counts["differences"], counts["paid"]) == (1, 1, 0), counts
    assert invoice_phase(tribe, invoice["ID"]) == "Sent"
    row = ledger_row(link_db, invoice["ID"])
    assert row.paid_at is None and str(row.balance) == f"{entry['AmountFC']:.2f}"  # cancelled is not paid
