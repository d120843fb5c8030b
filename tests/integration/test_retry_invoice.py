"""Fixed means green: Retry now on a failed invoice clears its task in the run that failed it, so
that run turns green once the invoice is exported — exported once, by that run. The tasks run
in this process (``dag.test()``, then the cleared run resumed the way the scheduler would), the
page's action goes through Airflow's own API app with a real token (``test_ui_page``)."""
from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from tests.fixtures.records import orders_for, ref, sent_invoice
from tests.integration.test_invoice_export_dag import dags, run, run_note, sent, world  # noqa: F401 - fixtures
from tests.integration.test_ui_page import airflow_app, token  # noqa: F401 - the fixture
from tribe_operators.store.ledger import ExportLedger
from tribe_operators.store.quarantine import Quarantine

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
DAG_ID = "tribe_invoices_to_poweroffice"


def exports(dagrun):
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = session.scalars(sa.select(TaskInstance).where(TaskInstance.dag_id == DAG_ID,
                                                            TaskInstance.run_id == dagrun.run_id,
                                                            TaskInstance.task_id == "export_invoice"))
        return {ti.map_index: (getattr(ti.state, "value", ti.state), ti.try_number) for ti in tis}


def summary_note(run_id):
    """The summary task instance's note: the grid marks the cell of a task instance that has one."""
    from airflow.models.taskinstance import TaskInstance, TaskInstanceNote
    from airflow.utils.session import create_session

    with create_session() as session:
        ti_id = session.scalar(sa.select(TaskInstance.id).where(
            TaskInstance.dag_id == DAG_ID, TaskInstance.run_id == run_id, TaskInstance.task_id == "summary"))
        note = session.get(TaskInstanceNote, ti_id)
        return note.content if note else None


def resume(dag, run_id):
    """Run a cleared (queued) run on, as the scheduler would: ``dag.test()``'s loop on that run
    (``dag.test()`` itself always starts a new one)."""
    from airflow import settings
    from airflow.models.dagbag import DBDagBag
    from airflow.models.dagrun import DagRun
    from airflow.sdk.definitions.dag import _run_task
    from airflow.utils.state import DagRunState, TaskInstanceState

    session = settings.Session()
    try:
        dagrun = session.scalar(sa.select(DagRun).where(DagRun.dag_id == DAG_ID, DagRun.run_id == run_id))
        assert dagrun.state == DagRunState.QUEUED, dagrun.state  # cleared: back in the queue
        dagrun.dag = DBDagBag().get_dag_for_run(dagrun, session=session)
        dagrun.state = DagRunState.RUNNING
        session.commit()
        for _ in range(20):
            if dagrun.state != DagRunState.RUNNING:
                break
            session.expire_all()
            schedulable, _ = dagrun.update_state(session=session)
            for ti in schedulable:
                ti.try_number += 1
                ti.state = TaskInstanceState.SCHEDULED
            session.commit()
            for ti in [t for t in dagrun.get_task_instances(session=session) if t.state == TaskInstanceState.SCHEDULED]:
                _run_task(ti=ti, task=dag.task_dict[ti.task_id])
        return dagrun
    finally:
        session.close()


