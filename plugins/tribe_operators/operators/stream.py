"""Extract / map / dedupe / load operators for one stream of one integration.

Each builds its hooks lazily inside ``execute`` (never at parse time), runs one step from
``tribe_operators.sync.steps`` and returns a small dict of counts.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk.exceptions import AirflowSkipException

from tribe_operators.exceptions import BudgetExhaustedError, MappingConfigError
from tribe_operators.mapping.settings import stream_enabled
from tribe_operators.operators.base import SyncOperator
from tribe_operators.store.runs import extract_window, run_counts
from tribe_operators.sync.context import StepContext, is_backfill, read_interval, resolve_window
from tribe_operators.timeutil import parse_timestamp

__all__ = ["DedupeOperator", "ExtractOperator", "LoadOperator", "MapOperator"]

class _StreamOperator(SyncOperator):
    """Shared plumbing: the stream's spec, the link database, adapters by system name.

    Args:
        integration: The mapping folder (``include/mappings/<integration>/``).
        stream: Name of the mapping file under ``include/mappings/<integration>/``.
        conn_ids: Airflow connection per system (default: the system's ``default_conn_id``).
        **kwargs: ``db_conn_id``, ``scope``, ``dry_run`` (see ``SyncOperator``) and BaseOperator's.
    """

    template_fields: Sequence[str] = (*SyncOperator.template_fields, "integration", "stream", "conn_ids")
    template_fields_renderers = {"conn_ids": "json"}
    step = ""
    ui_color = "#e8f1fb"

    def __init__(self, *, integration: str, stream: str, conn_ids: dict[str, str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.integration = integration
        self.stream = stream
        self.conn_ids = conn_ids

    def adapter(self, ctx: StepContext, system: str, role: str) -> Any:
        """The ``source`` or ``target`` adapter of a system, on a fresh hook; the integration's
        own system (its scopes are its legal entities, divisions) gets this run's scope."""
        from tribe_operators.registry import get_system

        scope = (ctx.settings.get("scopes") or {}).get(ctx.scope) if system == self.integration else None
        return get_system(system).adapter(role, (self.conn_ids or {}).get(system),
                                          {**scope, "name": ctx.scope} if scope is not None else None, ctx.settings)

    def build_context(self, context: Any) -> StepContext:
        ctx = self.step_context(context, self.integration, self.stream)
        ctx.window = self.window(ctx, context)
        return ctx

    def window(self, ctx: StepContext, context: Any) -> tuple[datetime | None, datetime | None]:
        found = extract_window(ctx.engine, ctx.run_id, ctx.integration, ctx.spec.stream, ctx.scope)
        if found is None:
            raise RuntimeError(f"no extract step recorded for {ctx.integration}/{ctx.spec.stream} in this run")
        return found

    def execute(self, context: Any) -> dict[str, int]:
        return self.perform(context)

    def perform(self, context: Any) -> dict[str, int]:
        """The task's work: as its own task, or one step of a webhook run's ``express`` task."""
        ctx = self.build_context(context)
        return self.run_within_budget(ctx)

    def run_within_budget(self, ctx: StepContext) -> dict[str, int]:
        """The step; a vendor's daily budget spent ends it cleanly, never as a failure to retry
        (a retry only spends calls the vendor refuses): its counts and the run's note say when the
        budget comes back, what was done is kept, and the next run after that goes on from there."""
        try:
            return self.run_step(ctx)
        except BudgetExhaustedError as exc:
            from tribe_operators.store.runs import record_step
            from tribe_operators.sync.steps import budget_spent

            record_step(ctx.engine, run_id=ctx.run_id, dag_id=ctx.dag_id, integration=ctx.integration,
                        stream=ctx.spec.stream, step=self.step, counts=budget_spent(exc), started_at=datetime.now(UTC),
                        dry_run=ctx.dry_run, window=ctx.window, scope=ctx.scope)
            raise AirflowSkipException(f"{exc}; nothing is lost: the next run after that goes on from here") from exc

    def run_step(self, ctx: StepContext) -> dict[str, int]:  # pragma: no cover - abstract
        raise NotImplementedError


class ExtractOperator(_StreamOperator):
    """Read records changed in the run's window from the source into staging.

    Args:
        from_date: Optional start (Params of a manual run / initial import), templated.
        to_date: Optional end, templated.
    """

    template_fields: Sequence[str] = (*_StreamOperator.template_fields, "from_date", "to_date")
    step = "extract"

    def __init__(self, *, from_date: Any = None, to_date: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.from_date = from_date
        self.to_date = to_date

    def window(self, ctx: StepContext, context: Any) -> tuple[datetime | None, datetime | None]:
        # pendulum → datetime; a manual run reads up to its trigger moment (read_interval)
        interval = tuple(parse_timestamp(v) if v is not None else None for v in read_interval(context))
        overlap = timedelta(seconds=int(ctx.settings.get("overlap_seconds", 300)))
        from_date, to_date = _date(self.from_date), _date(self.to_date)
        # A backfill imports what changed in its own interval, nothing before it.
        ctx.explicit_window = from_date is not None or to_date is not None or is_backfill(context)
        return resolve_window(ctx.watermarks.get(ctx.spec.stream, ctx.spec.direction), interval,  # type: ignore[arg-type]
                              from_date=from_date, to_date=to_date, overlap=overlap, exact=is_backfill(context))

    def perform(self, context: Any) -> dict[str, int]:
        ctx = self.build_context(context)
        conf = getattr(context.get("dag_run"), "conf", None) or {}
        ctx.retry_first = [str(i) for i in ((conf.get("retry_records") or {}).get(ctx.spec.stream) or [])]
        event_type = conf.get("entity_type")
        if event_type and not ctx.spec.source.concerns(event_type):
            # Its watermark stays put: the next poll reads whatever changed meanwhile.
            raise AirflowSkipException(f"a webhook run for a {event_type} change; {ctx.spec.stream} reads "
                                       f"{', '.join(ctx.spec.source.webhook_types)} (the safety poll reads it)")
        return self.run_within_budget(ctx)

    def run_step(self, ctx: StepContext) -> dict[str, int]:
        if not stream_enabled(ctx.settings, ctx.spec.stream):
            # The rest of the stream's group is skipped with it; other groups still run.
            raise AirflowSkipException(f"{ctx.spec.stream} is not in enabled_streams of the {ctx.integration} settings")
        self.log.info("window (since, until] = %s", ctx.window)
        return _steps().extract_step(ctx, self.adapter(ctx, ctx.spec.source.system, "source"))


class MapOperator(_StreamOperator):
    """Apply the stream's YAML field map; quarantine what cannot be mapped.

    When no record maps and every one is held for a missing entry of the same settings map, the
    map is what is wrong, not the records: they stay quarantined (the page's "Map it" works) and
    the task fails at once, naming the setting and the codes (:func:`_every_record_unmapped`)."""

    step = "map"

    def run_step(self, ctx: StepContext) -> dict[str, int]:
        systems = {lk.system for lk in ctx.spec.lookups.values()}
        started = datetime.now(UTC)
        counts = _steps().map_step(ctx, {s: self.adapter(ctx, s, "target") for s in systems})
        if fault := _every_record_unmapped(ctx, counts, started):
            raise MappingConfigError(fault)
        return counts


class DedupeOperator(_StreamOperator):
    """Resolve records to existing target records with the stream's keys, in order."""

    step = "dedupe"

    def window(self, ctx: StepContext, context: Any) -> tuple[datetime | None, datetime | None]:
        # A role of a contact decides once every role is mapped, even when its own stream is
        # switched off (its extract skipped, nothing recorded): then it skips too.
        found = extract_window(ctx.engine, ctx.run_id, ctx.integration, ctx.spec.stream, ctx.scope)
        if found is None:
            raise AirflowSkipException(f"{ctx.spec.stream} was not read in this run")
        return found

    def run_step(self, ctx: StepContext) -> dict[str, int]:
        from tribe_operators.operators.scopes import other_scopes_hidden

        # A record another scope (division) has bound is never this scope's match.
        return _steps().dedupe_step(ctx, other_scopes_hidden(self.adapter(ctx, ctx.spec.target.system, "target"), ctx))


class LoadOperator(_StreamOperator):
    """Write to the target and bind links; advances the watermark when done."""

    step = "load"

    def run_step(self, ctx: StepContext) -> dict[str, int]:
        return _steps().load_step(ctx, self.adapter(ctx, ctx.spec.target.system, "target"),
                                       self.adapter(ctx, ctx.spec.source.system, "source"))


def _steps() -> Any:
    """The step machinery (mapping, transforms, dedupe, HTTP clients), imported when a task
    runs: at DAG parse time it would cost every DAG file ~0.5 s (see bench/parse.py)."""
    from tribe_operators.sync import steps

    return steps


def _every_record_unmapped(ctx: StepContext, counts: dict[str, int], started: datetime) -> str | None:
    """What to fix, when the map step mapped nothing and every record it held (two or more, not
    only re-reads of records held before) lacks an entry of one settings map; else None.

    Not for a role of a party (its failure would hold the other role back) nor a dry run (it
    holds nothing to map). Records held before and only re-read this run are on the page already
    and do not fail the run again (nothing else changed)."""
    held = counts.get("quarantined", 0)
    if ctx.spec.party or ctx.dry_run or counts.get("mapped", 0) or held < 2:
        return None
    extract = next((r["counts"] for r in run_counts(ctx.engine, ctx.run_id) if r["step"] == "extract"
                    and r["stream"] == ctx.spec.stream and r["scope"] == ctx.scope
                    and r["integration"] == ctx.integration), {})
    if held - int(extract.get("retried") or 0) < 2:
        return None
    rows = [q for q in ctx.quarantine.open(ctx.spec.stream) if q["run_id"] == ctx.run_id and parse_timestamp(q["last_seen_at"]) >= started]
    actions = [q["action"] if isinstance(q["action"], dict) else {} for q in rows]
    settings = {a.get("setting") for a in actions if a.get("kind") == "unmapped_code"}
    if len(rows) != held or len(settings) != 1 or any(a.get("kind") != "unmapped_code" for a in actions):
        return None
    codes = list(dict.fromkeys(str(a.get("code")) for a in actions))
    shown = ", ".join(repr(c) for c in codes[:5]) + (f" and {len(codes) - 5} more" if len(codes) > 5 else "")
    where = f"{ctx.integration}/{ctx.spec.stream}" + (f" (scope {ctx.scope})" if ctx.scope != "default" else "")
    return (f"{where}: every record ({held}) needs an entry in settings {settings.pop()} for code(s) {shown}: "
            "map it (tribe-sync page: Map it), then clear the task")


def _date(value: Any) -> datetime | None:
    if value in (None, "", "None"):
        return None
    parsed = parse_timestamp(str(value))
    return parsed.astimezone(UTC) if parsed else None
