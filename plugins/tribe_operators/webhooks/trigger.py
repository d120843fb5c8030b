"""Start a DAG run the way Airflow's own REST API does: ``trigger_dag`` on the metadata DB.

The receiver runs inside Airflow's API server, which has the metadata database, so there is
no HTTP hop and no API token to manage. ``StartRun`` is the seam a caller may swap.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["RunAlreadyExists", "StartRun", "run_id_for", "trigger_dag_run"]

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
    except DagRunAlreadyExists as exc:
        raise RunAlreadyExists(f"{dag_id} already has run {run_id}") from exc
    return started
