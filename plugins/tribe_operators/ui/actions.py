"""The tribe-sync page's actions on a quarantined record.

* **Retry now** starts a run of the DAG that quarantined it (a manual run: it reads up to now),
  with the record named in its conf — ``retry_records`` for a stream (its extract reads that
  record first, by id), ``invoice_ids`` for an invoice —, so it is tried at once, not at the next
  schedule. Nothing is re-run here in the API server: the scheduler runs it like any run.
* **Dismiss** stops its retries (it is closed, ``dismissed_by`` the user); changed at the source
  and still bad, it comes back.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tribe_operators.store.quarantine import Quarantine
from tribe_operators.ui.data import run_dag
from tribe_operators.webhooks.trigger import StartRun, trigger_dag_run

__all__ = ["ActionRefused", "dismiss", "retry", "retry_conf"]


class ActionRefused(ValueError):
    """The action cannot be done (the message says why; the page shows it)."""


def retry_conf(row: dict[str, Any]) -> dict[str, Any]:
    """The conf that makes a run try this quarantined record first."""
    if row["stream"] == "invoices":
        return {"invoice_ids": [row["record_id"]], "retry_of": "quarantine"}
    return {"retry_records": {row["stream"]: [row["record_id"]]}, "retry_of": "quarantine"}


def retry(engine: sa.Engine, row: dict[str, Any], user: str, *, start_run: StartRun | None = None) -> dict[str, str]:
    """Start the run that retries ``row`` (an open quarantine row); returns ``{dag_id, run_id}``."""
    if row["resolved_at"] is not None:
        raise ActionRefused(f"{row['stream']} {row['record_id']} is not in quarantine any more")
    dag_id = run_dag(engine, row["run_id"])
    if dag_id is None:
        raise ActionRefused(f"no run of {row['stream']} {row['record_id']} is on record: the DAG to retry it in is "
                            "unknown")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    run_id = f"retry__{row['stream']}__{row['record_id']}__{stamp}"[:250]
    started = (start_run or _start_as(user))(dag_id, run_id, retry_conf(row))
    return {"dag_id": dag_id, "run_id": started}


def _start_as(user: str) -> StartRun:
    return lambda dag_id, run_id, conf: trigger_dag_run(dag_id, run_id, conf, user=user)


def dismiss(engine: sa.Engine, row: dict[str, Any], user: str) -> int:
    """Close ``row`` as dismissed by ``user``; returns 1, or 0 when it was closed already."""
    return Quarantine(engine, row["integration"], row["scope"]).resolve(row["stream"], [row["record_id"]],
                                                                        dismissed_by=user)
