"""Unpausing the PowerOffice import DAG on a running Airflow starts a *scheduled* run at once,
and that run brings PowerOffice's records into Tribe and binds them in the link database.

``poweroffice_to_tribe`` runs on ``CronDataIntervalTimetable("*/15 * * * *")`` with
``catchup=False``. For such a DAG Airflow 3.3 schedules the *latest complete* interval, not the
one in progress (``CronDataIntervalTimetable._skip_to_latest``: at 10:07 that is 09:45–10:00,
due at 10:00): the dag-processor stores it as the DAG's next run when it parses the file, and
the scheduler creates it as soon as the DAG is unpaused — no clock to fake, no 15 minutes to
wait. The test checks that premise on the live API first (``next_dagrun_*`` of the DAG).

The stack's scheduler normally creates no runs from timetables (``use_job_schedule=False``, so
no other test gets a run it did not ask for); this test restarts it with timetables on and
back off afterwards (``LiveAirflow.timetables_on``), and pauses the DAG again before that.

The run has no watermark yet, so it is the initial import: everything changed up to the end of
its data interval. PowerOffice records are stamped hours ago, inside the interval, and *after*
its end (left for the next run).
"""
from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.live.airflow_api import TERMINAL_RUN_STATES
from tests.live.harness import wait_until

pytestmark = [pytest.mark.live, pytest.mark.postgres, pytest.mark.timeout(420)]

DAG_ID = "poweroffice_to_tribe"
INTERVAL = timedelta(minutes=15)


