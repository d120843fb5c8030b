"""Start a DAG run the way Airflow's own REST API does: ``trigger_dag`` on the metadata DB.

The receiver runs inside Airflow's API server, which has the metadata database, so there is
no HTTP hop and no API token to manage. ``StartRun`` is the seam a caller may swap.

A run whose conf names ``streams`` (a webhook run of the relations export: the streams its
event concerns) has every other stream's tasks marked skipped in the same transaction that
creates it, before the scheduler sees it — as a person would mark them in the UI. Each would
otherwise be a task (a process, a DAG parse) only to skip itself: on a worker with a few
slots they queued in front of the one stream that matters. The operators still check the
event themselves (``ExtractOperator``), so a run started elsewhere reads the same streams.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

__all__ = ["RunAlreadyExists", "StartRun", "run_id_for", "skip_other_streams", "trigger_dag_run"]

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
    from airflow.utils.session import create_session
    from airflow.utils.types import DagRunTriggeredByType

    try:
        with create_session() as session:
            run = trigger_dag(dag_id, run_id=run_id, conf=conf, session=session,
                              triggered_by=DagRunTriggeredByType.REST_API,  # an HTTP call to the API server
                              triggering_user_name=user)
            started = run.run_id if run is not None else run_id
            if isinstance(conf.get("streams"), list):
                skip_other_streams(session, dag_id, started, conf["streams"])
    except DagRunAlreadyExists as exc:
        raise RunAlreadyExists(f"{dag_id} already has run {run_id}") from exc
    return started


def skip_other_streams(session: Any, dag_id: str, run_id: str, streams: list[str]) -> list[str]:
    """Mark skipped every not yet scheduled task of a stream group (a top-level group with an
    ``extract`` task: ``dag_factory.stream_group``) that is not in ``streams`` and does not come
    after one of them; returns their task ids. A group that comes after one (contacts after
    their organisations) is left to the scheduler: it skips itself once they are done, so the
    summary, after the last groups, still reports the run when it is over."""
    from airflow.models.dagbag import DBDagBag
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select, update

    dag = DBDagBag().get_latest_version_of_dag(dag_id, session=session)
    task_ids = session.scalars(select(TaskInstance.task_id).where(
        TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id, TaskInstance.map_index == -1,
        TaskInstance.state.is_(None))).all()
    if dag is None:
        return []
    groups = {t.split(".", 1)[0] for t in task_ids if t.count(".") == 1 and t.endswith(".extract")}
    read = set(streams)

    def after_one_read(group: str) -> bool:
        before = dag.get_task(f"{group}.extract").get_flat_relative_ids(upstream=True)
        return any(t.split(".", 1)[0] in read for t in before)

    idle = {g for g in groups - read if not after_one_read(g)}
    skipped = sorted(t for t in task_ids if t.split(".", 1)[0] in idle)
    if skipped:
        now = datetime.now(UTC)
        session.execute(update(TaskInstance).where(
            TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id, TaskInstance.map_index == -1,
            TaskInstance.task_id.in_(skipped), TaskInstance.state.is_(None),
        ).values(state=TaskInstanceState.SKIPPED, start_date=now, end_date=now, duration=0),
            execution_options={"synchronize_session": False})
    return skipped
