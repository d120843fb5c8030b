"""``tribe_invoices_to_exact`` run by run (dag.test(), the Tribe and Exact simulators, real
Postgres; the simulator counts every request):

* **one invoice again, by its number** (issue 27, item 5): a quarantined invoice, fixed, is
  exported by a run with ``invoice_numbers`` = its number — only it (not another Sent invoice
  waiting for the next poll), once; the same run again posts nothing;
* **the lookups once per run**: the journal, VAT codes and GL accounts are read by the run's
  first invoice task and shared with the others through the link database (``sync/lookups.py``),
  not read again by each invoice's task.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.fixtures.records import sent_invoice
from tests.integration.test_exact_invoices import (  # noqa: F401 - fixtures
    ENTRIES,
    FAST,
    SETTINGS,
    customer,
    entries,
    entry_requests,
    invoice_dag,
    line,
    unpaced,
)
from tribe_operators.store.ledger import ExportLedger
from tribe_operators.store.quarantine import Quarantine

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
UNPACED = pytest.mark.parametrize("world", [FAST], indirect=True, ids=["unpaced"])
LOOKUPS = ("financial/journals", "vat/vatcodes", "financial/glaccounts")
# A poll's conf, said out loud: dag.test(run_conf=…) leaves the conf in the DAG's params for the
# next dag.test() of the same DAG object (the by-number test's invoice_numbers would narrow it).
POLL = {"invoice_numbers": [], "invoice_ids": []}


def requests_to(exact: Any, *paths: str) -> dict[str, int]:
    """Requests the Exact simulator answered, per ``METHOD endpoint``, for endpoints ending in ``paths``."""
    return {k: n for k, n in exact.state.counters()["requests"].items()
            if any(k.lower().endswith(p) for p in paths)}


def posts(exact: Any) -> dict[str, int]:
    return {k: n for k, n in exact.state.counters()["requests"].items() if k.startswith("POST ")}


@UNPACED
def test_a_fixed_invoice_is_exported_alone_by_its_number_once(invoice_dag, unpaced, link_db, monkeypatch):  # noqa: F811
    tribe, exact = unpaced
    rel, _ = customer(tribe, exact, link_db, "Opnieuw Klant BV")
    good = sent_invoice(tribe, rel, [line(tribe, "Advies", 1, 100.0)])
    bad = sent_invoice(tribe, rel, [line(tribe, "Rådgivning", 2, 150.0, "NO25")])  # no Exact VAT code for NO25
    first = invoice_dag.test(logical_date=datetime.now(UTC))
    assert not str(first.state).endswith("success")
    assert len(entries(exact, good["ID"])) == 1 and entries(exact, bad["ID"]) == []
    [held] = Quarantine(link_db, "exact").open("invoices")
    assert (held["record_id"], held["field"]) == (bad["ID"], "ProductLines[1].VatGroup.Code")

    # Fixed in the settings; meanwhile another invoice is marked Sent (the next poll's, not this run's).
    monkeypatch.setenv(SETTINGS, json.dumps({"invoices": {"default": {"vat_codes": {"NO25": "1"},
                                                                      "gl_accounts": {"NO25": "8000"}}}}))
    waiting = sent_invoice(tribe, rel, [line(tribe, "Later", 1, 75.0)])
    exact.state.reset_counters()
    retry = invoice_dag.test(logical_date=datetime.now(UTC) + timedelta(minutes=1),
                             run_conf={"invoice_numbers": [bad["Number"]]})
    assert str(retry.state).endswith("success"), retry.state
    [entry] = entries(exact, bad["ID"])
    assert entry["EntryNumber"] == bad["Number"]
    assert posts(exact).get(f"POST {ENTRIES}") == 1, posts(exact)  # that invoice, once
    assert entries(exact, waiting["ID"]) == [] and len(entries(exact, good["ID"])) == 1  # only it
    assert ExportLedger(link_db, "exact").get(bad["ID"]).state == "sent"
    assert ExportLedger(link_db, "exact").get(waiting["ID"]) is None
    assert Quarantine(link_db, "exact").open("invoices") == []

    # The same run again: it is booked already, nothing is posted (nor its document again).
    exact.state.reset_counters()
    again = invoice_dag.test(logical_date=datetime.now(UTC) + timedelta(minutes=2),
                             run_conf={"invoice_numbers": [bad["Number"]]})
    assert str(again.state).endswith("success")
    assert posts(exact) == {} and entry_requests(exact) == {}
    assert len(entries(exact, bad["ID"])) == 1 and entries(exact, waiting["ID"]) == []


@UNPACED
def test_the_lookups_are_read_once_per_run_not_once_per_invoice(invoice_dag, unpaced, link_db):  # noqa: F811
    tribe, exact = unpaced
    rel, _ = customer(tribe, exact, link_db, "Veel Facturen BV")
    invoices = [sent_invoice(tribe, rel, [line(tribe, f"Regel {i}", 1, 100.0),
                                          line(tribe, "Korting", 1, -10.0, "LOW")]) for i in range(4)]
    exact.state.reset_counters()
    dagrun = invoice_dag.test(logical_date=datetime.now(UTC), run_conf=POLL)
    assert str(dagrun.state).endswith("success")
    assert all(len(entries(exact, inv["ID"])) == 1 for inv in invoices)
    assert posts(exact).get(f"POST {ENTRIES}") == len(invoices)
    read = requests_to(exact, *LOOKUPS)
    assert sorted(k.lower() for k in read) == sorted(f"get {p}" for p in LOOKUPS), read
    assert set(read.values()) == {1}, read  # once each for the run's 4 invoice tasks, not 4 times

    # The next run reads them again (a code made in Exact meanwhile counts), once again.
    more = [sent_invoice(tribe, rel, [line(tribe, f"Nog {i}", 1, 50.0)]) for i in range(2)]
    exact.state.reset_counters()
    assert str(invoice_dag.test(logical_date=datetime.now(UTC) + timedelta(minutes=5),
                                                   run_conf=POLL).state).endswith("success")
    assert all(len(entries(exact, inv["ID"])) == 1 for inv in more)
    assert set(requests_to(exact, *LOOKUPS).values()) == {1}
