"""What the tribe-sync page shows, read from the link database: runs with their counts over
time (``sync_run``, ``export_outcome``), open quarantine grouped by reason, the export ledger,
watermarks, and the effective settings with where each value comes from (file, Variable, default)."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from tribe_operators.store.schema import export_ledger, export_outcome, quarantine, sync_run, watermark

__all__ = ["CHART_COUNTS", "LEDGER_SHOWN", "QUARANTINE_SHOWN", "integration_dags", "integrations", "last_run", "ledger",
           "open_quarantine", "quarantine_groups", "quarantine_row", "ran_last", "recent_runs", "run_dag",
           "settings_sources", "totals", "watermarks"]

# What the chart stacks per run, in this order (the rest are in the table).
CHART_COUNTS = ("created", "updated", "linked", "quarantined")
# Rows the page lists, the latest first; its counts are always the whole (``totals``).
QUARANTINE_SHOWN = 200
LEDGER_SHOWN = 100
# What a load step's counts add to its run: records, or (the payments stream) invoices.
LOAD_COUNTS = ("created", "updated", "linked", "conflicts", "paid", "partial", "reversed")
EXPORTED = ("draft", "booked", "posted")  # an invoice run's outcomes that wrote a document


def integrations() -> list[str]:
    """The integrations that are set up (a settings file under include/mappings/)."""
    from tribe_operators.mapping.spec import mappings_root

    return sorted(p.name for p in mappings_root().iterdir() if (p / "settings.yaml").exists())


def ran_last(engine: sa.Engine, names: list[str]) -> str | None:
    """The integration that ran last — a stream step or an exported invoice, whichever finished
    last (the page opens on it) —, else the first."""
    if not names:
        return None
    latest: dict[str, datetime] = {}
    with engine.connect() as conn:
        for table in (sync_run, export_outcome):  # an invoice run writes no sync_run rows
            for name, at in conn.execute(sa.select(table.c.integration, sa.func.max(table.c.finished_at))
                                         .where(table.c.integration.in_(names)).group_by(table.c.integration)):
                if at is not None and (name not in latest or _aware(at) > latest[name]):
                    latest[name] = _aware(at)  # type: ignore[assignment]
    return max(latest, key=latest.__getitem__) if latest else names[0]


def integration_dags(engine: sa.Engine, integration: str) -> list[str]:
    """The DAGs that have run for ``integration`` (its steps' or its invoices' rows)."""
    with engine.connect() as conn:
        found = {d for table in (sync_run, export_outcome) for d in conn.execute(
            sa.select(table.c.dag_id).where(table.c.integration == integration).distinct()).scalars() if d}
    return sorted(found)


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def recent_runs(engine: sa.Engine, integration: str, limit: int = 40) -> list[dict[str, Any]]:
    """The integration's last runs, oldest first: ``{run_id, dag_id, started, finished, dry_run,
    counts, budget_resumes_at}``; ``counts`` adds up the run's streams (load counts, every step's quarantine) and
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
                                                           "dag_id": None, "dry_run": False, "kind": "records",
                                                           "budget_resumes_at": None})
    for row in steps:
        run = runs[row.run_id]
        counts = row.counts or {}
        if row.stream == "payments":
            run["kind"] = "payments"
        if row.step == "load":
            run["counts"].update({k: int(counts.get(k, 0)) for k in LOAD_COUNTS})
        if row.step == "extract":
            run["counts"]["extracted"] += int(counts.get("extracted", 0))
        run["counts"]["quarantined"] += int(counts.get("quarantined", 0))
        if counts.get("budget_resumes_at"):  # a vendor's daily budget stopped a step: when it comes back
            resumes = datetime.fromtimestamp(int(counts["budget_resumes_at"]), UTC)
            run["budget_resumes_at"] = max(filter(None, [run["budget_resumes_at"], resumes]))
        _span(run, row.dag_id, row.started_at, row.finished_at)
        run["dry_run"] = run["dry_run"] or bool(row.dry_run)
    for row in documents:
        run = runs[row.run_id]
        run["kind"] = "invoices"
        run["counts"][str(row.status)] += 1
        _span(run, row.dag_id, row.finished_at, row.finished_at)
    result = [{"run_id": run_id, **run, "counts": {k: v for k, v in run["counts"].items() if v}}
              for run_id, run in runs.items()]
    return sorted(result, key=lambda r: r["started"] or datetime.min.replace(tzinfo=UTC))


