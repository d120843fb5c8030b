"""Start a DAG run the way Airflow's own REST API does: ``trigger_dag`` on the metadata DB.

The receiver runs inside Airflow's API server, which has the metadata database, so there is
no HTTP hop and no API token to manage. ``StartRun`` is the seam a caller may swap.

A run whose conf names ``streams`` (a webhook run of the relations export: the streams its
event concerns) of a DAG with an ``express`` task (``operators.express``) has every step task
marked skipped in the same transaction that creates it, before the scheduler sees it, and
``conf["express"]`` set: that one task runs the concerned streams' steps in its own process.
Four tasks per stream (a process each, a scheduler hop between) were most of a webhook's
latency, for steps that take milliseconds.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

__all__ = ["RunAlreadyExists", "StartRun", "run_id_for", "skip_step_tasks", "trigger_dag_run"]

# (dag_id, run_id, conf) → the run id started; raises RunAlreadyExists.
StartRun = Callable[[str, str, dict[str, Any]], str]


class RunAlreadyExists(RuntimeError):
    """A run with this id exists: the event was handled before (→ duplicate)."""


def run_id_for(event_id: str) -> str:
    """One event, one run id: a redelivery can never start a second run, even if the
    replay table were lost, because Airflow refuses a second run with the same id."""
    return f"webhook__{event_id}"


def trigger_dag_run(dag_id: str, run_id: str, conf: dict[str, Any], *, user: str = "tribe-webhook") -> str:
    """Create a queued run of ``dag_id``; the scheduler picks it up like any manual run.

    Raises:
        RunAlreadyExists: ``run_id`` exists for ``dag_id``.
        airflow.exceptions.DagNotFound: The DAG is not (yet) in the metadata DB.
    """
    # Airflow-core imports: only the API server (where this runs) needs them.
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.exceptions import DagRunAlreadyExists
    from airflow.models.dagbag import DBDagBag
    from airflow.utils.session import create_session
    from airflow.utils.types import DagRunTriggeredByType

    from tribe_operators.operators.express import EXPRESS_CONF, EXPRESS_TASK

    try:
        with create_session() as session:
            # A relations run (its conf names the streams) of a DAG with an express task.
            dag = DBDagBag().get_latest_version_of_dag(dag_id, session=session) \
                if isinstance(conf.get("streams"), list) else None
            express = dag is not None and EXPRESS_TASK in dag.task_dict
            if express:
                conf = {**conf, EXPRESS_CONF: True}
            run = trigger_dag(dag_id, run_id=run_id, conf=conf, session=session,
                              triggered_by=DagRunTriggeredByType.REST_API,  # an HTTP call to the API server
                              triggering_user_name=user)
            started = run.run_id if run is not None else run_id
            if express:
                skip_step_tasks(session, dag, started)
    except DagRunAlreadyExists as exc:
        raise RunAlreadyExists(f"{dag_id} already has run {run_id}") from exc
    return started


def skip_step_tasks(session: Any, dag: Any, run_id: str) -> list[str]:
    """Mark skipped every not yet scheduled step task (``<stream>.extract`` … ``.load``) of the
    new run ``run_id`` of the (serialized) ``dag``; returns their task ids. Its ``express`` task
    then runs those the event concerns; the summary reports the run once it is done."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import update

    from tribe_operators.operators.express import step_tasks

    skipped = step_tasks(dag.task_dict)
    if skipped:
        now = datetime.now(UTC)
        session.execute(update(TaskInstance).where(
            TaskInstance.dag_id == dag.dag_id, TaskInstance.run_id == run_id, TaskInstance.map_index == -1,
            TaskInstance.task_id.in_(skipped), TaskInstance.state.is_(None),
        ).values(state=TaskInstanceState.SKIPPED, start_date=now, end_date=now, duration=0),
            execution_options={"synchronize_session": False})
    return skipped
