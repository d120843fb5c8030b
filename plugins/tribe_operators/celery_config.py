"""Celery configuration for the workers: Airflow's own, plus the package imported once per
worker process instead of once per task.

On the CeleryExecutor every task is a process forked from a worker's pool process, and it
imports what its DAG file and its operator need: the DAG factory, mapping, the sync steps,
HTTP clients, each system's hook (about 0.6 s of CPU on an idle core, 1.5–3 s on a busy one).
A webhook run's write waits for four such tasks one after the other. Imported in the pool
process before any task, those modules are in every fork already, so a task starts at its
DAG file's own lines. Only modules are imported: no connection, engine, token or mapping is
read, so nothing read at start-up can be stale in a task (a changed mapping or settings file
is read by the next task, as before); new code takes a worker restart, as a new release does.

Set ``AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS=tribe_operators.celery_config.CELERY_CONFIG``
on the workers (and the scheduler: they must agree on the broker settings, which are
Airflow's defaults here).
"""
from __future__ import annotations

import importlib
import logging
import time
from typing import Any

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
from celery.signals import worker_process_init

__all__ = ["CELERY_CONFIG", "PRELOAD", "preload"]

log = logging.getLogger(__name__)

CELERY_CONFIG: dict[str, Any] = dict(DEFAULT_CELERY_CONFIG)

# What a task of a sync DAG imports; each system's parts are added from the registry.
PRELOAD = ("airflow.sdk", "airflow.sdk.execution_time.task_runner", "tribe_operators.dag_factory",
           "tribe_operators.timetables", "tribe_operators.operators.summary", "tribe_operators.operators.invoices",
           "tribe_operators.operators.payments", "tribe_operators.operators.scopes",
           "tribe_operators.operators.deletions", "tribe_operators.sync.steps", "tribe_operators.sync.invoices",
           "tribe_operators.sync.payments", "tribe_operators.reports.summary")
SYSTEM_PARTS = ("hook", "source", "target", "transforms", "invoices", "payments", "settings")


def preload() -> list[str]:
    """Import ``PRELOAD`` and every registered system's parts; returns what failed (logged, never
    raised: a task that needs it imports it itself and shows the error where it belongs)."""
    failed = []
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - a broken module must not stop the worker
            failed.append(f"{name}: {exc}")
    try:
        from tribe_operators.registry import systems

        for system in systems().values():
            for role in SYSTEM_PARTS:
                if getattr(system, role, None):
                    try:
                        system.part(role)
                    except Exception as exc:  # noqa: BLE001 - as above
                        failed.append(f"{system.name}.{role}: {exc}")
    except Exception as exc:  # noqa: BLE001 - as above
        failed.append(f"registry: {exc}")
    return failed


@worker_process_init.connect
def _preload_in_pool_process(**_: Any) -> None:
    started = time.monotonic()
    failed = preload()
    log.info("tribe-sync modules preloaded in %.1f s%s", time.monotonic() - started,
             f"; not loaded: {'; '.join(failed)}" if failed else "")
