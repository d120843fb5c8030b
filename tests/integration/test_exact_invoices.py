"""``tribe_invoices_to_exact`` end to end (dag.test(), the Tribe and Exact simulators, real Postgres):
a Sent invoice is one sales entry in the division's sales journal — Tribe's number as entry
number and YourRef, our reference as ExternalLinkReference, per line the GL account and VAT code
through the division's maps, amounts with their sign — booked once: a second run sends nothing,
and lost answers, 5xx and resets at the entry POST (with the token renewed, grace and strict)
leave no duplicate. What the settings or the division lack holds the invoice naming the field
before any request reaches SalesEntries (every refusal counts toward Exact's block)."""
from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from sandbox.exact.seed import NL
from tests.fixtures.chaos import no_retry_wait, record_faults
from tests.fixtures.records import ref, sent_invoice
from tests.integration.conftest import dag_named
from tests.integration.test_invoice_documents import _assert_exactly_once as assert_exactly_once
from tribe_operators.protocols import Exported
from tribe_operators.sync.documents import ATTACHMENT, DOCUMENT, unfinished_documents
from tribe_operators.systems.exact.hook import ExactOnlineHook
from tribe_operators.store.ledger import ExportLedger
from tribe_operators.store.links import Link, LinkStore
from tribe_operators.store.quarantine import Quarantine

# Exact's 60 calls a minute are paced (about one a second): pacing is not under test here. A
# dropped answer may leave the socket open: the client's timeout ends the wait (2 s, not 30).
FAST = {"calls_per_minute": 100_000, "timeout": 2}
pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
UNPACED = pytest.mark.parametrize("world", [FAST], indirect=True, ids=["unpaced"])
SETTINGS = "AIRFLOW_VAR_TRIBE_SYNC_EXACT_SETTINGS"
ENTRIES = "salesentry/salesentries"


@pytest.fixture
def unpaced(world: Any) -> Any:
    """Exact's minute budget as large as ours, and our limiter started afresh: the client trusts
    what Exact says is left, and the sign-in's call was counted against Exact's 60."""
    from tribe_operators.http.pacing import forget_shared_limiters

    world[1].state.options.update({"minutely_limit": FAST["calls_per_minute"]})
    forget_shared_limiters()
    return world


@pytest.fixture(scope="module")
def invoice_dag(airflow_db: Any) -> Any:
    return no_retry_wait(dag_named("tribe_invoices_to_exact"))


def customer(tribe: Any, exact: Any, link_db: Any, name: str) -> tuple[str, str]:
    """A customer as the relations sync leaves it: an Exact account, a Tribe organisation with its
    Customer relationship, linked. Returns (the relationship's id, the account's id)."""
    account = exact.state.insert(NL, "crm/Accounts", {"Name": name, "Status": "C"})
    org = tribe.insert("Relation_Organization", {"Name": name})
    rel = tribe.insert("Relationship_Organization_CommercialRelationship_Customer", {"Organization": {"ID": org["ID"]}})
    LinkStore(link_db, "exact").bulk_bind([Link("customer", org["ID"], account["ID"]),
                                           Link("customer_relationship", rel["ID"], account["ID"])])
    return rel["ID"], account["ID"]


def line(tribe: Any, description: str, quantity: float, price: float, vat: str = "HIGH") -> dict[str, Any]:
    return {"Description": description, "Quantity": quantity, "Price": price,
            "VatGroup": {"ID": ref(tribe, "Datastore_VatGroup", vat)}}


def entries(exact: Any, tribe_id: str) -> list[dict[str, Any]]:
    return [e for e in exact.state.store.table(NL, "salesentry/SalesEntries").values()
            if e.get("ExternalLinkReference") == f"tribe:{tribe_id}"]


