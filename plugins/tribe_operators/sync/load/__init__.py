"""The load step: carry out the dedupe step's decisions, chunk by chunk.

Every decided row takes the same way through, one named stage after the other:

1. *reconcile* (``reconcile``): on a task retry, a create an earlier attempt already made
   becomes a link;
2. *read*: the current target records of the chunk's updates, in one call;
3. *conflicts* (``conflicts``): fields changed on both sides since the last sync, settled by
   the settings' rule and audited;
4. *write* and *bind* (``write``): create / update / skip / unlink, several rows in flight;
   the link and the role relationship the moment the record exists;
5. *record*: each row's staging status and quarantine entry;
6. *echo* (``echo``): what was written, hashed as the opposite stream will read it — read
   back while the next chunk is written (its reads would otherwise leave the rate unused).
"""
from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from typing import Any

from tribe_operators.mapping.engine import Mapper
from tribe_operators.mapping.transforms import MapContext
from tribe_operators.store.runs import record_step, run_counts
from tribe_operators.sync import ended
from tribe_operators.sync.context import StepContext
from tribe_operators.sync.load.conflicts import resolve_conflicts
from tribe_operators.sync.load.echo import counterpart_hashes
from tribe_operators.sync.load.reconcile import reconcile_retry
from tribe_operators.sync.load.write import PAST, carry_out_or_error

__all__ = ["LOAD_CONCURRENCY", "load_step"]

log = logging.getLogger(__name__)
LOAD_CONCURRENCY = 4  # default rows in flight per load task (settings: load_concurrency)


def extract_counts(ctx: StepContext) -> dict[str, Any]:
    """This run's extract counts of the stream (where a sync cursor may be committed to)."""
    return next((r["counts"] for r in run_counts(ctx.engine, ctx.run_id) if r["stream"] == ctx.spec.stream
                 and r["step"] == "extract" and r["scope"] == ctx.scope), {})


def load_step(ctx: StepContext, target: Any, source: Any = None) -> dict[str, int]:
    """Carry out the decisions; bind each link the moment its record exists remotely."""
    started = datetime.now(UTC)
    counts = {"created": 0, "updated": 0, "linked": 0, "skipped": 0, "matched": 0, "unlinked": 0, "quarantined": 0,
              "conflicts": 0}
    spec = ctx.spec
    # Rows are independent once decided: several in flight at once keep a slow API busy up to
    # its rate limit (the hook's shared limiter paces them). Each row binds its own link the
    # moment its record exists, so a failure elsewhere never loses a create. One chunk's echo
    # reads run beside the next chunk's writes (at most one echo at a time).
    with ThreadPoolExecutor(max_workers=_concurrency(ctx), thread_name_prefix="load") as pool, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="echo") as echoes:
        echo: Future[None] | None = None
        for chunk in ctx.staging.iter_rows("decided", chunk=200):
            if ctx.dry_run:
                for row in chunk:
                    counts[PAST[row["decision"]]] += 1
                continue
            if ctx.attempt > 1:  # an earlier attempt may have created some of these already
                chunk = reconcile_retry(ctx, target, chunk)
            updates = [r for r in chunk if r["decision"] == "update"]
            current = _read(ctx, target, updates)
            mapper = Mapper(spec, MapContext(settings=ctx.settings))
            wanted = {r["source_id"]: mapper.updatable(r["mapped"]["fields"]) for r in updates}
            kept = resolve_conflicts(ctx, target, source, updates, current, wanted) if source is not None else {}
            counts["conflicts"] += len(kept)
            results = list(pool.map(partial(carry_out_or_error, ctx, target, source, current=current, wanted=wanted),
                                    chunk))
            written, answered, failed = _record(ctx, chunk, results, counts)
            # A field the target side won must still travel the other way: leave its hash stale.
            echoed = partial(counterpart_hashes, ctx, target, source,
                             {sid: tid for sid, tid in written.items() if sid not in kept}, answered)
            earlier, echo = echo, None
            try:
                if earlier is not None:
                    earlier.result()  # the previous chunk's echo, or its error
            except Exception:
                _echo_anyway(echoed, spec.stream)  # this chunk's rows are loaded: hash them too
                raise
            if failed:
                _echo_anyway(echoed, spec.stream)
                log.warning("%s: %d row(s) of this chunk failed; the first: %s", spec.stream, len(failed), failed[0])
                raise failed[0]
            echo = echoes.submit(echoed)
        if echo is not None:
            echo.result()
    if not ctx.dry_run:
        if ctx.window[1] is not None:
            ctx.watermarks.advance(spec.stream, spec.direction, ctx.window[1], ctx.run_id, since=ctx.window[0])
        if spec.source.cursor_field and (reached := extract_counts(ctx).get("cursor")) is not None:
            ctx.cursors.advance(spec.stream, spec.direction, int(reached), ctx.run_id)  # all of it is loaded
        ended.commit(ctx, extract_counts(ctx))  # the look at end dates (sync.ended) is done
    log.info("%s links now bound for %s", ctx.links.count(spec.target.link_entity), spec.target.link_entity)
    record_step(ctx.engine, run_id=ctx.run_id, dag_id=ctx.dag_id, integration=ctx.integration, stream=spec.stream,
                step="load", counts=counts, started_at=started, dry_run=ctx.dry_run, window=ctx.window, scope=ctx.scope)
    ctx.log_quarantine_tail()
    log.info("%s/%s load: %s", ctx.integration, spec.stream, counts)
    return counts


