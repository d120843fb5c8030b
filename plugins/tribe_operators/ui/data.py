"""What the tribe-sync page shows, read from the link database: runs with their counts over
time (``sync_run``, ``export_outcome``), open quarantine, the export ledger, watermarks, and the
effective settings (file + Variable, as a task would see them)."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tribe_operators.store.schema import export_ledger, export_outcome, quarantine, sync_run, watermark

__all__ = ["CHART_COUNTS", "LEDGER_SHOWN", "QUARANTINE_SHOWN", "busiest", "effective_settings", "integrations",
           "ledger", "open_quarantine", "quarantine_row", "recent_runs", "run_dag", "totals", "watermarks"]

# What the chart stacks per run, in this order (the rest are in the table).
CHART_COUNTS = ("created", "updated", "linked", "quarantined")
# Rows the page lists, the latest first; its counts are always the whole (``totals``).
QUARANTINE_SHOWN = 200
LEDGER_SHOWN = 100


def integrations() -> list[str]:
    """The integrations that are set up (a settings file under include/mappings/)."""
    from tribe_operators.mapping.spec import mappings_root

    return sorted(p.name for p in mappings_root().iterdir() if (p / "settings.yaml").exists())


def busiest(engine: sa.Engine, names: list[str]) -> str | None:
    """The integration whose run finished last (the page opens on it), else the first."""
    with engine.connect() as conn:
        last = conn.execute(sa.select(sync_run.c.integration).where(sync_run.c.integration.in_(names))
                            .order_by(sync_run.c.finished_at.desc()).limit(1)).scalar() if names else None
    return last or (names[0] if names else None)


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def recent_runs(engine: sa.Engine, integration: str, limit: int = 40) -> list[dict[str, Any]]:
    """The integration's last runs, oldest first: ``{run_id, dag_id, started, finished, dry_run,
    counts}``; ``counts`` adds up the run's streams (load counts, every step's quarantine) and
    its invoices by status."""
    with engine.connect() as conn:
        last = (sa.select(sync_run.c.run_id, sa.func.max(sync_run.c.finished_at).label("at"))
                .where(sync_run.c.integration == integration).group_by(sync_run.c.run_id))
        invoices = (sa.select(export_outcome.c.run_id, sa.func.max(export_outcome.c.finished_at).label("at"))
                    .where(export_outcome.c.integration == integration).group_by(export_outcome.c.run_id))
        both = sa.union_all(last, invoices).subquery()
        ids = [r.run_id for r in conn.execute(sa.select(both.c.run_id).group_by(both.c.run_id)
                                              .order_by(sa.func.max(both.c.at).desc()).limit(limit))]
        steps = conn.execute(sa.select(sync_run).where(sync_run.c.integration == integration,
                                                       sync_run.c.run_id.in_(ids))).all() if ids else []
        documents = conn.execute(sa.select(export_outcome.c.run_id, export_outcome.c.dag_id, export_outcome.c.status,
                                           export_outcome.c.finished_at)
                                 .where(export_outcome.c.integration == integration,
                                        export_outcome.c.run_id.in_(ids))).all() if ids else []
    runs: dict[str, dict[str, Any]] = defaultdict(lambda: {"counts": Counter(), "started": None, "finished": None,
                                                           "dag_id": None, "dry_run": False})
    for row in steps:
        run = runs[row.run_id]
        counts = row.counts or {}
        if row.step == "load":
            run["counts"].update({k: int(counts.get(k, 0)) for k in ("created", "updated", "linked", "conflicts")})
        if row.step == "extract":
            run["counts"]["extracted"] += int(counts.get("extracted", 0))
        run["counts"]["quarantined"] += int(counts.get("quarantined", 0))
        _span(run, row.dag_id, row.started_at, row.finished_at)
        run["dry_run"] = run["dry_run"] or bool(row.dry_run)
    for row in documents:
        run = runs[row.run_id]
        run["counts"][str(row.status)] += 1
        _span(run, row.dag_id, row.finished_at, row.finished_at)
    result = [{"run_id": run_id, **run, "counts": {k: v for k, v in run["counts"].items() if v}}
              for run_id, run in runs.items()]
    return sorted(result, key=lambda r: r["started"] or datetime.min.replace(tzinfo=UTC))


def _span(run: dict[str, Any], dag_id: str | None, started: datetime | None, finished: datetime | None) -> None:
    run["dag_id"] = run["dag_id"] or dag_id
    started, finished = _aware(started), _aware(finished)
    if started is not None and (run["started"] is None or started < run["started"]):
        run["started"] = started
    if finished is not None and (run["finished"] is None or finished > run["finished"]):
        run["finished"] = finished


def run_dag(engine: sa.Engine, run_id: str | None) -> str | None:
    """The DAG a run belongs to (its steps' or its invoices' rows)."""
    if not run_id:
        return None
    with engine.connect() as conn:
        found = conn.execute(sa.select(sync_run.c.dag_id).where(sync_run.c.run_id == run_id).limit(1)).scalar()
        return found or conn.execute(sa.select(export_outcome.c.dag_id)
                                     .where(export_outcome.c.run_id == run_id).limit(1)).scalar()


def totals(engine: sa.Engine, integration: str) -> dict[str, int]:
    """How many rows there are in all — open quarantine, ledger — whatever the page lists."""
    with engine.connect() as conn:
        open_rows = conn.execute(sa.select(sa.func.count()).select_from(quarantine).where(
            quarantine.c.integration == integration, quarantine.c.resolved_at.is_(None))).scalar_one()
        documents = conn.execute(sa.select(sa.func.count()).select_from(export_ledger).where(
            export_ledger.c.integration == integration)).scalar_one()
    return {"quarantine_open": int(open_rows), "ledger": int(documents)}


def open_quarantine(engine: sa.Engine, integration: str, limit: int = QUARANTINE_SHOWN) -> list[dict[str, Any]]:
    """Open quarantine rows (every scope), the latest first, each with the DAG that saw it last."""
    columns = [quarantine.c[c] for c in ("id", "scope", "system", "stream", "record_id", "field", "reason",
                                         "attempts", "first_seen_at", "last_seen_at", "run_id", "payload")]
    with engine.connect() as conn:
        rows = [r._asdict() for r in conn.execute(
            sa.select(*columns).where(quarantine.c.integration == integration, quarantine.c.resolved_at.is_(None))
            .order_by(quarantine.c.last_seen_at.desc(), quarantine.c.id).limit(limit))]
    dags = {run_id: run_dag(engine, run_id) for run_id in {r["run_id"] for r in rows}}
    for row in rows:
        row["dag_id"] = dags.get(row["run_id"])
        payload = row.pop("payload") or {}
        row["label"] = _label(payload) if isinstance(payload, dict) else None
    return rows


def _label(payload: dict[str, Any]) -> str | None:
    """A name people recognise the record by (its payload's name or number), never more of it."""
    for key in ("Name", "name", "display_name", "Number", "FirstName"):
        if payload.get(key):
            return str(payload[key])[:80]
    return None


def quarantine_row(engine: sa.Engine, row_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(quarantine).where(quarantine.c.id == row_id)).first()
    return row._asdict() if row else None


def ledger(engine: sa.Engine, integration: str, limit: int = LEDGER_SHOWN) -> list[dict[str, Any]]:
    """The export ledger, the latest first, with the customer and amount of its last outcome."""
    with engine.connect() as conn:
        rows = [r._asdict() for r in conn.execute(
            sa.select(export_ledger).where(export_ledger.c.integration == integration)
            .order_by(export_ledger.c.updated_at.desc()).limit(limit))]
        ids = [r["tribe_id"] for r in rows]
        outcomes = {}
        if ids:
            for o in conn.execute(sa.select(export_outcome).where(export_outcome.c.integration == integration,
                                                                  export_outcome.c.tribe_id.in_(ids))
                                  .order_by(export_outcome.c.id)):
                outcomes[o.tribe_id] = o  # the last one wins
    for row in rows:
        last = outcomes.get(row["tribe_id"])
        row["customer"] = last.customer if last else None
        row["amount"] = last.amount if last else row.get("total_amount")
        row["currency"] = last.currency if last else None
    return rows


def watermarks(engine: sa.Engine, integration: str) -> list[dict[str, Any]]:
    """Per scope, stream and direction: up to when changes have been read, and how long ago."""
    now = datetime.now(UTC)
    with engine.connect() as conn:
        rows = [r._asdict() for r in conn.execute(
            sa.select(watermark).where(watermark.c.integration == integration)
            .order_by(watermark.c.scope, watermark.c.direction, watermark.c.entity))]
    for row in rows:
        row["value"] = _aware(row["value"])
        row["age_s"] = (now - row["value"]).total_seconds() if row["value"] else None
    return rows


def effective_settings(integration: str) -> dict[str, Any]:
    """The settings a task of this integration would run with now (file, then the Variable)."""
    from tribe_operators.mapping.settings import load_settings

    try:
        return load_settings(integration)
    except Exception as exc:  # noqa: BLE001 - a broken Variable is itself worth showing
        return {"error": f"{type(exc).__name__}: {exc}"}
