"""Tribe change → signed webhook → DAG run → record in PowerOffice, on a running Airflow: how long
it takes, and that every record arrives exactly once.

The Tribe simulator delivers the webhooks itself, as Tribe does: a webhook registered for
``Relationship.Organization`` (the README's set, narrowed to the one type this test changes)
pointing at the receiver the ``tribe_sync`` plugin mounts in the API server, signed with the
secret the stack put into ``tribe_default``'s extra. The receiver starts ``tribe_to_poweroffice``
with run id ``webhook__<eventId>``.

Each event makes an existing Tribe organisation a customer (one change, one event). The clock
starts just before that change and stops when the customer exists in the PowerOffice
simulator (polled every 50 ms). Events are **sequential**: the next change is made once the
previous event's run has finished, so each figure is the latency of an idle pipeline, not of a
queue (the DAG runs one run at a time; a burst queues one run per event behind each other).

Prints "webhook → PowerOffice latency: median X s, worst Y s over N events (sequential)" and
writes the figures to ``.airflow-test/live/webhook_latency.json`` (``TRIBE_SYNC_TEST_AIRFLOW_HOME``
if set) for the README.
"""
from __future__ import annotations

import json
import os
import statistics
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.live.airflow_api import TERMINAL_RUN_STATES
from tests.live.harness import ROOT, wait_until

pytestmark = [pytest.mark.live, pytest.mark.postgres, pytest.mark.timeout(900)]

DAG_ID = "tribe_to_poweroffice"
EVENTS = 10
ENTITY_TYPE = "Relationship.Organization"
RESULT_FILE = Path(os.environ.get("TRIBE_SYNC_TEST_AIRFLOW_HOME", ROOT / ".airflow-test")) / "live" / "webhook_latency.json"


def _ts(text: str | None) -> float | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None


def _arrived(po: Any, reference: str) -> list[dict[str, Any]]:
    return [c for c in po.all("customers") if c.get("ExternalImportReference") == reference]


