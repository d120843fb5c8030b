"""Tribe change → signed webhook → DAG runs → the record in PowerOffice **and** Odoo, on a running
Airflow (CeleryExecutor, two workers): where the time goes, and that every record arrives
exactly once in each.

Two systems are enabled, as at a customer that books in PowerOffice and runs Odoo: each event
starts ``tribe_to_poweroffice`` and ``tribe_to_odoo`` (run id ``webhook__<eventId>``). Exact
Online's connection is in the stack for other tests; its settings Variable turns its webhooks
off here, so it is not a third system.

The Tribe simulator delivers the webhooks itself, as Tribe does, signed with the secret in
``tribe_default``'s extra, to the receiver the ``tribe_sync`` plugin mounts in the API server.
Each event makes an existing Tribe organisation a customer (one change, one event); the clock
starts just before that change. Events are **sequential** (the next change once both runs have
ended): each figure is the latency of an idle pipeline, not of a queue.

Where the time goes, per target, from timestamps of one clock (one machine):

* **accepted** — the receiver claimed the (event, DAG) in the replay store (``webhook_event``);
* **run created / run started** — the DAG run's ``queued_at`` / ``start_date`` (Airflow's REST API);
* **express queued / started** — the one task a webhook run starts (``operators.express``):
  its task instance's ``queued_when`` and ``start_date``;
* per step of the stream (extract → map → dedupe → load), run inside that task: ``started_at``
  and ``finished_at`` of the step in the link database (``sync_run``);
* **hook ready** — the load's first call at the vendor (its token request where it needs
  one), from the simulator's access log (``tests.live.traffic``);
* **write done** — the vendor answered the create (``POST /v2/Customers``; Odoo's
  ``res.partner.create``).

Prints the table (median / p95 per stage and end to end, per target) and writes
``webhook_latency.json`` (the end-to-end figures, for the README) and
``webhook_latency_breakdown.json`` beside it (``.airflow-test/live/``, or
``TRIBE_SYNC_TEST_AIRFLOW_HOME``). No assertion on time (the machine decides that); the
assertions are on arrival: exactly once, in both systems, one run per event and system.
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

EVENTS = 20
ENTITY_TYPE = "Relationship.Organization"  # the webhook's type; each event is a Customer relationship
TARGETS = {  # target → (DAG, the access log of its simulator, the write call)
    "poweroffice": ("tribe_to_poweroffice", "po", "POST /v2/Customers"),
    "odoo": ("tribe_to_odoo", "odoo", "POST /jsonrpc res.partner.create"),
}
CHAIN = ("extract", "map", "dedupe", "load")  # the stream the event concerns: tribe_customers
STREAM = "tribe_customers"
RESULTS = Path(os.environ.get("TRIBE_SYNC_TEST_AIRFLOW_HOME", ROOT / ".airflow-test")) / "live"
EXACT_SETTINGS = "tribe_sync_exact_settings"


def _ts(text: str | None) -> float | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None


def _utc(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _in_poweroffice(live: Any, reference: str) -> list[dict[str, Any]]:
    return [c for c in live.sims.po.all("customers") if c.get("ExternalImportReference") == reference]


def _in_odoo(live: Any, name: str) -> list[int]:
    return live.sims.odoo.search("res.partner", [("name", "=", name)], active_test=False)


def test_signed_tribe_webhooks_reach_poweroffice_and_odoo_once_each(live, capsys):
    api, tribe, po, odoo = live.airflow.api, live.sims.tribe, live.sims.po, live.sims.odoo
    orgs = [tribe.insert("Relation_Organization", {"Name": f"Webhook Kunde {i:02d} BV",
                                                   "EmailAddress": f"post@webhook-kunde-{i:02d}.nl"})
            for i in range(EVENTS)]
    dags = [dag for dag, _, _ in TARGETS.values()]
    api.wait_for_dags(dags)
    api.set_variable(EXACT_SETTINGS, {"webhooks": False})  # two systems, not three
    for dag in dags:
        api.set_paused(dag, False)  # the DAGs ship paused; a paused DAG's runs stay queued
    try:
        # As systems in service: the initial export has run in both, so each event's run
        # exports just its change. A manual run reads up to now.
        initial = {dag: api.trigger(dag)["dag_run_id"] for dag in dags}
        for dag, run_id in initial.items():
            api.require_success(dag, api.wait_for_run(dag, run_id, timeout=240))
        exported_before = {c.get("ExternalImportReference") for c in po.all("customers")} - {None}
        links_before = Counter(row["integration"] for row in live.link.rows("id_link") if row["entity"] == "customer")
        for dag in dags:
            api.forget_runs(dag)
        po.reset_counters()
        odoo.reset_counters()
        load_before = os.getloadavg()
        hook = tribe.webhooks.register(ENTITY_TYPE, live.airflow.webhook_url, secret=live.webhook_secret)
        try:
            events = [_one_event(live, org) for org in orgs]
        finally:
            tribe.webhooks.remove(hook["id"])
    finally:
        for dag in dags:
            api.set_paused(dag, True)
        api.delete_variable(EXACT_SETTINGS)
    load_after = os.getloadavg()

    # The figures first (a failed arrival below still leaves them to read), then the arrival.
    breakdown = _breakdown(events)
    stack = {"executor": live.airflow.executor, "workers": live.airflow.workers,
             "worker_concurrency": live.airflow.worker_concurrency, "parallelism": live.airflow.parallelism,
             "cpus": os.cpu_count(), "load_average": {"before": [round(x, 2) for x in load_before],
                                                      "after": [round(x, 2) for x in load_after]}}
    measured_at = datetime.now(UTC).isoformat(timespec="seconds")
    po_total = [e["poweroffice"]["arrived_s"] for e in events]
    odoo_total = [e["odoo"]["arrived_s"] for e in events]
    both = [max(a, b) for a, b in zip(po_total, odoo_total, strict=True)]
    summary = {
        "median_s": round(statistics.median(po_total), 2), "worst_s": round(max(po_total), 2),
        "p95_s": _p95(po_total), "best_s": round(min(po_total), 2),
        "odoo": {"median_s": round(statistics.median(odoo_total), 2), "p95_s": _p95(odoo_total),
                 "worst_s": round(max(odoo_total), 2)},
        "both": {"median_s": round(statistics.median(both), 2), "p95_s": _p95(both), "worst_s": round(max(both), 2)},
        "events": len(events), "mode": "sequential", "systems": list(TARGETS),
        "measured": "Tribe change (a customer relationship created in the simulator) → the customer exists in the "
                    "PowerOffice simulator (and in the Odoo simulator: 'odoo'); the simulator delivers the signed "
                    "webhook to the receiver in the live API server, which starts tribe_to_poweroffice and "
                    "tribe_to_odoo",
        "stack": stack, "measured_at": measured_at,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "webhook_latency.json").write_text(json.dumps(summary, indent=2) + "\n")
    (RESULTS / "webhook_latency_breakdown.json").write_text(json.dumps(
        {"stages": breakdown, "stack": stack, "measured_at": measured_at, "per_event": events}, indent=2) + "\n")
    with capsys.disabled():
        print("\n" + _table(breakdown, stack))
        tokens = [e["token_requests"]["count"] for e in events]
        print(f"token requests during the events: {sum(tokens)} ({max(tokens)} at most in one event), "
              f"{sum(e['token_requests']['seconds'] for e in events):.3f} s in all")
        print(f"webhook → PowerOffice: median {summary['median_s']:.2f} s, p95 {summary['p95_s']:.2f} s, worst "
              f"{summary['worst_s']:.2f} s; → Odoo: median {summary['odoo']['median_s']:.2f} s, p95 "
              f"{summary['odoo']['p95_s']:.2f} s; both there: p95 {summary['both']['p95_s']:.2f} s over "
              f"{len(events)} sequential events → {RESULTS}")

    # Exactly once in PowerOffice: one customer per organisation, one create call each, one link each.
    references = Counter(c.get("ExternalImportReference") for c in po.all("customers"))
    assert {f"tribe:{org['ID']}": 1 for org in orgs} == {ref: n for ref, n in references.items()
                                                         if ref and ref not in exported_before}, references
    assert all(references[ref] == 1 for ref in exported_before), references
    assert po.counters()["calls"].get("POST Customers") == EVENTS, po.counters()["calls"]
    # …and in Odoo: one partner per organisation, one create each.
    assert {org["Name"]: len(_in_odoo(live, org["Name"])) for org in orgs} == {org["Name"]: 1 for org in orgs}
    assert odoo.counters()["calls"].get("res.partner.create") == EVENTS, odoo.counters()["calls"]
    links = {(row["integration"], row["tribe_id"]): row["external_id"] for row in live.link.rows("id_link")
             if row["entity"] == "customer"}
    for e in events:
        assert links.get(("poweroffice", e["tribe_id"])) == e["poweroffice"]["record_id"], e
        assert links.get(("odoo", e["tribe_id"])) == e["odoo"]["record_id"], e
    assert Counter(i for i, _ in links) == Counter({i: links_before[i] + EVENTS for i in TARGETS})
    # One delivery, one receiver record and one run per event and system; no other run.
    deliveries = tribe.webhooks.deliveries()
    assert len(deliveries) == EVENTS and {(d["status"], d["attempts"]) for d in deliveries} == {(200, 1)}, deliveries
    received = Counter((str(row["event_id"]), row["status"], row["dag_id"]) for row in live.link.rows("webhook_event"))
    assert received == Counter((e["event_id"], "triggered", dag) for e in events for dag in dags)
    for dag in dags:
        assert sorted(r["dag_run_id"] for r in api.runs(dag)) == sorted(e["run_id"] for e in events)
    assert live.link.rows("quarantine") == []


def _one_event(live: Any, org: dict[str, Any]) -> dict[str, Any]:
    """Make ``org`` a customer in Tribe; note when each system has it; wait for both runs to end;
    read the milestones of both runs."""
    api, tribe = live.airflow.api, live.sims.tribe
    reference = f"tribe:{org['ID']}"
    before = len(tribe.webhooks.deliveries())
    changed = time.time()
    tribe.insert("Relationship_Organization_CommercialRelationship_Customer", {"Organization": {"ID": org["ID"]}})
    arrived: dict[str, float] = {}
    found: dict[str, Any] = {}

    def both_there() -> bool:
        for target, look in (("poweroffice", lambda: _in_poweroffice(live, reference)),
                             ("odoo", lambda: _in_odoo(live, org["Name"]))):
            if target not in arrived and (hit := look()):
                arrived[target], found[target] = time.time(), hit[0]
        return len(arrived) == len(TARGETS)

    wait_until(both_there, timeout=180, interval=0.05, what=f"{org['Name']} in PowerOffice and Odoo",
               diagnostics=lambda: _webhook_report(live))
    delivery = wait_until(lambda: len(d := tribe.webhooks.deliveries()) > before and d[before]["delivered"] and d[before],
                          timeout=30, what="the webhook delivery", diagnostics=lambda: _webhook_report(live))
    run_id = f"webhook__{delivery['eventId']}"
    accepted = {row["dag_id"]: row["received_at"].timestamp() for row in live.link.rows("webhook_event")
                if str(row["event_id"]) == delivery["eventId"]}
    event: dict[str, Any] = {"tribe_id": org["ID"], "event_id": delivery["eventId"], "run_id": run_id}
    for target, (dag, sim, write) in TARGETS.items():
        # Polled often: the next change waits for this run to end (one run at a time per DAG).
        run = wait_until(lambda d=dag: (r := api.run(d, run_id))["state"] in TERMINAL_RUN_STATES and r, timeout=180,
                         interval=0.2, what=f"{dag} {run_id} to finish", diagnostics=lambda d=dag: api.run_report(d, run_id))
        api.require_success(dag, run)
        assert run["conf"]["entity_id"] == delivery["entityId"] and run["run_type"] == "manual", run
        assert run["conf"]["streams"] == [STREAM], run["conf"]  # the streams the event concerns
        tis = {ti["task_id"]: ti for ti in api.task_instances(dag, run_id)}
        states = {t: ti["state"] for t, ti in tis.items()}
        # One task ran the stream the event concerns; every step task was skipped from the start.
        assert {t for t, s in states.items() if s != "skipped"} == {"express", "summary"}, states
        assert states["express"] == "success", states
        recorded = {(r["stream"], r["step"]): r for r in live.link.rows("sync_run") if r["run_id"] == run_id
                    and r["integration"] == target}
        assert set(recorded) == {(STREAM, step) for step in CHAIN}, sorted(recorded)
        steps = {step: row for (_, step), row in recorded.items()}
        # The summary reports the run once its streams are done (never before the write).
        assert _ts(tis["summary"]["start_date"]) >= _ts(tis["express"]["end_date"]), tis["summary"]
        record_id = str(found[target]["Id"]) if target == "poweroffice" else str(found[target])
        event[target] = {"record_id": record_id, "arrived_s": round(arrived[target] - changed, 3),
                         **_milestones(live, sim, write, changed, accepted[dag], run, tis["express"], steps),
                         # Tasks a worker ran (a process each, the skipped-by-themselves too).
                         "task_processes": sum(bool(ti.get("hostname")) for ti in tis.values()),
                         "tasks_skipped": sum(s == "skipped" for s in states.values())}
    # Token requests (client credentials) anywhere during the event: their share of the latency.
    tokens = [c for log in live.sims.traffic.values() for c in log.calls(changed) if "token" in c.path.lower()]
    event["token_requests"] = {"count": len(tokens), "seconds": round(sum(c.answered - c.arrived for c in tokens), 3)}
    return event


def _milestones(live: Any, sim: str, write: str, changed: float, accepted: float, run: dict[str, Any],
                express: dict[str, Any], steps: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Seconds from the change to each milestone of one target, and the load's vendor calls."""
    marks: dict[str, float | None] = {"accepted": accepted, "run created": _ts(run["queued_at"]),
                                      "run started": _ts(run["start_date"]),
                                      "express queued": _ts(express["queued_when"]),
                                      "express started": _ts(express["start_date"])}
    for step in CHAIN:
        marks[f"{step} started"] = _utc(steps[step]["started_at"])
        marks[f"{step} ended"] = _utc(steps[step]["finished_at"])
    load_start, load_end = marks["load started"], marks["load ended"]
    assert load_start is not None and load_end is not None
    calls = live.sims.traffic[sim].calls(load_start, load_end)
    tokens = [c for c in calls if "token" in c.path.lower()]
    writes = [c for c in calls if c.label == write]
    assert calls and writes, [c.label for c in calls]
    marks["hook ready"] = calls[0].arrived
    marks["write done"] = writes[0].answered
    tribe_tokens = [c for c in live.sims.traffic["tribe"].calls(changed, marks["run started"] or changed)
                    if "token" in c.path.lower()]
    return {"marks": {k: round(v - changed, 3) if v is not None else None for k, v in marks.items()},
            "load_calls": [f"{c.label} {c.status} +{c.arrived - load_start:.3f}s {1000 * (c.answered - c.arrived):.0f}ms"
                           for c in calls],
            # A token request in the load task (client credentials): its share of the time to the write.
            "load_token_s": round(sum(c.answered - c.arrived for c in tokens), 3),
            "load_token_calls": len(tokens), "tribe_tokens_before_run": len(tribe_tokens)}


