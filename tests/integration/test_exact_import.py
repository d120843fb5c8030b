"""``exact_to_tribe`` end to end (dag.test(), the Exact and Tribe simulators, real Postgres):
customer accounts read from Exact's sync endpoint after the committed cursor; an idle run costs
one call; a daily budget spent mid-read ends the run cleanly with the reason in its note, and
the next day's run goes on from the cursor with nothing lost and nothing written twice."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet

from sandbox.common import ServerThread
from sandbox.exact.clients import REDIRECT_URI, ExactServer
from sandbox.exact.seed import NL
from tests.fixtures.simulators import connection_env
from tests.integration.conftest import dag_named
from tests.integration.test_exact_tokens import browser, chain
from tribe_operators.reports.summary import note_text, read_report
from tribe_operators.store.quarantine import Quarantine
from tribe_operators.store.runs import run_counts
from tribe_operators.store.watermarks import Cursors

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
SYNC = "GET sync/crm/accounts"


@pytest.fixture(scope="module")
def exact_import(airflow_db: Any) -> Any:
    return dag_named("exact_to_tribe")


@pytest.fixture
def world(link_db, monkeypatch, request) -> Iterator[Any]:
    """Tribe and a signed-in Exact (division 100001, Exact's own numbers unless a test changes them)."""
    from sandbox.tribe import TribeState
    from sandbox.tribe import create_app as tribe_app
    from tribe_operators.http.pacing import forget_shared_limiters
    from tribe_operators.systems.exact.authorize import ExactAuthorization
    from tribe_operators.systems.exact.hook import ExactOnlineHook

    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", Fernet.generate_key().decode())
    forget_shared_limiters()
    tribe = TribeState()
    with ServerThread(tribe_app(tribe)) as t, ExactServer() as exact:
        for key, value in connection_env(t.url, "http://127.0.0.1:9").items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("AIRFLOW_CONN_EXACT_DEFAULT", json.dumps({
            "conn_type": "exact_online", "host": exact.url, "login": exact.state.client_id,
            "password": exact.state.client_secret,
            "extra": {"division": NL, "redirect_uri": REDIRECT_URI, **getattr(request, "param", {})}}))
        flow = ExactAuthorization(ExactOnlineHook())
        flow.complete(browser(flow.url()))
        exact.state.reset_counters()
        yield tribe, exact
    forget_shared_limiters()


def run(dag: Any, hours_ahead: float) -> Any:
    dagrun = dag.test(logical_date=datetime.now(UTC) + timedelta(hours=hours_ahead))
    assert str(dagrun.state).endswith("success"), dagrun.state
    return dagrun


def active_customers(exact: ExactServer) -> dict[str, dict[str, Any]]:
    rows = exact.state.store.table(NL, "crm/Accounts")
    return {r["ID"]: r for r in rows.values() if r.get("Status") == "C" and not r.get("Blocked")}


def imported(tribe: Any) -> dict[str, dict[str, Any]]:
    return {o["ImportId"].split(":", 1)[1]: o for o in tribe.all("Relation_Organization")
            if str(o.get("ImportId") or "").startswith("exact:")}


def counts(link_db: Any, dagrun: Any, step: str) -> dict[str, Any]:
    return next(r["counts"] for r in run_counts(link_db, dagrun.run_id) if r["step"] == step)


def test_customer_accounts_arrive_once_and_an_idle_run_costs_one_call(exact_import, world, link_db):
    tribe, exact = world
    first = run(exact_import, 1)
    orgs = imported(tribe)
    wanted = active_customers(exact)
    held = {q["record_id"]: q for q in Quarantine(link_db, "exact").open("customers")}
    assert set(orgs) | set(held) == set(wanted) and not set(orgs) & set(held), (sorted(orgs), held)
    assert all(q["field"] for q in held.values()), held  # a seeded account's bad VAT number, named
    for account_id, org in orgs.items():  # the number trimmed, the address read as typed
        assert org["DebtorNumber"] == wanted[account_id]["Code"].strip()
    assert counts(link_db, first, "load")["created"] == len(orgs)
    exact.state.reset_counters()
    idle = run(exact_import, 2)
    # One sync call, and one re-read (20 ids a call) of what is held in quarantine, tried every run.
    assert exact.state.counters()["requests"] == {SYNC: 1, **({"GET crm/accounts": 1} if held else {})}
    assert counts(link_db, idle, "load")["created"] == counts(link_db, idle, "load")["updated"] == 0


@pytest.mark.parametrize("world", [{"calls_per_minute": 600}], indirect=True)
def test_a_spent_day_stops_the_read_cleanly_and_the_next_day_goes_on_from_the_cursor(exact_import, world, link_db):
    """Exact's sync pages made one row each and a day of 60 calls, for 60 more customers (the
    minute widened to 600 on both sides, so the test does not wait out real minutes): the first
    run reads 60 pages at most and says so; after 00:00 UTC the next one reads the rest."""
    from tribe_operators.http.pacing import forget_shared_limiters

    tribe, exact = world
    for n in range(60):
        exact.state.insert(NL, "crm/Accounts", {"Name": f"Dagbudget Klant {n:03d} BV", "Status": "C",
                                                "AddressLine1": f"Kerkstraat {n + 1}", "Postcode": "3511 AB",
                                                "City": "Utrecht", "Country": "NL"})
    wanted = active_customers(exact)
    exact.state.options.update({"bulk_page_size": 1, "daily_limit": 60, "minutely_limit": 600})
    exact.state.sync_limits()
    exact.state.reset_counters()
    first = run(exact_import, 1)
    calls = exact.state.counters()["requests"][SYNC]
    assert calls <= 60, calls
    extract = counts(link_db, first, "extract")
    assert extract["budget_spent"] == 1, extract
    note = note_text(read_report(link_db, first.run_id))  # what the note listener writes on the run
    assert note.startswith("⚠") and "budget spent, resumes after 00:00 UTC" in note, note
    halfway = imported(tribe)
    assert 0 < len(halfway) < len(wanted)
    committed = Cursors(link_db, "exact").get("customers", "import")
    assert committed is not None and committed > 0

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
    assert set(imported(tribe)) | held == set(wanted)  # nothing lost
    load = counts(link_db, second, "load")
    assert counts(link_db, first, "load")["created"] + load["created"] == len(imported(tribe))  # nothing twice
    assert load["updated"] == 0
    # Re-read: the rest, and at most the few rows sharing the first run's last Timestamp.
    assert counts(link_db, second, "extract")["extracted"] <= len(wanted) - len(halfway) + 5
