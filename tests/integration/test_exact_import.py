"""``exact_to_tribe`` end to end (dag.test(), the Exact and Tribe simulators, real Postgres):
customer accounts read from Exact's sync endpoint after the committed cursor; an idle run costs
one call; a daily budget spent mid-read ends the run cleanly with the reason in its note, and
the next day's run goes on from the cursor with nothing lost and nothing written twice."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sandbox.exact.clients import ExactServer
from sandbox.exact.seed import NL
from tests.integration.test_exact_tokens import chain
from tribe_operators.reports.summary import note_text, read_report
from tribe_operators.store.quarantine import Quarantine
from tribe_operators.store.runs import run_counts
from tribe_operators.store.watermarks import Cursors

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
SYNC = "GET sync/crm/accounts"
DELETED = "GET sync/deleted"  # the deletion log, read after the streams: one call an idle run


def run(dag: Any, hours_ahead: float) -> Any:
    dagrun = dag.test(logical_date=datetime.now(UTC) + timedelta(hours=hours_ahead))
    assert str(dagrun.state).endswith("success"), dagrun.state
    return dagrun


def active_customers(exact: ExactServer) -> dict[str, dict[str, Any]]:
    """The customer accounts the import reads (not blocked: Exact's filter leaves those out)."""
    rows = exact.state.store.table(NL, "crm/Accounts")
    return {r["ID"]: r for r in rows.values() if r.get("Status") == "C" and not r.get("Blocked")}


def importable(exact: ExactServer) -> dict[str, dict[str, Any]]:
    """Of those, the ones it imports: an account whose end date has passed is read, then left out."""
    now = exact.state.wall_now()
    return {i: r for i, r in active_customers(exact).items() if not (r.get("EndDate") and r["EndDate"] < now)}


def imported(tribe: Any) -> dict[str, dict[str, Any]]:
    return {o["ImportId"].split(":", 1)[1]: o for o in tribe.all("Relation_Organization")
            if str(o.get("ImportId") or "").startswith("exact:")}


def counts(link_db: Any, dagrun: Any, step: str) -> dict[str, Any]:
    return next(r["counts"] for r in run_counts(link_db, dagrun.run_id) if r["step"] == step)


def test_customer_accounts_arrive_once_and_an_idle_run_costs_one_call(exact_import, world, link_db, monkeypatch):
    tribe, exact = world
    # The customers alone (suppliers, contacts, products: tests/integration/test_exact_relations.py).
    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_EXACT_SETTINGS", json.dumps({"enabled_streams": ["customers"]}))
    first = run(exact_import, 1)
    orgs = imported(tribe)
    wanted = active_customers(exact)
    held = {q["record_id"]: q for q in Quarantine(link_db, "exact").open("customers")}
    assert set(orgs) | set(held) == set(importable(exact)) and not set(orgs) & set(held), (sorted(orgs), held)
    assert all(q["field"] for q in held.values()), held  # a seeded account's bad VAT number, named
    for account_id, org in orgs.items():  # the number trimmed, the address read as typed
        assert org["DebtorNumber"] == wanted[account_id]["Code"].strip()
    assert counts(link_db, first, "load")["created"] == len(orgs)
    exact.state.reset_counters()
    idle = run(exact_import, 2)
    # One sync call, and one re-read (20 ids a call) of what is held in quarantine, tried every run.
    # One sync call, the deletion log's, and one re-read of what is held.
    assert exact.state.counters()["requests"] == {SYNC: 1, DELETED: 1, **({"GET crm/accounts": 1} if held else {})}
    assert counts(link_db, idle, "load")["created"] == counts(link_db, idle, "load")["updated"] == 0


@pytest.mark.parametrize("world", [{"calls_per_minute": 6000}], indirect=True)
def test_a_spent_day_stops_the_read_cleanly_and_the_next_day_goes_on_from_the_cursor(exact_import, world, link_db,
                                                                                       monkeypatch):
    """The issue's day of 120 calls, with Exact's sync pages made one row each and 150 more
    customers, so the day runs out mid-read (the minute widened to 6,000 on both sides, so the
    test does not wait out real minutes: the day is what it is about). The first run stops at
    120 calls at most, before Exact refuses one, and says so; after 00:00 UTC the next one reads
    the rest from the committed cursor: nothing lost, nothing written twice, and nothing read
    twice but the last page read (rows sharing its Timestamp may straddle pages)."""
    from tribe_operators.http.pacing import forget_shared_limiters

    tribe, exact = world
    # The customers stream alone, so each day's calls are this stream's (the other Exact streams
    # read the same accounts and items one row a page too and would spend the next day as well).
    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_EXACT_SETTINGS", json.dumps({"enabled_streams": ["customers"]}))
    for n in range(150):
        exact.state.insert(NL, "crm/Accounts", {"Name": f"Dagbudget Klant {n:03d} BV", "Status": "C",
                                                "AddressLine1": f"Kerkstraat {n + 1}", "Postcode": "3511 AB",
                                                "City": "Utrecht", "Country": "NL"})
    wanted = active_customers(exact)
    exact.state.options.update({"bulk_page_size": 1, "daily_limit": 120, "minutely_limit": 6000})
    exact.state.sync_limits()
    exact.state.reset_counters()
    first = run(exact_import, 1)
    spent = exact.state.counters()
    assert sum(spent["by_division"].values()) <= 120 and spent["rate_limited"]["daily"] == 0, spent
    extract = counts(link_db, first, "extract")
    assert extract["budget_spent"] == 1, extract
    note = note_text(read_report(link_db, first.run_id))  # what the note listener writes on the run
    assert note.startswith("⚠") and "budget spent, resumes after 00:00 UTC" in note, note
    halfway = imported(tribe)
    assert 0 < len(halfway) < len(wanted)
    committed = Cursors(link_db, "exact").get("customers", "import")
    assert committed is not None and committed > 0
    # The cursor commits to just before the last page read: the rows after it are the next day's,
    # and of them only those of that last page were read already (one row a page here).
    after = {i for i, r in wanted.items() if r["_ts"] > committed}
    last_page = {i for i in after if wanted[i]["_ts"] == committed + 1}
    assert after and len(last_page) <= 1, (committed, last_page)
    assert extract["extracted"] - extract["retried"] == len(wanted) - len(after) + len(last_page), extract

    exact.state.advance_to_next(86400)  # Exact's day is over; a worker of the next day starts afresh,
    forget_shared_limiters()           # and our clock has moved on too: the stored token is old
    with chain(link_db, exact).renewing() as (current, save, _):
        now = datetime.now(UTC)
        save(current.refresh_token, current.access_token, now - timedelta(seconds=100),
             issued_at=now - timedelta(seconds=700))
    exact.state.reset_counters()
    second = run(exact_import, 2)
    again = read_report(link_db, second.run_id)
    assert again.budget_resumes_at is None, (run_counts(link_db, second.run_id), exact.state.counters())
    held = {q["record_id"] for q in Quarantine(link_db, "exact").open("customers")}
    assert set(imported(tribe)) | held == set(importable(exact))  # nothing lost
    load = counts(link_db, second, "load")
    assert counts(link_db, first, "load")["created"] + load["created"] == len(imported(tribe))  # nothing twice
    assert load["updated"] == 0
    # Read again: exactly the rows after the cursor (the last page among them); what is held in
    # quarantine is re-read by id every run, on purpose, and counted apart ("retried").
    rest = counts(link_db, second, "extract")
    assert rest["extracted"] - rest["retried"] == len(after), (rest, len(after))
