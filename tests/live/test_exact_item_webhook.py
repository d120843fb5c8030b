"""A product ended in Exact Online is Inactive in Tribe within a minute of Exact's signed webhook,
on a running Airflow (issue 26: "deactivated products … marked as Inactive in Tribe CRM almost
immediately").

The Exact app is authorized once (``oauth authorize``, the ``exact`` fixture), its items are
imported by one ``exact_to_tribe`` run (only the product streams enabled for it, through the
settings Variable, as an operator narrows an initial import), and Exact's topics are subscribed to
the receiver in the API server (``webhooks subscribe``; Exact validates each with an empty POST).
Then a person ends one item in Exact (as of yesterday); the simulator posts the signed event (HashCode) to
``/tribe-sync/webhooks/exact``, which starts ``exact_to_tribe`` for that event with the
relation streams skipped (a webhook run reads only the streams its topic concerns). The clock
runs from the moment the simulator posted the event until the Tribe product is Inactive.
A redelivery of the same event starts nothing.
"""
from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

from sandbox.exact.entities import find_spec
from sandbox.exact.seed import NL
from tests.live.airflow_api import TERMINAL_RUN_STATES
from tests.live.harness import wait_until

pytestmark = [pytest.mark.live, pytest.mark.postgres, pytest.mark.timeout(600)]

DAG_ID = "exact_to_tribe"
SETTINGS_VARIABLE = "tribe_sync_exact_settings"
ITEMS = "logistics/Items"
LIMIT_S = 60.0  # the promise: Inactive in Tribe within a minute of the webhook
TASK = "division.{}.extract"


def _item(exact: Any, code: str) -> dict[str, Any]:
    with exact.lock:
        return dict(next(r for r in exact.store.table(NL, find_spec(ITEMS)).values() if r["Code"].strip() == code))


def _product(tribe: Any, item_id: str) -> dict[str, Any] | None:
    return next((p for p in tribe.all("Product") if p.get("ImportId") == f"exact:item:{item_id}"), None)


def _end_in_exact(exact: Any, item_id: str) -> str:
    """A person ends the item in Exact as of yesterday (Exact: inactive when the current date is
    past EndDate, so an end date of today still sells today): what the simulator's PUT
    ``logistics/Items(guid'…')`` runs — the body converted and checked by the entity's rules,
    stored with a new ``Modified`` and sync ``Timestamp``, and the Items event queued for every
    subscription. Not over HTTP: the simulator has one app and one user, so any token for a REST
    call would be our app's own chain (a second consent ends it)."""
    from sandbox.exact.registry import rules_for
    from sandbox.exact.rules import Ctx

    spec = find_spec(ITEMS)
    yesterday = (exact.wall_now().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)).isoformat()
    with exact.lock:
        stored = exact.store.table(NL, spec)[item_id]
        ctx = Ctx(exact, NL, f"{exact.base_url}/api/v1/{NL}", {}, exact.client_id)
        rules_for(spec).update(ctx, spec, stored, {"EndDate": yesterday})
    return yesterday


def _deliveries(exact: Any, kind: str) -> list[dict[str, Any]]:
    with exact.lock:
        return [dict(d) for d in exact.webhooks.deliveries if d["kind"] == kind and d["delivered"] is not None]


def _report(live: Any) -> str:
    deliveries = [{k: v for k, v in d.items() if k != "body"} for d in live.sims.exact.webhooks.deliveries]
    runs = [live.airflow.api.run_report(DAG_ID, r["dag_run_id"]) for r in live.airflow.api.runs(DAG_ID)]
    return "\n".join(["Exact webhook deliveries:", *map(str, deliveries), *runs, live.airflow.diagnostics()])


