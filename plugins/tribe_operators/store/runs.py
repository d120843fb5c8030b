"""``sync_run``: counts per run, stream and step — what the summary and reports read."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tribe_operators.store.schema import sync_run
from tribe_operators.store.upsert import upsert

__all__ = ["extract_window", "record_step", "run_counts"]


def record_step(engine: sa.Engine, *, run_id: str, dag_id: str | None, integration: str, stream: str, step: str,
                counts: dict[str, int], started_at: datetime, dry_run: bool = False,
                window: tuple[datetime | None, datetime | None] = (None, None), scope: str = "default") -> None:
    """Store (or, on a task retry, replace) the counts of one step (of one scope)."""
    row = {"run_id": run_id, "dag_id": dag_id, "integration": integration, "scope": scope, "stream": stream,
           "step": step,
           "dry_run": dry_run, "window_start": window[0], "window_end": window[1], "counts": counts,
           "started_at": started_at, "finished_at": datetime.now(UTC)}
    with engine.begin() as conn:
        upsert(conn, sync_run, [row], conflict=["run_id", "integration", "scope", "stream", "step"],
               update=["dag_id", "dry_run", "window_start", "window_end", "counts", "started_at", "finished_at"])


def run_counts(engine: sa.Engine, run_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [r._asdict() for r in conn.execute(sa.select(sync_run).where(sync_run.c.run_id == run_id)
                                                   .order_by(sync_run.c.id))]


def extract_window(engine: sa.Engine, run_id: str, integration: str, stream: str,
                   scope: str = "default") -> tuple[datetime | None, datetime | None] | None:
    """The window the extract step of this run read (later steps reuse it)."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(sync_run.c.window_start, sync_run.c.window_end).where(
            sync_run.c.run_id == run_id, sync_run.c.integration == integration, sync_run.c.scope == scope,
            sync_run.c.stream == stream, sync_run.c.step == "extract")).first()
    if row is None:
        return None
    return tuple(v.replace(tzinfo=UTC) if v is not None and v.tzinfo is None else v for v in row)  # type: ignore[return-value]