STAGES = ("accepted", "run created", "run started", "express queued", "express started",
          *(f"{step} {label}" for step in CHAIN for label in ("started", "ended") if (step, label) != ("load", "ended")),
          "hook ready", "write done")


def _breakdown(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per stage (milestone before → milestone): median and p95 per target, and the total."""
    rows = []
    previous = "change"
    for stage in (*STAGES, "total"):
        row: dict[str, Any] = {"stage": f"{previous} → {stage}" if stage != "total" else "change → write done"}
        for target in TARGETS:
            values = []
            for e in events:
                marks = e[target]["marks"]
                if stage == "total":
                    values.append(marks["write done"])
                else:
                    start = 0.0 if previous == "change" else marks[previous]
                    values.append(marks[stage] - start)
            row[target] = {"median_s": round(statistics.median(values), 3), "p95_s": _p95(values)}
        rows.append(row)
        previous = stage if stage != "total" else previous
    for target in TARGETS:  # the token requests inside the load task
        values = [e[target]["load_token_s"] for e in events]
        rows[-1].setdefault("load_token_s", {})[target] = {"median_s": round(statistics.median(values), 3),
                                                           "p95_s": _p95(values)}
    return rows


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))], 3)


def _table(rows: list[dict[str, Any]], stack: dict[str, Any]) -> str:
    head = f"{'stage':<34}" + "".join(f"{t + ' median':>18}{'p95':>8}" for t in TARGETS)
    lines = [f"webhook latency by stage (s; load average {stack['load_average']})", head, "-" * len(head)]
    for row in rows:
        lines.append(f"{row['stage']:<34}" + "".join(f"{row[t]['median_s']:>18.3f}{row[t]['p95_s']:>8.3f}"
                                                      for t in TARGETS))
    tokens = rows[-1]["load_token_s"]
    lines.append(f"{'  of which token requests in load':<34}" + "".join(
        f"{tokens[t]['median_s']:>18.3f}{tokens[t]['p95_s']:>8.3f}" for t in TARGETS))
    return "\n".join(lines)


def _webhook_report(live: Any) -> str:
    lines = ["webhook deliveries:", *(f"  {d}" for d in live.sims.tribe.webhooks.deliveries())]
    for dag, _, _ in TARGETS.values():
        for run in live.airflow.api.runs(dag):
            lines.append(live.airflow.api.run_report(dag, run["dag_run_id"]))
    return "\n".join(lines) + "\n" + live.airflow.diagnostics()