def test_retry_now_on_a_failed_invoice_clears_it_in_its_run_which_turns_green(
        airflow_app, sims, world, link_db, caplog, capfd):  # noqa: F811 - fixtures
    good = sent(sims, world)
    unknown = sims.tribe.insert("Product", {"Name": "Workshop", "Code": "NOT-IN-PO", "SalesPrice": 9500.0})
    bad = sent_invoice(sims.tribe, world["relationship"], [{
        "Product": {"ID": unknown["ID"]}, "Quantity": 1, "Price": 9500.0,
        "Unit": {"ID": ref(sims.tribe, "Datastore_Unit", "PCS")},
        "VatGroup": {"ID": ref(sims.tribe, "Datastore_VatGroup", "NO25")}}])
    caplog.set_level(logging.INFO)
    dag = world["invoice_dag"]
    first = run(dag)
    assert str(first.state).endswith("failed")
    before = exports(first)
    (index,) = [i for i, (state, _) in before.items() if state == "failed"]
    # The reason on one line of its own, then one traceback (not the reason inside two).
    headline = next(r for r in caplog.records if "NOT exported" in r.getMessage() and r.exc_info is None)
    assert headline.getMessage().startswith(f"invoice {bad['Number']} NOT exported: ")
    assert "NOT-IN-PO" in headline.getMessage() and "\n" not in headline.getMessage()
    printed = "".join(capfd.readouterr())  # the task logs, as dag.test() prints them
    assert printed.count("Traceback (most recent call last)") == 1 and "direct cause" not in printed
    assert f"AirflowFailException: invoice {bad['Number']} NOT exported: " in printed
    assert run_note(first).startswith("⚠ 1 quarantined · 1 failed") and summary_note(first.run_id) == run_note(first)

    # Fixed at the source (the product made in PowerOffice); Retry now on the page.
    sims.po.insert_product(Name="Workshop", Code="NOT-IN-PO", UnitPrice=9500.0, UnitOfMeasureCode="HUR")
    (row,) = Quarantine(link_db, "poweroffice").open("invoices")
    assert row["record_id"] == bad["ID"] and row["run_id"] == first.run_id
    answer = airflow_app.post(f"/tribe-sync/api/quarantine/{row['id']}/retry", json={},
                              headers=token(airflow_app, "admin"))
    assert answer.status_code == 200, answer.text
    expected = {"status": "started", "dag_id": DAG_ID, "run_id": first.run_id, "how": "cleared in its run",
                "map_index": index, "record_id": bad["ID"]}
    assert {k: answer.json().get(k) for k in expected} == expected
    assert exports(first) == {**before, index: (None, before[index][1])}  # cleared; the others untouched

    after = resume(dag, first.run_id)
    assert str(after.state).endswith("success")  # the same run, green now
    assert exports(first) == {**before, index: ("success", before[index][1] + 1)}  # only it ran again
    assert len(orders_for(sims.po, bad["ID"])) == 1 and len(orders_for(sims.po, good["ID"])) == 1  # once each
    assert ExportLedger(link_db, "poweroffice").get(bad["ID"]).state == "created"
    assert Quarantine(link_db, "poweroffice").open("invoices") == []
    # Its note and its summary say so; the grid's mark on the summary is gone.
    assert run_note(after) == "2 draft" and summary_note(first.run_id) is None

    # Again: its task is not failed any more (and the row is closed): nothing is cleared.
    from tribe_operators.ui.actions import clear_failed_invoice

    assert clear_failed_invoice(DAG_ID, first.run_id, bad["ID"])[0] is None


def test_retry_now_starts_a_new_run_when_the_invoice_was_in_no_task_of_its_run(
        airflow_app, sims, world, link_db):  # noqa: F811 - fixtures
    """The run that quarantined it is gone (or never had a task for it): a new run exports it,
    and the answer says so and why."""
    Quarantine(link_db, "poweroffice").add([{"record_id": "inv-gone", "field": None, "reason": "refused"}],
                                           system="poweroffice", stream="invoices", run_id="manual__gone")
    from tribe_operators.store.outcomes import record_outcome

    record_outcome(link_db, run_id="manual__gone", dag_id=DAG_ID, integration="poweroffice", scope="default",
                   tribe_id="inv-gone", status="failed", number="1", reason="refused")
    (row,) = Quarantine(link_db, "poweroffice").open("invoices")
    answer = airflow_app.post(f"/tribe-sync/api/quarantine/{row['id']}/retry", json={},
                              headers=token(airflow_app, "admin")).json()
    assert answer["how"] == "new run" and "gone" in answer["why"] and answer["run_id"] != "manual__gone"
    from airflow.models import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        started = session.scalars(sa.select(DagRun).where(DagRun.run_id == answer["run_id"])).one()
        assert started.conf["invoice_ids"] == ["inv-gone"]
        session.delete(started)
