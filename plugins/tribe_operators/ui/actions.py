"""The tribe-sync page's actions on a quarantined record.

* **Retry now** on an invoice clears that invoice's failed task in the run that failed it (the
  REST API's ``clearTaskInstances``, in-process: this runs in the API server), so the scheduler
  runs that one task again and the run turns green once the invoice is exported — a fixed run
  looks fixed. When that cannot be done (the run is gone, its task is not failed, the invoice was
  in no task of it) it starts a new run, as for a stream's record: a run of the DAG that
  quarantined it (a manual run: it reads up to now), with the record named in its conf —
  ``retry_records`` for a stream (its extract reads that record first, by id), ``invoice_ids``
  for an invoice —, so it is tried at once, not at the next schedule. The answer says which
  (``how``). Nothing is run here in the API server: the scheduler runs it like any task.
* **Dismiss** stops its retries (it is closed, ``dismissed_by`` the user); changed at the source
  and still bad, it comes back.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tribe_operators.store.quarantine import Quarantine
from tribe_operators.ui.data import run_dag
from tribe_operators.webhooks.trigger import StartRun, trigger_dag_run

__all__ = ["CLEARED", "NEW_RUN", "ActionRefused", "clear_failed_invoice", "dismiss", "retry", "retry_conf",
           "start_as"]

CLEARED, NEW_RUN = "cleared in its run", "new run"
EXPORT_TASK, FIND_TASK = "export_invoice", "find_sent_invoices"  # dag_factory.invoice_export_tasks
# (dag_id, run_id, tribe invoice id) → (map index cleared, None) or (None, why it was not)
ClearInRun = Callable[[str, str, str], tuple[int | None, str | None]]


class ActionRefused(ValueError):
    """The action cannot be done (the message says why; the page shows it)."""


def retry_conf(row: dict[str, Any]) -> dict[str, Any]:
    """The conf that makes a run try this quarantined record first."""
    if row["stream"] == "invoices":
        return {"invoice_ids": [row["record_id"]], "retry_of": "quarantine"}
    return {"retry_records": {row["stream"]: [row["record_id"]]}, "retry_of": "quarantine"}


def retry(engine: sa.Engine, row: dict[str, Any], user: Any, *, start_run: StartRun | None = None,
          clear_in_run: ClearInRun | None = None) -> dict[str, Any]:
    """Retry ``row`` (an open quarantine row); returns ``{dag_id, run_id, how}`` (``how``: "cleared in
    its run" or "new run"; a new run for an invoice also says ``why`` its own run could not be).

    ``user`` is the user's name, or Airflow's user object: then clearing also needs the user's
    permission to edit task instances of the DAG (as ``clearTaskInstances`` does), else a new run.
    """
    if row["resolved_at"] is not None:
        raise ActionRefused(f"{row['stream']} {row['record_id']} is not in quarantine any more")
    dag_id = run_dag(engine, row["run_id"])
    if dag_id is None:
        raise ActionRefused(f"no run of {row['stream']} {row['record_id']} is on record: the DAG to retry it in is "
                            "unknown")
    name = user if isinstance(user, str) else user.get_name()
    why = None
    if row["stream"] == "invoices":
        if isinstance(user, str) or _may_clear(user, dag_id):
            index, why = (clear_in_run or clear_failed_invoice)(dag_id, row["run_id"], row["record_id"])
            if index is not None:
                return {"dag_id": dag_id, "run_id": row["run_id"], "how": CLEARED, "map_index": index}
        else:
            why = f"{name} may not clear task instances of {dag_id}"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    run_id = f"retry__{row['stream']}__{row['record_id']}__{stamp}"[:250]
    started = (start_run or start_as(name))(dag_id, run_id, retry_conf(row))
    return {"dag_id": dag_id, "run_id": started, "how": NEW_RUN, **({"why": why} if why else {})}


def start_as(user: str) -> StartRun:
    """Start runs as ``user`` (their name is the run's triggering user)."""
    return lambda dag_id, run_id, conf: trigger_dag_run(dag_id, run_id, conf, user=user)


def _may_clear(user: Any, dag_id: str) -> bool:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    return get_auth_manager().is_authorized_dag(method="PUT", access_entity=DagAccessEntity.TASK_INSTANCE,
                                                details=DagDetails(id=dag_id), user=user)


def clear_failed_invoice(dag_id: str, run_id: str, tribe_id: str) -> tuple[int | None, str | None]:
    """Clear the failed export task of ``tribe_id`` in ``run_id`` as ``POST …/clearTaskInstances``
    with ``task_ids: [["export_invoice", i]], only_failed, dag_run_id`` does (the run is queued
    again); its summary too, once finished, so that it reports the invoice again. Returns the map
    index cleared, or None and why not.

    The map index is the invoice's place in the find step's list (its XCom), which the mapped
    tasks were expanded from.
    """
    # Airflow-core imports: only the API server (where this runs) has the metadata database.
    from airflow.models.dagbag import DBDagBag
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance, clear_task_instances
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState

    with create_session() as session:
        dag_run = session.scalar(sa.select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
        if dag_run is None:
            return None, f"run {run_id} of {dag_id} is gone"
        found = session.scalars(XComModel.get_many(run_id=run_id, key="return_value", task_ids=FIND_TASK,
                                                   dag_ids=dag_id)).first()
        invoices = XComModel.deserialize_value(found) if found is not None else None
        ids = [i.get("tribe_id") if isinstance(i, dict) else None for i in invoices or []]
        if tribe_id not in ids:
            return None, f"the invoice was in no {EXPORT_TASK} task of {run_id}"
        index = ids.index(tribe_id)
        tis = {ti.task_id: ti for ti in session.scalars(sa.select(TaskInstance).where(
            TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id,
            ((TaskInstance.task_id == EXPORT_TASK) & (TaskInstance.map_index == index))
            | (TaskInstance.task_id == "summary")))}
        export = tis.get(EXPORT_TASK)
        if export is None or export.state != TaskInstanceState.FAILED:
            state = "missing" if export is None else export.state or "not run yet"
            return None, f"its task {EXPORT_TASK}[{index}] in {run_id} is {state}, not failed"
        dag = DBDagBag(load_op_links=False).get_dag_for_run(dag_run, session=session)
        if dag is None:
            return None, f"the DAG {dag_id} of {run_id} is not serialized"
        cleared = dag.clear(task_ids=[(EXPORT_TASK, index)], run_id=run_id, only_failed=True, dry_run=True,
                            session=session)
        summary = tis.get("summary")
        if summary is not None and summary.state in (TaskInstanceState.SUCCESS, TaskInstanceState.FAILED):
            cleared = [*cleared, summary]  # it ran already: again after the invoice, to report it
        clear_task_instances(list({ti.id: ti for ti in cleared}.values()), session, DagRunState.QUEUED)
    return index, None


def dismiss(engine: sa.Engine, row: dict[str, Any], user: str) -> int:
    """Close ``row`` as dismissed by ``user``; returns 1, or 0 when it was closed already."""
    return Quarantine(engine, row["integration"], row["scope"]).resolve(row["stream"], [row["record_id"]],
                                                                        dismissed_by=user)