def last_run(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The run that finished last, with what it did in one figure for the page's tile: records
    created / updated, invoices exported / failed, or invoices paid / partly paid."""
    if not runs:
        return None
    run = max(runs, key=lambda r: r["finished"] or r["started"] or datetime.min.replace(tzinfo=UTC))
    counts = run["counts"]
    if run["kind"] == "invoices":
        figure, label = (sum(counts.get(s, 0) for s in EXPORTED), counts.get("failed", 0)), "invoices exported / failed"
    elif run["kind"] == "payments":
        figure, label = (counts.get("paid", 0), counts.get("partial", 0)), "invoices paid / partly paid"
    else:
        figure, label = (counts.get("created", 0), counts.get("updated", 0)), "created / updated"
    return {**run, "figure": " / ".join(str(n) for n in figure), "label": label}


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
            export_ledger.c.integration == integration, export_ledger.c.document_type == "invoice")).scalar_one()
    return {"quarantine_open": int(open_rows), "ledger": int(documents)}


def open_quarantine(engine: sa.Engine, integration: str, limit: int = QUARANTINE_SHOWN) -> list[dict[str, Any]]:
    """Open quarantine rows (every scope), the latest first, each with the DAG that saw it last."""
    columns = [quarantine.c[c] for c in ("id", "scope", "system", "stream", "record_id", "field", "reason",
                                         "attempts", "first_seen_at", "last_seen_at", "run_id", "payload", "action")]
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


def quarantine_groups(engine: sa.Engine, integration: str, rows: list[dict[str, Any]],
                      limit: int = QUARANTINE_SHOWN) -> list[dict[str, Any]]:
    """Open quarantine by reason — one group per (system, stream, field, reason), the latest
    first —, each with its count (of every open row, listed or not), its action (what a person
    can do besides fixing the source) and its listed ``rows`` (``open_quarantine``)."""
    q = quarantine.c
    key = (q.system, q.stream, q.field, q.reason)
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(*key, sa.func.count().label("count"), sa.func.max(q.last_seen_at).label("last_seen_at"),
                      sa.func.max(q.attempts).label("attempts"), sa.func.min(q.id).label("first_id"))
            .where(q.integration == integration, q.resolved_at.is_(None)).group_by(*key)
            .order_by(sa.func.max(q.last_seen_at).desc(), sa.func.min(q.id)).limit(limit)).all()
        ids = [g.first_id for g in found]
        actions = dict(conn.execute(sa.select(q.id, q.action).where(q.id.in_(ids))).all()) if ids else {}
    listed: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        listed[(row["system"], row["stream"], row["field"], row["reason"])].append(row)
    return [{"key": f"g{i}", "system": g.system, "stream": g.stream, "field": g.field, "reason": g.reason,
             "count": int(g.count), "attempts": int(g.attempts), "last_seen_at": _aware(g.last_seen_at),
             "action": actions.get(g.first_id), "rows": listed.get((g.system, g.stream, g.field, g.reason), [])}
            for i, g in enumerate(found)]


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
    """The export ledger's invoices, the latest first, with the customer and amount of the last
    outcome and ``steps``: what else the invoice needed, by ledger ``document_type`` (its document,
    the document's attachment, a payment booked — Exact), each with its state and id."""
    invoice = export_ledger.c.document_type == "invoice"
    with engine.connect() as conn:
        rows = [r._asdict() for r in conn.execute(
            sa.select(export_ledger).where(export_ledger.c.integration == integration, invoice)
            .order_by(export_ledger.c.updated_at.desc()).limit(limit))]
        ids = [r["tribe_id"] for r in rows]
        outcomes, steps = {}, {}
        if ids:
            for o in conn.execute(sa.select(export_outcome).where(export_outcome.c.integration == integration,
                                                                  export_outcome.c.tribe_id.in_(ids))
                                  .order_by(export_outcome.c.id)):
                outcomes[o.tribe_id] = o  # the last one wins
            for step in conn.execute(sa.select(export_ledger).where(
                    export_ledger.c.integration == integration, ~invoice, export_ledger.c.tribe_id.in_(ids))):
                steps.setdefault((step.tribe_id, step.scope), {})[step.document_type] = {
                    "state": step.state, "external_id": step.external_id, "attempts": step.attempts,
                    "last_error": step.last_error}
    for row in rows:
        last = outcomes.get(row["tribe_id"])
        row["customer"] = last.customer if last else None
        row["amount"] = last.amount if last else row.get("total_amount")
        row["currency"] = last.currency if last else None
        row["steps"] = steps.get((row["tribe_id"], row["scope"]), {})
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


def settings_sources(integration: str) -> tuple[list[dict[str, Any]], str | None]:
    """The settings a task of this integration would run with now, key by key with where each
    value comes from (``{path, value, source}``: file, variable, default); or the error."""
    from tribe_operators.mapping.settings import settings_sources as sources

    try:
        return sources(integration), None
    except Exception as exc:  # noqa: BLE001 - a broken Variable is itself worth showing
        return [], f"{type(exc).__name__}: {exc}"
