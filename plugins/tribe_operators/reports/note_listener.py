"""Airflow listener: when a sync DAG's run ends, its note says what it did
("⚠ 7 quarantined · 238 created · 24 updated").

Tasks cannot write their own run's note (the Task Execution API has no such call, and tasks
have no metadata-database access), so the scheduler does it, where the run's state changes: it
sets the note on the run object it is about to commit. A note a person wrote (it has a user) is
never overwritten; ours (no user) is rewritten when a cleared run ends again. A link database
that cannot be read costs the note, never the scheduler's loop.
"""
from __future__ import annotations

import logging
from typing import Any

from airflow.listeners import hookimpl

log = logging.getLogger(__name__)


def write_note(dag_run: Any) -> str | None:
    """Set ``dag_run``'s note from the link database; returns it (None: not one of our runs,
    or a person's note is kept).

    In the scheduler the run is in the scheduler's own session, which commits the note with the
    new state (opening or committing a session there would break its locks). ``dag.test()``
    hands over a detached run: its note goes in through a session of its own.
    """
    from tribe_operators.reports.summary import note_text, read_report
    from tribe_operators.store.engine import DEFAULT_CONN_ID, engine_for

    def text() -> str | None:
        return note_text(read_report(engine_for(DEFAULT_CONN_ID), dag_run.run_id))

    if _session_of(dag_run) is not None:
        current = dag_run.dag_run_note
        if current is not None and current.user_id is not None:
            return None
        note = text()
        if note is not None:
            dag_run.note = note
        return note
    from airflow.models.dagrun import DagRunNote
    from airflow.utils.session import create_session

    with create_session() as session:
        current = session.get(DagRunNote, dag_run.id)
        if current is not None and current.user_id is not None:
            return None
        note = text()
        if note is None:
            return None
        if current is None:
            current = DagRunNote(content=note)
            current.dag_run_id = dag_run.id
            session.add(current)
        current.content = note
    return note


def _session_of(dag_run: Any) -> Any:
    import sqlalchemy as sa

    return sa.inspect(dag_run).session


def _safely(dag_run: Any) -> None:
    try:
        if "tribe-sync" in _tags(dag_run):
            write_note(dag_run)
    except Exception:  # noqa: BLE001 - a note is never worth a scheduler error
        log.warning("could not write the note of a %s run", vars(dag_run).get("dag_id", "?"), exc_info=True)


def _tags(dag_run: Any) -> set[str]:
    """The run's DAG's tags, read in the run's own session (or, detached, a session of ours)."""
    if _session_of(dag_run) is not None:
        return {t.name for t in (dag_run.dag_model.tags if dag_run.dag_model else [])}
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        model = session.get(DagModel, dag_run.dag_id)
        return {t.name for t in (model.tags if model else [])}


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    _safely(dag_run)


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    _safely(dag_run)
