"""Lookup tables read once per run and scope, shared by the run's mapped tasks.

An invoice run maps each invoice in a task of its own, and every one of them maps with the same
small lookup tables (Exact: the journal, VAT codes and GL accounts its division's settings name;
PowerOffice: payment terms; Odoo: currencies). The first task of the run to need them reads them
from the accounting system and keeps them in the link database — a staging row per table under
the run id, the scope and the stream ``lookups:<stream>`` —, the run's other tasks read them
there. XCom carries ids and counts only, never the tables.

A later try of a task (Airflow's retry, or a person's Retry now after creating the missing code
in the accounting system) reads the tables afresh and replaces the run's copy: what was fixed
since the run started counts. A row names the table it holds (set, key, value), so a mapping
file changed under a running run is read afresh too. Rows of runs over an hour old are removed
by the next run's first read in that scope (a run still going then only reads its tables again).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tribe_operators.store.schema import staging
from tribe_operators.store.upsert import upsert
from tribe_operators.sync.context import StepContext

__all__ = ["KEEP", "run_lookups"]

KEEP = timedelta(hours=1)  # a run's tables outlive it this long (a Retry now later reads afresh anyway)


def run_lookups(ctx: StepContext, read: Callable[[Any], dict[str, str]]) -> dict[str, dict[str, str]]:
    """``ctx.spec``'s lookup tables by their name in the spec: the run's copy, or read with
    ``read(lookup_spec)`` (and kept for the run's other tasks) when there is none, it holds
    another table, or this is a later try of the task."""
    if not ctx.spec.lookups:
        return {}
    stream = f"lookups:{ctx.spec.stream}"[:60]
    key = {"run_id": ctx.run_id, "integration": ctx.integration, "scope": ctx.scope, "stream": stream}
    kept: dict[str, Any] = {}
    if ctx.attempt <= 1:
        with ctx.engine.connect() as conn:
            kept = {row.source_id: row.payload for row in conn.execute(
                sa.select(staging.c.source_id, staging.c.payload).where(*(staging.c[k] == v for k, v in key.items())))}
    tables, fresh = {}, []
    for name, lookup in ctx.spec.lookups.items():
        which = {"entity_set": lookup.entity_set, "key": lookup.key, "value": lookup.value}
        copy = kept.get(name)
        if isinstance(copy, dict) and copy.get("table") is not None and \
                {k: copy.get(k) for k in which} == which:
            tables[name] = dict(copy["table"])
            continue
        tables[name] = read(lookup)
        fresh.append({**key, "source_id": name, "payload": {**which, "table": tables[name]}})
    if fresh:
        _keep(ctx.engine, key, fresh)
    return tables


def _keep(engine: sa.Engine, key: dict[str, str], rows: list[dict[str, Any]]) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(sa.delete(staging).where(  # older runs' copies in this scope go first
            staging.c.integration == key["integration"], staging.c.scope == key["scope"],
            staging.c.stream == key["stream"], staging.c.run_id != key["run_id"], staging.c.created_at < now - KEEP))
        upsert(conn, staging, [{**r, "status": "cached", "created_at": now} for r in rows],
               conflict=list(key) + ["source_id"], update=["payload", "status", "created_at"])