def _ts(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _floor(moment: datetime) -> datetime:
    """The last 15-minute boundary at or before ``moment``."""
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


@contextlib.contextmanager
def only_this_dag_unpaused(api: Any, dag_id: str) -> Iterator[None]:
    """Pause every other unpaused DAG for the block; unpause them again after it."""
    others = [d["dag_id"] for d in api.get("dags", paused=False, limit=100)["dags"] if d["dag_id"] != dag_id]
    for other in others:
        api.set_paused(other, True)
    try:
        yield
    finally:
        for other in others:
            api.set_paused(other, False)


def seed(po: Any, stamps: dict[str, datetime]) -> dict[str, dict[str, Any]]:
    """A customer and a supplier per label, each with ``LastChangedDateTimeOffset`` = its stamp."""
    from sandbox.poweroffice.seed import valid_orgnr

    rng = random.Random(15)
    planted = {}
    for index, (label, stamp) in enumerate(stamps.items()):
        address = {"AddressLine1": f"Kirkegata {index + 1}", "ZipCode": "0153", "City": "Oslo", "CountryCode": "NO"}
        slug = label.replace("_", "-")  # a mail domain has no underscores (the import quarantines it)
        planted[label] = {
            "customer": po.insert_customer(Name=f"Plan {label} Kunde AS", OrganizationNumber=valid_orgnr(rng),
                                           EmailAddress=f"post@{slug}-kunde.no", MailAddress=address,
                                           LastChangedDateTimeOffset=stamp),
            "supplier": po.insert_supplier(Name=f"Plan {label} Leverandør AS", OrganizationNumber=valid_orgnr(rng),
                                           EmailAddress=f"post@{slug}-leverandor.no", MailAddress=address,
                                           LastChangedDateTimeOffset=stamp),
        }
    return planted


def test_unpausing_the_import_dag_starts_a_scheduled_run_that_imports_into_tribe(live):
    api, po, tribe = live.airflow.api, live.sims.po, live.sims.tribe
    seeded_at = datetime.now(UTC)
    stamps = {"hours_ago": seeded_at - timedelta(hours=3),
              "last_interval": _floor(seeded_at) - timedelta(minutes=1),
              "just_now": seeded_at - timedelta(seconds=1)}  # after the latest complete interval
    planted = seed(po, stamps)

    # The premise, on the live API: paused, no catch-up, and the next run is already due.
    api.wait_for_dags([DAG_ID])
    details = api.get(f"dags/{DAG_ID}/details")
    assert details["is_paused"] and details["catchup"] is False, details
    # What the DAG list shows: the schedule in words with its timezone, the cron in the tooltip.
    assert details["timetable_summary"] == "Every 15 minutes, UTC", details["timetable_summary"]
    assert "cron */15 * * * *" in details["timetable_description"], details["timetable_description"]
    start, end = _ts(details["next_dagrun_data_interval_start"]), _ts(details["next_dagrun_data_interval_end"])
    assert start is not None and end is not None and end - start == INTERVAL, details
    assert _ts(details["next_dagrun_run_after"]) == end <= datetime.now(UTC), details
    assert api.runs(DAG_ID) == []

    # Earlier tests may have left their DAGs unpaused (harmless while timetables are off): paused
    # while the scheduler creates runs from timetables, so only this DAG gets one.
    with only_this_dag_unpaused(api, DAG_ID), live.airflow.timetables_on():
        unpaused_at = datetime.now(UTC)
        latest = _floor(unpaused_at)  # the end of the latest complete interval at unpause
        api.set_paused(DAG_ID, False)
        try:
            # One scheduled run, or two when a 15-minute boundary passed since the file was last
            # parsed (the stored next run is then one interval behind; the one after it is due
            # too). Wait for the one ending at `latest`, and for every scheduled run to finish.
            def settled() -> list[dict[str, Any]] | None:
                runs = api.runs(DAG_ID, run_type="scheduled")
                done = all(r["state"] in TERMINAL_RUN_STATES for r in runs)
                return runs if done and any(_ts(r["data_interval_end"]) >= latest for r in runs) else None

            runs = wait_until(settled, timeout=240, interval=1.0, what=f"a scheduled {DAG_ID} run to finish",
                              diagnostics=lambda: "\n".join(api.run_report(DAG_ID, r["dag_run_id"])
                                                             for r in api.runs(DAG_ID)) + live.airflow.diagnostics())
        finally:
            api.set_paused(DAG_ID, True)
        # A run the scheduler created in the moment before the pause would finish in the
        # background; wait for it rather than leave it to the next test.
        leftover = [r for r in api.runs(DAG_ID) if r["state"] not in TERMINAL_RUN_STATES]
        for run in leftover:
            if run["state"] == "queued":  # a paused DAG's queued run never starts
                api.request("DELETE", f"dags/{DAG_ID}/dagRuns/{run['dag_run_id']}")
            else:
                api.wait_for_run(DAG_ID, run["dag_run_id"], timeout=180)
        assert api.dag(DAG_ID)["is_paused"]

    assert api.runs(DAG_ID, run_type="manual") == [] and api.runs(DAG_ID, run_type="backfill") == []
    scheduled_anywhere = api.get("dags/~/dagRuns", run_type="scheduled", limit=100)["dag_runs"]
    assert {r["dag_id"] for r in scheduled_anywhere} == {DAG_ID}, [(r["dag_id"], r["dag_run_id"]) for r in scheduled_anywhere]
    runs = [r for r in runs if r["run_type"] == "scheduled"]
    assert 1 <= len(runs) <= 2, runs
    for run in runs:
        api.require_success(DAG_ID, run)  # the run and every task instance in it
        interval_start, interval_end = _ts(run["data_interval_start"]), _ts(run["data_interval_end"])
        assert interval_end - interval_start == INTERVAL and interval_end == _floor(interval_end), run
        assert _ts(run["logical_date"]) == interval_start and interval_end <= _ts(run["start_date"]), run
    assert _ts(runs[-1]["data_interval_end"]) == latest, [r["data_interval_end"] for r in runs]
    first = runs[0]
    # The first run read the initial import's window, up to its data interval's end.
    windows = {(row["stream"], row["window_start"], row["window_end"])
               for row in live.link.rows("sync_run") if row["step"] == "extract" and row["run_id"] == first["dag_run_id"]}
    assert windows and {(ws, we) for _, ws, we in windows} == {(None, _ts(first["data_interval_end"]))}, windows

    # Tribe holds exactly the records changed up to the last run's interval end; the link
    # database binds each to its PowerOffice ID.
    cutoff = max(_ts(r["data_interval_end"]) for r in runs)
    expected = {label for label, stamp in stamps.items() if stamp <= cutoff}
    # "just_now" is left for the next run (unless a 15-minute boundary passed between seeding
    # and unpausing: then the interval ending at that boundary takes it, and so must the run).
    assert {"hours_ago", "last_interval"} <= expected
    orgs = {o["ImportId"]: o for o in tribe.all("Relation_Organization") if o.get("ImportId")}
    counts = [(row["run_id"], row["stream"], row["step"], row["counts"]) for row in live.link.rows("sync_run")]
    links = {(row["entity"], row["external_id"]): row["tribe_id"] for row in live.link.rows("id_link")
             if row["integration"] == "poweroffice"}
    for label, records in planted.items():
        for kind, record in records.items():
            org = orgs.get(f"poweroffice:{record['Id']}")
            if label in expected:
                assert org is not None and org["Name"] == record["Name"], (label, kind, sorted(orgs), counts)
                assert links.get((kind, str(record["Id"]))) == org["ID"], (label, kind, links)
            else:
                assert org is None and (kind, str(record["Id"])) not in links, (label, kind)
    assert live.link.rows("quarantine") == []