def test_an_item_ended_in_exact_is_inactive_in_tribe_within_a_minute_of_its_webhook(exact, capsys):
    live = exact
    api, tribe, sim = live.airflow.api, live.sims.tribe, live.sims.exact
    item = _item(sim, "STL-010")
    assert item["EndDate"] is None
    api.wait_for_dags([DAG_ID])
    api.set_paused(DAG_ID, False)  # the DAG ships paused; a paused DAG's runs stay queued
    try:
        # The items, imported once: the product streams only (the relations are not this test's).
        api.set_variable(SETTINGS_VARIABLE, {"enabled_streams": ["product_groups", "products"]})
        initial = api.trigger(DAG_ID)
        api.require_success(DAG_ID, api.wait_for_run(DAG_ID, initial["dag_run_id"], timeout=300))
        api.delete_variable(SETTINGS_VARIABLE)  # every stream enabled again, as the file has it
        product = _product(tribe, item["ID"])
        assert product is not None and not product.get("IsInactive"), product
        assert [row["tribe_id"] for row in live.link.rows("id_link")
                if row["entity"] == "product" and row["external_id"] == item["ID"]] == [product["ID"]]

        printed = live.subscribe_exact()
        assert f"{NL}\tItems\tsubscribed" in printed and f"{NL}\tAccounts\tsubscribed" in printed, printed
        validations = wait_until(lambda: len(v := _deliveries(sim, "validation")) >= 3 and v, timeout=30,
                                 what="Exact's validation POSTs", diagnostics=lambda: _report(live))
        assert {(v["topic"], v["status"]) for v in validations} == {
            ("Accounts", 200), ("Items", 200), ("FinancialTransactions", 200)}, validations
        runs_before = {r["dag_run_id"] for r in api.runs(DAG_ID)}

        ended = _end_in_exact(sim, item["ID"])
        (event,) = wait_until(lambda: _deliveries(sim, "event"), timeout=30, what="the Items event delivered",
                              diagnostics=lambda: _report(live))
        inactive = wait_until(lambda: (p := _product(tribe, item["ID"])) and p.get("IsInactive") and p,
                              timeout=240, interval=0.05, what="the product Inactive in Tribe",
                              diagnostics=lambda: _report(live))
        seconds = time.time() - event["sent_at"]
        (run,) = [r for r in api.runs(DAG_ID) if r["dag_run_id"] not in runs_before]
        run = wait_until(lambda: (r := api.run(DAG_ID, run["dag_run_id"]))["state"] in TERMINAL_RUN_STATES and r,
                         timeout=180, what="the webhook run to finish", diagnostics=lambda: _report(live))
    finally:
        api.set_paused(DAG_ID, True)
        api.delete_variable(SETTINGS_VARIABLE)

    with capsys.disabled():
        queued, ran = _ts(run["queued_at"]) - event["sent_at"], _ts(run["end_date"]) - _ts(run["start_date"])
        print(f"\nExact item ended → Tribe product Inactive: {seconds:.1f} s after the simulator posted the signed "
              f"webhook (limit {LIMIT_S:.0f} s; run {run['dag_run_id']} queued {queued:.1f} s, ran {ran:.1f} s)")
    assert (event["topic"], event["action"], event["key"]) == ("Items", "Update", item["ID"])
    assert (event["status"], event["delivered"], event["attempts"]) == (200, True, 1), event
    assert inactive["ID"] == product["ID"] and _item(sim, "STL-010")["EndDate"].isoformat() == ended

    # Exactly one run, started by that event, reading the product streams only.
    api.require_success(DAG_ID, run)
    assert run["dag_run_id"].startswith("webhook__") and run["conf"]["entity_id"] == item["ID"], run
    assert (run["conf"]["topic"], run["conf"]["division"]) == ("Items", NL), run
    states = {ti["task_id"]: ti["state"] for ti in api.task_instances(DAG_ID, run["dag_run_id"])}
    streams = ("customers", "suppliers", "contacts", "product_groups", "products")
    assert {s: states.get(TASK.format(s)) for s in streams} == {
        "customers": "skipped", "suppliers": "skipped", "contacts": "skipped",
        "product_groups": "success", "products": "success"}, states
    event_id = run["conf"]["webhook_event_id"]
    received = Counter((str(r["event_id"]), r["status"], r["dag_id"]) for r in live.link.rows("webhook_event"))
    assert received == Counter({(event_id, "triggered", DAG_ID): 1}), received

    # Exact delivers the same event again (its retry after a lost answer): the same bytes.
    again = requests.post(live.airflow.exact_webhook_url, data=event["body"], timeout=30,
                          headers={"Content-Type": "application/json"})
    assert (again.status_code, again.json()["status"]) == (200, "duplicate"), again.text
    assert sorted(r["dag_run_id"] for r in api.runs(DAG_ID)) == sorted({*runs_before, run["dag_run_id"]})
    assert seconds <= LIMIT_S, (f"{seconds:.1f} s from the webhook to Inactive in Tribe\n"
                                f"{api.run_report(DAG_ID, run['dag_run_id'])}")


def _ts(text: str | None) -> float:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