def _echo_anyway(echoed: Any, stream: str) -> None:
    """A chunk's echo before the step fails: its rows are recorded as loaded either way."""
    try:
        echoed()
    except Exception:  # noqa: BLE001 - the error the step fails with is raised by the caller
        log.warning("%s: could not hash this chunk's writes for the opposite stream", stream, exc_info=True)


def _concurrency(ctx: StepContext) -> int:
    return max(1, int(ctx.settings.get("load_concurrency", LOAD_CONCURRENCY)))


def _read(ctx: StepContext, target: Any, updates: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Stage *read*: the target's current records for the chunk's updates."""
    updating = {r["target_id"]: r["mapped"]["fields"] for r in updates}
    return target.fetch(ctx.spec, list(updating), hints=updating) if updating else {}


def _record(ctx: StepContext, chunk: list[dict[str, Any]], results: list[Any], counts: dict[str, int]
            ) -> tuple[dict[str, str], dict[str, Any], list[Exception]]:
    """Stage *record*: staging statuses and quarantine for the chunk; returns what was written
    (``{source id: target id}``, skips left out: their stored hash still holds), the records the
    target answered with, and the rows that failed after their retries (they stay ``decided``
    for the task's retry; the rest of the chunk is recorded first, so each attempt gets further).
    Rows that synced close their open quarantine entries here, a chunk at a time: holding every
    loaded id for one call at the end grew a 100,000-record load by ~37 MiB."""
    loaded: list[str] = []
    failed = [r for r in results if isinstance(r, Exception)]
    done, bad, answered, written = [], [], {}, {}
    for row, result in zip(chunk, results, strict=True):
        if isinstance(result, Exception):
            continue
        status, problem, outcome, record = result
        if record is not None:
            answered[status["target_id"]] = record
        counts[outcome] += 1
        done.append(status)
        if problem is not None:
            bad.append(problem)
            continue
        loaded.append(row["source_id"])
        counts["matched"] += str(row.get("match_keys") or "").startswith("match:") and outcome != "unlinked"
        if status["target_id"] is not None and row["decision"] != "skip":
            written[row["source_id"]] = status["target_id"]
    ctx.staging.update_rows(done)
    ctx.quarantine_records(bad, system=ctx.spec.target.system)
    ctx.quarantine.resolve(ctx.spec.stream, loaded)
    return written, answered, failed