def test_signed_tribe_webhooks_reach_poweroffice_once_each_and_quickly(live, capsys):
    api, tribe, po = live.airflow.api, live.sims.tribe, live.sims.po
    orgs = [tribe.insert("Relation_Organization", {"Name": f"Webhook Kunde {i:02d} BV",
                                                   "EmailAddress": f"post@webhook-kunde-{i:02d}.nl"})
            for i in range(EVENTS)]
    api.wait_for_dags([DAG_ID])
    api.set_paused(DAG_ID, False)  # the DAG ships paused; a paused DAG's runs stay queued
    # As a system in service: the initial export has run (Tribe's reference customers are in
    # PowerOffice), so each event's run exports just its change. A manual run reads up to now.
    initial = api.trigger(DAG_ID)
    api.require_success(DAG_ID, api.wait_for_run(DAG_ID, initial["dag_run_id"], timeout=240))
    exported_before = {c.get("ExternalImportReference") for c in po.all("customers")} - {None}
    linked_before = sum(row["entity"] == "customer" for row in live.link.rows("id_link"))
    api.forget_runs(DAG_ID)
    po.reset_counters()
    load_before = os.getloadavg()[0]
    hook = tribe.webhooks.register(ENTITY_TYPE, live.airflow.webhook_url, secret=live.webhook_secret)
    try:
        events = [_one_event(live, org) for org in orgs]
    finally:
        api.set_paused(DAG_ID, True)
        tribe.webhooks.remove(hook["id"])

    # Exactly once: one PowerOffice customer per organisation, one create call each, one link each.
    references = Counter(c.get("ExternalImportReference") for c in po.all("customers"))
    assert {f"tribe:{org['ID']}": 1 for org in orgs} == {ref: n for ref, n in references.items()
                                                         if ref and ref not in exported_before}, references
    assert all(references[ref] == 1 for ref in exported_before), references
    assert po.counters()["calls"].get("POST Customers") == EVENTS, po.counters()["calls"]
    links = {row["tribe_id"]: row["external_id"] for row in live.link.rows("id_link") if row["entity"] == "customer"}
    assert {e["tribe_id"]: links.get(e["tribe_id"]) for e in events} == {e["tribe_id"]: e["poweroffice_id"] for e in events}
    assert len(links) == len(events) + linked_before
    # One delivery, one receiver record and one run per event; no other run of the DAG.
    deliveries = tribe.webhooks.deliveries()
    assert len(deliveries) == EVENTS and {(d["status"], d["attempts"]) for d in deliveries} == {(200, 1)}, deliveries
    # Each event starts the relations export of every system set up (Odoo's and Exact's too: they
    # ship paused here, so their runs wait) — one receiver record per event and DAG.
    received = Counter((str(row["event_id"]), row["status"], row["dag_id"]) for row in live.link.rows("webhook_event"))
    assert received == Counter((e["event_id"], "triggered", dag) for e in events
                               for dag in (DAG_ID, "tribe_to_odoo", "tribe_to_exact"))
    runs = api.runs(DAG_ID)
    assert sorted(r["dag_run_id"] for r in runs) == sorted(e["run_id"] for e in events)
    assert live.link.rows("quarantine") == []

    latencies = [e["latency_s"] for e in events]
    summary = {
        "median_s": round(statistics.median(latencies), 2), "worst_s": round(max(latencies), 2),
        "best_s": round(min(latencies), 2), "events": len(events), "mode": "sequential",
        "measured": "Tribe change (a customer relationship created in the simulator) → the customer "
                    "exists in the PowerOffice simulator; the simulator delivers the signed webhook to the "
                    "receiver in the live API server, which starts tribe_to_poweroffice",
        # Of that, the time from the change until the run was queued and until it started.
        "median_to_run_queued_s": round(statistics.median(e["to_queued_s"] for e in events), 2),
        "median_to_run_started_s": round(statistics.median(e["to_started_s"] for e in events), 2),
        "median_run_duration_s": round(statistics.median(e["run_duration_s"] for e in events), 2),
        # Every task is a process start-up and a DAG parse: CPU-bound, so the figure scales with
        # how busy the machine is (1-minute load average before and after the events).
        "stack": {"executor": live.airflow.executor, "parallelism": live.airflow.parallelism, "cpus": os.cpu_count(),
                  "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)]},
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "per_event": events,
    }
    RESULT_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULT_FILE.write_text(json.dumps(summary, indent=2) + "\n")
    with capsys.disabled():
        print(f"\nwebhook → PowerOffice latency: median {summary['median_s']:.1f} s, worst {summary['worst_s']:.1f} s "
              f"over {len(events)} events (sequential: each change after the previous run finished; median "
              f"{summary['median_to_run_started_s']:.1f} s from the change to the run's start) → {RESULT_FILE}")
    assert len(events) >= 10


def _one_event(live: Any, org: dict[str, Any]) -> dict[str, Any]:
    """Make ``org`` a customer in Tribe; time it until PowerOffice has it; wait for the run to end."""
    api, tribe, po = live.airflow.api, live.sims.tribe, live.sims.po
    reference = f"tribe:{org['ID']}"
    before = len(tribe.webhooks.deliveries())
    changed = time.time()
    tribe.insert("Relationship_Organization_CommercialRelationship_Customer", {"Organization": {"ID": org["ID"]}})
    found = wait_until(lambda: _arrived(po, reference), timeout=180, interval=0.05,
                       what=f"{org['Name']} in PowerOffice", diagnostics=lambda: _webhook_report(live))
    arrived = time.time()

    delivery = wait_until(lambda: len(d := tribe.webhooks.deliveries()) > before and d[before]["delivered"] and d[before],
                          timeout=30, what="the webhook delivery", diagnostics=lambda: _webhook_report(live))
    run_id = f"webhook__{delivery['eventId']}"
    # Polled often: the next change waits for this run to end (the DAG runs one run at a time).
    run = wait_until(lambda: (r := api.run(DAG_ID, run_id))["state"] in TERMINAL_RUN_STATES and r, timeout=180,
                     interval=0.2, what=f"{run_id} to finish", diagnostics=lambda: api.run_report(DAG_ID, run_id))
    api.require_success(DAG_ID, run)
    assert run["conf"]["entity_id"] == delivery["entityId"] and run["run_type"] == "manual", run
    # The run read the stream the event concerns; the others skipped (the safety poll reads them).
    states = {ti["task_id"]: ti["state"] for ti in api.task_instances(DAG_ID, run_id)}
    assert states["tribe_customers.load"] == "success", states
    assert {t: s for t, s in states.items() if t.endswith(".extract") and s != "skipped"} == {
        "tribe_customers.extract": "success"}, states
    return {"tribe_id": org["ID"], "poweroffice_id": str(found[0]["Id"]), "event_id": delivery["eventId"],
            "run_id": run_id, "latency_s": round(arrived - changed, 3),
            "to_queued_s": round(_ts(run["queued_at"]) - changed, 3),
            "to_started_s": round(_ts(run["start_date"]) - changed, 3),
            "run_duration_s": round(_ts(run["end_date"]) - _ts(run["start_date"]), 3)}


def _webhook_report(live: Any) -> str:
    lines = ["webhook deliveries:", *(f"  {d}" for d in live.sims.tribe.webhooks.deliveries())]
    for run in live.airflow.api.runs(DAG_ID):
        lines.append(live.airflow.api.run_report(DAG_ID, run["dag_run_id"]))
    return "\n".join(lines) + "\n" + live.airflow.diagnostics()
