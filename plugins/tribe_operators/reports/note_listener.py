"""Airflow listener: when a sync DAG's run ends, its note says what it did
("⚠ 7 quarantined · 238 created · 24 updated"), and a run that needs a look (records quarantined
in its window, a failed invoice, a configuration fault) has the same line as its ``summary``
task's note. A configuration fault that failed a task comes first, saying what to fix ("✖ fix:
connection 'poweroffice_default': unknown extra field(s) …"), and a deprecated name a connection
still uses last ("deprecated: …"): what the tasks left for it (``tribe_operators.notices``).

Why both: Airflow 3's grid shows no note's text (its run tooltip has run id, state and duration;
the runs list has no note column) — it marks the bar of a run that has a note, and the cell of a
task instance that has one. Every run of ours has a note, so that bar mark tells nothing; the
summary cell's mark is on the runs that need a look only.

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
    from tribe_operators.reports.summary import needs_a_look, note_text, read_report
    from tribe_operators.store.engine import DEFAULT_CONN_ID, engine_for

    def text(session: Any) -> tuple[str | None, str | None]:
        failed, warned = config_notices(session, dag_run.dag_id, dag_run.run_id)
        try:
            report = read_report(engine_for(DEFAULT_CONN_ID), dag_run.run_id)
        except Exception:
            if not failed:  # the link database's own connection may be what is wrong
                raise
            log.warning("the link database could not be read for the note of %s", dag_run.run_id, exc_info=True)
            note, look = None, False
        else:
            note, look = note_text(report), needs_a_look(report)
        note = with_config(note, failed, warned)
        return note, note if note is not None and (look or failed) else None

    if (session := _session_of(dag_run)) is not None:
        current = dag_run.dag_run_note
        if current is not None and current.user_id is not None:
            return None
        note, flag = text(session)
        if note is not None:
            dag_run.note = note
            _flag_summary(session, dag_run, flag)
        return note
    from airflow.models.dagrun import DagRunNote
    from airflow.utils.session import create_session

    with create_session() as session:
        current = session.get(DagRunNote, dag_run.id)
        if current is not None and current.user_id is not None:
            return None
        note, flag = text(session)
        if note is None:
            return None
        if current is None:
            current = DagRunNote(content=note)
            current.dag_run_id = dag_run.id
            session.add(current)
        current.content = note
        _flag_summary(session, dag_run, flag)
    return note


def config_notices(session: Any, dag_id: str, run_id: str) -> tuple[list[str], list[str]]:
    """What the run's tasks left about the configuration (``tribe_operators.notices``): the faults
    that failed them ("what to fix", with the tasks that met it) and the deprecated names they
    still accepted — each once, however many tasks met it."""
    import sqlalchemy as sa
    from airflow.models.xcom import XComModel

    from tribe_operators.notices import FAILED_KEY, WARNINGS_KEY

    rows = session.execute(sa.select(XComModel.task_id, XComModel.map_index, XComModel.key, XComModel.value).where(
        XComModel.dag_id == dag_id, XComModel.run_id == run_id, XComModel.key.in_((FAILED_KEY, WARNINGS_KEY)))
        .order_by(XComModel.timestamp)).all()
    failed: dict[str, list[str]] = {}
    warned: list[str] = []
    for row in rows:
        value = XComModel.deserialize_value(row)
        if row.key == FAILED_KEY:
            task = row.task_id if row.map_index < 0 else f"{row.task_id}[{row.map_index}]"
            failed.setdefault(str(value), []).append(task)
        else:
            warned.extend(str(w) for w in (value if isinstance(value, list) else [value]) if str(w) not in warned)
    return [f"{what} ({', '.join(_few(tasks))})" for what, tasks in failed.items()], warned


def _few(tasks: list[str], shown: int = 3) -> list[str]:
    return tasks if len(tasks) <= shown else [*tasks[:shown], f"{len(tasks) - shown} more"]


def with_config(note: str | None, failed: list[str], warned: list[str]) -> str | None:
    """``note`` with what to fix first ("✖ fix: …": no retry can) and the deprecations last."""
    from tribe_operators.reports.summary import NOTE_LIMIT

    if not failed and not warned:
        return note
    parts = [f"✖ fix: {what}" for what in failed] + ([note] if note else []) + \
            [f"deprecated: {what}" for what in warned]
    return " · ".join(parts)[:NOTE_LIMIT]


def _flag_summary(session: Any, dag_run: Any, flag: str | None) -> None:
    """The ``summary`` task instance's note: ``flag`` (the ⚠ line), or none once the run is fixed
    (cleared and run again). A person's note there is kept."""
    import sqlalchemy as sa
    from airflow.models.taskinstance import TaskInstance, TaskInstanceNote

    ti_id = session.scalar(sa.select(TaskInstance.id).where(
        TaskInstance.dag_id == dag_run.dag_id, TaskInstance.run_id == dag_run.run_id,
        TaskInstance.task_id == "summary", TaskInstance.map_index == -1))
    if ti_id is None:
        return
    current = session.get(TaskInstanceNote, ti_id)
    if current is not None and current.user_id is not None:
        return
    if flag is None:
        if current is not None:
            session.delete(current)
        return
    if current is None:
        current = TaskInstanceNote(content=flag)
        current.ti_id = ti_id
        session.add(current)
    current.content = flag


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
