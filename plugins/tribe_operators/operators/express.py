"""A webhook run's streams in one task: their extract → map → dedupe → load, in the DAG's order.

A Tribe event concerns one or two streams, each a few records. As four tasks per stream, most
of the run was Airflow between tasks: a task process each (~0.3 s before the first request)
and a scheduler hop after each (0.3–0.7 s), for steps that take tens of milliseconds. So when
the webhook receiver starts a run (``webhooks.trigger``) it marks every step task skipped in
the transaction that creates the run and sets ``conf["express"]``; this one task then runs
the steps of the streams the event concerns (``conf["streams"]``) in its own process:

* in the DAG's dependency order (a product's group before the product; each role of a party
  mapped before either decides, the customers loaded before the suppliers decide), each step
  run when its trigger rule would let it run, skipped when it would be skipped;
* each step exactly as its own task runs it (``perform``): the same staging rows, counts,
  quarantine and watermark, so the summary, the note and the tribe-sync page read the run as
  any other;
* a step that fails does not stop the steps that do not come after it; the task fails after
  them, retried by Airflow when any error may pass, at once when each is a configuration fault;
* a retry keeps the streams this run loaded (their counts stay the run's) and does every other
  one again from its read (its watermark has not moved): its load, on a try after the first,
  finds the creates an earlier try made (bound, or by their reference or key) and links them,
  as a load task's retry does. Nothing is written twice.

In any other run (scheduled, manual, backfill) the extracts run and this task is skipped by its
trigger rule (``all_skipped``) without starting a process.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from airflow.sdk.exceptions import AirflowSkipException

from tribe_operators.operators.base import TribeOperator

__all__ = ["EXPRESS_CONF", "EXPRESS_TASK", "STEPS", "ExpressOperator", "step_tasks"]

log = logging.getLogger(__name__)

EXPRESS_TASK = "express"
EXPRESS_CONF = "express"  # conf key the receiver sets: the step tasks are skipped, this task runs them
STEPS = ("extract", "map", "dedupe", "load")  # the tasks of a stream group (dag_factory.stream_group)


def step_tasks(task_ids: Iterable[str], streams: Iterable[str] | None = None) -> list[str]:
    """The step tasks of the DAG's stream groups (``<stream>.<step>``; a top-level group with an
    ``extract``), of ``streams`` only when given; sorted."""
    ids = set(task_ids)
    groups = {t.split(".", 1)[0] for t in ids if t.count(".") == 1 and t.endswith(".extract")}
    if streams is not None:
        groups &= set(streams)
    return sorted(f"{g}.{step}" for g in groups for step in STEPS if f"{g}.{step}" in ids)


class ExpressOperator(TribeOperator):
    """Runs a webhook run's concerned streams' steps in this one task (see the module).

    Args:
        integration: The accounting system of the DAG (for the log and the UI).
        **kwargs: BaseOperator's; the trigger rule is ``all_skipped`` (put it after every extract).
    """

    ui_color = "#fdf1d6"

    def __init__(self, *, integration: str, **kwargs: Any) -> None:
        super().__init__(trigger_rule="all_skipped", **kwargs)
        self.integration = integration

    def execute(self, context: Any) -> dict[str, int]:
        dag_run = context["dag_run"]
        conf = getattr(dag_run, "conf", None) or {}
        if not conf.get(EXPRESS_CONF) or not isinstance(conf.get("streams"), list):
            raise AirflowSkipException("not a webhook run: each step runs as its own task")
        tasks = step_tasks(self.dag.task_ids, conf["streams"])
        waiting = self._not_skipped(context, tasks)
        if waiting:  # not a run the receiver prepared: they run themselves
            raise AirflowSkipException(f"the step tasks {', '.join(waiting)} run themselves in this run")
        states = self._run(context, [t for t in _dag_order(self.dag) if t in set(tasks)])
        counts = {state: sum(1 for s in states.values() if s == state) for state in set(states.values())}
        log.info("express %s: %s", self.integration, counts)
        return counts

    def _not_skipped(self, context: Any, tasks: list[str]) -> list[str]:
        """Those of ``tasks`` whose task instance is not (pre-)skipped in this run."""
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

        found = RuntimeTaskInstance.get_task_states(dag_id=self.dag_id, task_ids=tasks, run_ids=[context["run_id"]])
        states = found.get(context["run_id"], {})
        return [t for t in tasks if str(getattr(states.get(t), "value", states.get(t))) != "skipped"]

    def _run(self, context: Any, order: list[str]) -> dict[str, str]:
        """Each task of ``order`` as its trigger rule allows; then the error to raise, if any."""
        chosen = set(order)
        retry = int(getattr(context["ti"], "try_number", 1) or 1) > 1
        kept = self._loaded_streams(context, order) if retry else set()
        states: dict[str, str] = {}
        errors: list[BaseException] = []
        for task_id in order:
            op = self.dag.get_task(task_id)
            if op.stream in kept:  # its counts stay this run's; its watermark has moved on
                log.info("express: %s: %s was loaded by an earlier try of this run", task_id, op.stream)
                states[task_id] = "success"
                continue
            upstream = [states.get(u, "skipped") if u in chosen else "skipped" for u in op.upstream_task_ids]
            state = _by_trigger_rule(op, upstream)
            if state is None:
                state = self._perform(op, context, errors)
            states[task_id] = state
            log.info("express: %s %s", task_id, state)
        if errors:
            raise _to_raise(errors)
        return states

    def _loaded_streams(self, context: Any, order: list[str]) -> set[str]:
        """The streams of ``order`` whose load this run recorded (an earlier try finished them)."""
        from tribe_operators.store.engine import engine_for
        from tribe_operators.store.runs import run_counts

        ops = [self.dag.get_task(t) for t in order if t.endswith(".load")]
        for op in ops:
            op.render_template_fields(context)
        wanted = {(op.integration, op.stream, op.scope): op for op in ops}
        engines = {op.db_conn_id for op in ops}
        rows = [r for conn_id in engines for r in run_counts(engine_for(conn_id), context["run_id"])]
        return {r["stream"] for r in rows if r["step"] == "load" and (r["integration"], r["stream"], r["scope"]) in wanted}

    def _perform(self, op: Any, context: Any, errors: list[BaseException]) -> str:
        """One step as its task runs it; its state (``success``, ``skipped`` or ``failed``)."""
        op.render_template_fields(context)
        try:
            counts = op.perform(context)
        except AirflowSkipException as exc:
            log.info("express: %s skipped: %s", op.task_id, exc)
            return "skipped"
        except Exception as exc:  # noqa: BLE001 - the steps that do not come after it still run
            log.exception("express: %s failed", op.task_id)
            errors.append(exc)
            return "failed"
        log.info("express: %s → %s", op.task_id, counts)
        return "success"


def _to_raise(errors: list[BaseException]) -> BaseException:
    """What the task fails with: the first error a retry may cure, so Airflow retries it (the
    streams it stopped are then done again; a configuration fault fails again there); the first
    configuration fault (no retry) only when every error is one."""
    from airflow.sdk.exceptions import AirflowNotFoundException

    from tribe_operators.exceptions import FatalError

    return next((e for e in errors if not isinstance(e, FatalError | AirflowNotFoundException)), errors[0])


def _by_trigger_rule(op: Any, upstream: list[str]) -> str | None:
    """None = run it; else the state its trigger rule gives it, from its upstream's states (a
    task outside the express is pre-skipped)."""
    rule = str(getattr(op.trigger_rule, "value", op.trigger_rule))
    failed = any(s in ("failed", "upstream_failed") for s in upstream)
    if rule == "all_success":
        return None if all(s == "success" for s in upstream) else "upstream_failed" if failed else "skipped"
    if rule == "none_failed":
        return "upstream_failed" if failed else None
    from tribe_operators.exceptions import FatalError

    raise FatalError(f"{op.task_id}: trigger rule {rule} is not one the express task runs "
                             "(all_success, none_failed)")


def _dag_order(dag: Any) -> list[str]:
    """Every task id of ``dag``, each after all it depends on (also through tasks in between),
    depth first: a stream's chain to its load before the next stream's extract, so the first
    stream's record is written without waiting for the others' reads."""
    position = {t.task_id: i for i, t in enumerate(dag.tasks)}
    order: list[str] = []
    seen: set[str] = set()

    def visit(task_id: str) -> None:
        if task_id in seen:
            return
        seen.add(task_id)
        for upstream in sorted(dag.get_task(task_id).upstream_task_ids, key=position.__getitem__):
            visit(upstream)
        order.append(task_id)

    for task_id in position:
        visit(task_id)
    return order