def lines_of(exact: Any, entry: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [r for r in exact.state.store.table(NL, "salesentry/SalesEntryLines").values()
            if r["EntryID"] == entry["EntryID"]]
    return sorted(rows, key=lambda r: r["LineNumber"])


def entry_requests(exact: Any) -> dict[str, int]:
    return {k: n for k, n in exact.state.counters()["requests"].items() if ENTRIES in k.lower()}


@UNPACED
def test_a_sent_invoice_is_one_entry_in_the_journal_and_a_second_run_books_nothing(invoice_dag, unpaced, link_db):
    tribe, exact = unpaced
    rel, account = customer(tribe, exact, link_db, "Factuur Klant BV")
    invoice = sent_invoice(tribe, rel, [line(tribe, "Advies", 2, 100.0), line(tribe, "Korting", 1, -50.0, "LOW")],
                           Subject="Advies maart")
    credit = sent_invoice(tribe, rel, [line(tribe, "Creditering", 1, -80.0)], Subject="Creditnota")
    dagrun = invoice_dag.test(logical_date=datetime.now(UTC))
    assert str(dagrun.state).endswith("success"), dagrun.state

    [entry] = entries(exact, invoice["ID"])
    number = invoice["Number"]
    assert (entry["Journal"], entry["Customer"], entry["EntryNumber"], entry["YourRef"]) == (
        "70", account, number, str(number))
    assert entry["Description"] == "Advies maart" and entry["Type"] == 20  # a sales invoice
    assert (entry["AmountFC"], entry["VATAmountFC"]) == (200.0 + 42.0 - 50.0 - 4.5, 42.0 - 4.5)
    first, second = lines_of(exact, entry)
    assert (first["GLAccountCode"], first["VATCode"].strip(), first["AmountFC"], first["VATAmountFC"],
            first["Description"]) == ("8000", "1", 200.0, 42.0, "Advies")
    assert (second["GLAccountCode"], second["VATCode"].strip(), second["AmountFC"], second["VATAmountFC"]) == (
        "8010", "2", -50.0, -4.5)  # the credit line keeps its sign, at the low rate
    [note] = entries(exact, credit["ID"])
    assert (note["AmountFC"], note["Type"], note["EntryNumber"]) == (-96.8, 21, credit["Number"])  # a credit note
    # The open item Exact keeps for the payment, under our customer and number.
    [item] = [r for r in exact.state.store.table(NL, "cashflow/Receivables").values()
              if r["EntryID"] == entry["EntryID"]]
    assert (item["Account"], item["AmountFC"], item["YourRef"]) == (account, 187.5, str(number))
    ledger = ExportLedger(link_db, "exact").get(invoice["ID"])
    assert (ledger.state, ledger.external_id, ledger.external_number) == ("sent", entry["EntryID"], str(number))

    exact.state.reset_counters()
    assert str(invoice_dag.test(logical_date=datetime.now(UTC) + timedelta(minutes=5)).state).endswith("success")
    assert entry_requests(exact) == {}  # the ledger knows both: nothing asked, nothing sent
    assert len(entries(exact, invoice["ID"])) == len(entries(exact, credit["ID"])) == 1


@UNPACED
def test_what_the_settings_or_the_division_lack_is_held_naming_the_field_before_any_request(
        invoice_dag, unpaced, link_db, monkeypatch):
    tribe, exact = unpaced
    rel, _ = customer(tribe, exact, link_db, "Noorse Klant AS")
    unmapped = sent_invoice(tribe, rel, [line(tribe, "Rådgivning", 1, 100.0, "NO25")])  # no Exact VAT code mapped
    exact.state.reset_counters()
    assert not str(invoice_dag.test(logical_date=datetime.now(UTC)).state).endswith("success")
    held = {q["record_id"]: q for q in Quarantine(link_db, "exact").open("invoices")}
    assert held[unmapped["ID"]]["field"] == "ProductLines[1].VatGroup.Code", held
    assert "'NO25'" in held[unmapped["ID"]]["reason"] and "invoices.default.vat_codes" in held[unmapped["ID"]]["reason"]
    assert entry_requests(exact) == {} and not entries(exact, unmapped["ID"])
    assert exact.state.counters()["statuses"].get("400", 0) == 0

    # A journal the division has, but not a sales journal (60: purchases), and a GL account it lacks.
    monkeypatch.setenv(SETTINGS, json.dumps({"invoices": {"default": {"journal": "60", "gl_accounts": {"HIGH": "8999"}}}}))
    fine = sent_invoice(tribe, rel, [line(tribe, "Advies", 1, 100.0)])
    exact.state.reset_counters()
    # (A poll leaves the invoice held above to a retry of its own: only this one is tried.)
    assert not str(invoice_dag.test(logical_date=datetime.now(UTC) + timedelta(minutes=5)).state).endswith("success")
    held = {q["record_id"]: q for q in Quarantine(link_db, "exact").open("invoices")}
    assert held[fine["ID"]]["field"] == "Journal" and "not a sales journal" in held[fine["ID"]]["reason"], held
    assert "ProductLines[1].VatGroup.Code: Exact GL account '8999'" in held[fine["ID"]]["reason"], held
    assert entry_requests(exact) == {} and exact.state.counters()["statuses"].get("400", 0) == 0

    # An entry number another entry holds in the journal this year: held, not refused by Exact.
    monkeypatch.delenv(SETTINGS)
    other_rel, other_account = customer(tribe, exact, link_db, "Handmatig Geboekt BV")
    taken = sent_invoice(tribe, other_rel, [line(tribe, "Advies", 1, 100.0)])
    exact.state.insert(NL, "salesentry/SalesEntries", {
        "Customer": other_account, "Journal": "70", "EntryNumber": taken["Number"], "EntryDate": taken["InvoiceDate"],
        "SalesEntryLines": [{"GLAccount": next(g["ID"] for g in exact.state.store.table(NL, "financial/GLAccounts")
                                                   .values() if g["Code"] == "8000"), "AmountFC": 10.0}]})
    exact.state.reset_counters()
    invoice_dag.test(logical_date=datetime.now(UTC) + timedelta(minutes=10))
    held = {q["record_id"]: q for q in Quarantine(link_db, "exact").open("invoices")}
    assert held[taken["ID"]]["field"] == "Number" and "is taken in Exact journal 70" in held[taken["ID"]]["reason"]
    assert "POST " + ENTRIES not in entry_requests(exact) and exact.state.counters()["statuses"].get("400", 0) == 0


def _expire_token(exact: Any, link_db: Any) -> None:
    """The access token's 600 s are over, on both sides: the next call renews the chain (what
    the token mode decides: the old refresh token lives on a little, or dies at once)."""
    from tribe_operators.store.tokens import TokenStore

    exact.state.advance(600)
    now = datetime.now(UTC)
    with TokenStore(link_db, f"{exact.url}|{exact.state.client_id}", "oauth").renewing() as (current, save, _):
        save(current.refresh_token, current.access_token, now - timedelta(seconds=1),
             issued_at=now - timedelta(seconds=600))


@UNPACED
@pytest.mark.parametrize("mode", ["grace", "strict"])
@pytest.mark.parametrize("paths", [["salesentry/SalesEntries"],
                                   ["salesentry/SalesEntries", "documents/Documents", "documents/DocumentAttachments"]],
                         ids=["entry", "entry+document+attachment"])
def test_lost_answers_5xx_and_resets_at_the_entry_post_leave_no_duplicate(invoice_dag, unpaced, link_db, monkeypatch,
                                                                         mode, paths):
    """The entry POST alone, and the entry, document and attachment POSTs together (each of the
    latter alone: test_invoice_documents.py): one entry, one document, one attachment each."""
    from tenacity import wait_none

    from tribe_operators.http.retry import build_retrying
    from tribe_operators.systems.exact import hook as exact_hook

    tribe, exact = unpaced
    exact.state.options.update({"refresh_mode": mode})
    monkeypatch.setattr(exact_hook, "build_retrying", partial(build_retrying, wait=wait_none()))
    rel, _ = customer(tribe, exact, link_db, "Storing Klant BV")
    invoices = [sent_invoice(tribe, rel, [line(tribe, f"Regel {i}", 1 + i, 100.0)]
                             + ([line(tribe, "Korting", 1, -25.0, "LOW")] if i % 2 else [])) for i in range(12)]
    exact.state.faults.update({"paths": paths, "lost_response": 0.3, "error_5xx": 0.15,
                               "connection_reset": 0.15, "seed": 20260427})
    seen = record_faults(exact.state)
    exact.state.reset_counters()
    ledger, rounds = ExportLedger(link_db, "exact"), 0
    while rounds < 6:
        rounds += 1
        _expire_token(exact, link_db)  # every round starts with a renewal
        invoice_dag.test(logical_date=datetime.now(UTC) + timedelta(minutes=5 * rounds))
        if all((row := ledger.get(inv["ID"])) is not None and row.state == "sent" for inv in invoices) \
                and not unfinished_documents(ledger) and all(
                    (step := ExportLedger(link_db, "exact", "default", kind).get(inv["ID"])) is not None
                    and step.state == "created" for inv in invoices for kind in (DOCUMENT, ATTACHMENT)):
            break
    counters = exact.state.counters()
    exact.state.faults.clear()
    at_post = Counter(kind for kind, method, _ in seen if method == "POST")
    print(f"\nExact invoices under faults ({mode}): rounds {rounds}, faults {counters['faults_injected']}, "
          f"at the POST {dict(at_post)}, entry requests {entry_requests(exact)}, token calls {counters['token_calls']}")

    # The cases under test happened at the entry POST: an entry made and its answer lost; a 5xx
    # and a reset (made or not: the client cannot tell).
    assert at_post["lost_response"] >= 2 and at_post["error_5xx"] and at_post["connection_reset"], seen
    references = Counter(e.get("ExternalLinkReference")
                         for e in exact.state.store.table(NL, "salesentry/SalesEntries").values())
    assert all(references[f"tribe:{inv['ID']}"] == 1 for inv in invoices), references
    numbers = Counter((e["Journal"], e["EntryNumber"]) for e in exact.state.store.table(NL, "salesentry/SalesEntries")
                      .values())
    assert max(numbers.values()) == 1
    # Not saved by Exact's unique numbers either: no POST it had to refuse, nothing counted toward a block.
    assert counters["statuses"].get("400", 0) == 0 and counters["blocks"] == 0, counters["statuses"]
    assert counters["token_calls"] >= rounds and counters["old_refresh_token_used"] == 0, counters["tokens"]
    assert counters["too_early"] == 0, counters["tokens"]
    for inv in invoices:
        row = ledger.get(inv["ID"])
        assert row.state == "sent" and row.external_number == str(inv["Number"])
    # Every entry one document with one attachment whose bytes are Tribe's PDF (downloaded back).
    assert_exactly_once(tribe, exact, ExactOnlineHook(), link_db,
                        [(inv["ID"], Exported(ledger.get(inv["ID"]).external_id, str(inv["Number"])))
                         for inv in invoices])


@pytest.mark.parametrize(("patch", "says"), [
    ({"invoices": {"nl": {"journal": "70"}}}, r"invoices\.nl: 'nl' is not one of the scopes"),
    ({"invoices": {"default": {"journal": ""}}}, r"invoices\.default\.journal: .*name the sales journal's code"),
    ({"invoices": {"default": {"journal": "70", "vat_codes": {"HIGH": ["1"]}}}}, r"invoices\.default\.vat_codes"),
    ({"invoices": {"default": {"journal": "70", "ledger": {}}}}, r"invoices\.default\.ledger"),
])
def test_an_invoices_setting_exact_cannot_use_fails_naming_the_key(monkeypatch, patch, says):
    from tribe_operators.exceptions import MappingConfigError
    from tribe_operators.mapping.settings import load_settings

    monkeypatch.setenv(SETTINGS, json.dumps({"$replace": ["invoices"], **patch}))
    with pytest.raises(MappingConfigError, match=says):
        load_settings("exact")
