"""extract → map → dedupe → load over the staging table. Each returns a dict of counts
(the load step, with its stages, is ``sync.load``).

Bad records never stop a batch: they are quarantined with the field and a reason.
Network trouble after the hook's own retries propagates (Airflow retries the task; the
staging rows and link table make the retry pick up where it stopped).
"""
from __future__ import annotations

import logging
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Any

from tribe_operators.dedupe import Deduper, party_roles
from tribe_operators.exceptions import BudgetExhaustedError, OutOfScope, RecordError
from tribe_operators.mapping.engine import Mapper
from tribe_operators.mapping.filters import Condition, conditions_for, matches
from tribe_operators.mapping.settings import stream_enabled
from tribe_operators.protocols import CursorSource
from tribe_operators.store.match_decisions import MatchDecisions
from tribe_operators.store.quarantine import dedupe_holds
from tribe_operators.store.runs import record_step, run_counts
from tribe_operators.store.staging import Staging, one_reader
from tribe_operators.sync.context import StepContext
from tribe_operators.sync.ended import read_ended
from tribe_operators.sync.load import load_step

__all__ = ["budget_spent", "dedupe_step", "extract_step", "load_step", "map_step"]

log = logging.getLogger(__name__)
RETRY_LIMIT = 200  # quarantined records re-read per run and stream


def _finish(ctx: StepContext, step: str, counts: dict[str, int], started: datetime) -> dict[str, int]:
    record_step(ctx.engine, run_id=ctx.run_id, dag_id=ctx.dag_id, integration=ctx.integration,
                stream=ctx.spec.stream, step=step, counts=counts, started_at=started, dry_run=ctx.dry_run,
                window=ctx.window, scope=ctx.scope)
    ctx.log_quarantine_tail()
    log.info("%s/%s %s: %s", ctx.integration, ctx.spec.stream, step, counts)
    return counts


def _shared_roles(ctx: StepContext) -> list[Any]:
    """The other roles of this stream's party that read the same resource after the same kind of
    cursor, and are enabled: one read of the resource stages rows for all of them (an Exact
    account is read once for customers and suppliers, not once per role)."""
    src = ctx.spec.source
    if not src.cursor_field or len(ctx.spec.party) < 2:
        return []
    same = (src.system, src.resource, src.cursor_field, src.id_field, src.id_template)
    return [role for role in party_roles(ctx.spec) if role.stream != ctx.spec.stream
            and (role.source.system, role.source.resource, role.source.cursor_field, role.source.id_field,
                 role.source.id_template) == same and stream_enabled(ctx.settings, role.stream)]


def _run_steps(ctx: StepContext, stream: str) -> dict[str, dict[str, Any]]:
    """This run's recorded steps of ``stream`` in this scope, by step name."""
    return {r["step"]: r["counts"] for r in run_counts(ctx.engine, ctx.run_id)
            if r["stream"] == stream and r["scope"] == ctx.scope and r["integration"] == ctx.integration}


def _read_spec(roles: list[Any], wheres: dict[str, list[Condition]]) -> tuple[Any, list[Condition]]:
    """What one read for several roles asks for: every role's fields, and rows any role may want
    (each role's own conditions are checked again when its rows are staged)."""
    first = roles[0]
    spec = first.model_copy(update={"fields": [fm for role in roles for fm in role.fields],
                                    "children": [c for role in roles for c in role.children]})
    alternatives: list[Condition] = [c for role in roles for c in wheres[role.stream]]
    if any(not wheres[role.stream] for role in roles):  # a role that takes every row
        alternatives.append(Condition(field=first.source.id_field, op="ne", value=None))
    return spec, [Condition(op="any_of", value=alternatives)]


def _pages(ctx: StepContext, source: Any, roles: list[Any], wheres: dict[str, list[Condition]],
           counts: dict[str, dict[str, Any]]) -> Any:
    """The source's pages as ``{stream: rows}`` for each of ``roles`` (the first is this step's
    own): after the committed cursor for a sync endpoint (``counts[stream]["cursor"]`` becomes
    where that role's load may commit to) — read once from the lowest cursor of the roles, each
    role given the rows after its own that meet its own conditions — else the run's window.

    A date range someone chose (``ctx.explicit_window``: from/to Params, a backfill) is read by
    modification time even where there is a cursor, and leaves the cursor where it is (no
    ``cursor`` in the counts): what the preview of a range counts is what its import reads, and
    the next scheduled run goes on from the cursor."""
    spec = ctx.spec
    read, where = _read_spec(roles, wheres) if len(roles) > 1 else (spec, wheres[spec.stream])
    if not (spec.source.cursor_field and isinstance(source, CursorSource)) or ctx.explicit_window:
        for rows in source.extract(read, *ctx.window, where=where):
            yield {spec.stream: rows} if len(roles) == 1 else \
                {role.stream: [row for row in rows if matches(row[2], wheres[role.stream])] for role in roles}
        return
    field = spec.source.cursor_field
    starts = {role.stream: ctx.cursors.get(role.stream, role.direction) or 0 for role in roles}
    for stream, start in starts.items():
        counts[stream]["cursor"] = start
    for rows, highest in source.extract_changes(read, min(starts.values()), where=where):
        for stream, start in starts.items():
            counts[stream]["cursor_read"] = max(counts[stream].get("cursor_read", start), highest)
        if len(roles) == 1:
            yield {spec.stream: rows}
            continue
        yield {stream: [row for row in rows if int(row[2][field]) > start and matches(row[2], wheres[stream])]
               for stream, start in starts.items()}
    for stream in starts:  # read to the end: all of it
        counts[stream]["cursor"] = counts[stream].get("cursor_read", starts[stream])


def _read(ctx: StepContext, source: Any, roles: list[Any]) -> dict[str, dict[str, Any]]:
    """Read the source once and stage each role's rows; the counts of each role."""
    wheres = {role.stream: conditions_for(role, ctx.settings) for role in roles}  # mapping's and settings' filters
    stagings = {role.stream: Staging(ctx.engine, ctx.run_id, ctx.integration, role.stream, ctx.scope)
                for role in roles}
    counts: dict[str, dict[str, Any]] = {role.stream: {"extracted": 0, "retried": 0, "pages": 0} for role in roles}
    for staged in stagings.values():
        staged.clear()
    try:
        for page in _pages(ctx, source, roles, wheres, counts):
            for stream, rows in page.items():
                counts[stream]["extracted"] += stagings[stream].put_extracted(rows)
            counts[ctx.spec.stream]["pages"] += 1
        for role in roles:  # records whose end date passed, though unchanged (once a day)
            read_ended(ctx, source, role, wheres[role.stream], stagings[role.stream], counts[role.stream])
        _retry(ctx, source, wheres[ctx.spec.stream], counts[ctx.spec.stream])
    except BudgetExhaustedError as exc:
        log.warning("%s/%s: %s; what was read goes on, the rest next time", ctx.integration, ctx.spec.stream, exc)
        for role_counts in counts.values():
            role_counts.update(budget_spent(exc))
            if "cursor_read" in role_counts:
                role_counts["cursor"] = max(role_counts["cursor"], role_counts["cursor_read"] - 1)
        ctx.window = (ctx.window[0], ctx.window[0])  # the watermark stays where it was
    for role_counts in counts.values():
        role_counts.pop("cursor_read", None)
    return counts


def _retry(ctx: StepContext, source: Any, where: list[Condition], counts: dict[str, Any]) -> None:
    """Quarantined records are tried again every run (fixed at the source, or their dependency —
    a product's group, an invoice's customer — has been synced since), read afresh by id unless
    this run staged them already. Records a person asked to retry now (the tribe-sync page) come first."""
    wanted = list(dict.fromkeys(map(str, [*ctx.retry_first,
                                          *(q["record_id"] for q in ctx.quarantine.open(ctx.spec.stream))])))
    staged = ctx.staging.staged(wanted) if wanted else set()
    retry = [r for r in wanted if r not in staged][:RETRY_LIMIT]
    counts["retried"] = ctx.staging.put_extracted(source.fetch(ctx.spec, retry, where=where)) if retry else 0
    counts["extracted"] += counts["retried"]


def _claim(ctx: StepContext, source: Any, marker: dict[str, Any]) -> dict[str, Any]:
    """This stream's rows, staged in this run by another role's read of the same resource: no
    call for them, only its own quarantine's re-read. Their counts (cursor, a spent budget) are
    taken over as if read here."""
    counts: dict[str, Any] = {**marker["staged"], "pages": 0, "read_by": marker["read_by"]}
    if counts.get("budget_spent"):
        ctx.window = (ctx.window[0], ctx.window[0])  # the watermark stays where it was
        return counts
    try:
        _retry(ctx, source, conditions_for(ctx.spec, ctx.settings), counts)
    except BudgetExhaustedError as exc:
        log.warning("%s/%s: %s; what was read goes on, the rest next time", ctx.integration, ctx.spec.stream, exc)
        counts.update(budget_spent(exc))
        ctx.window = (ctx.window[0], ctx.window[0])
    return counts


def extract_step(ctx: StepContext, source: Any) -> dict[str, int]:
    """Stream changed records from the source into staging, one page at a time.

    A vendor's daily budget spent mid-read (``BudgetExhaustedError``) ends the read cleanly:
    what was staged goes on through map, dedupe and load, a sync cursor commits only up to just
    before the last page read (rows sharing a cursor may straddle pages), a time window's
    watermark does not move, and the counts say when the budget comes back.

    Roles of a party that read one resource after a cursor (``_shared_roles``) read it once: the
    first role's extract stages every such role's rows and leaves each a note (step
    ``extract_staged``); a later role's extract finds the note and spends no call on the read.
    Each role keeps its own conditions, cursor (committed by its own load) and counts. A role
    that already extracted in this run (a cleared task run again) is left alone and reads for
    itself when run again."""
    started = datetime.now(UTC)
    others = _shared_roles(ctx)
    src = ctx.spec.source
    with one_reader(ctx.engine, ctx.run_id, ctx.integration, ctx.scope, src.system, src.resource) if others \
            else nullcontext():
        mine = _run_steps(ctx, ctx.spec.stream) if others else {}
        if "extract_staged" in mine and "extract" not in mine:
            return _finish(ctx, "extract", _claim(ctx, source, mine["extract_staged"]), started)
        fresh = [role for role in others if "extract" not in _run_steps(ctx, role.stream)]
        counts = _read(ctx, source, [ctx.spec, *fresh])
        for role in fresh:  # the note each later role's extract takes its rows and counts from
            record_step(ctx.engine, run_id=ctx.run_id, dag_id=ctx.dag_id, integration=ctx.integration,
                        stream=role.stream, step="extract_staged", started_at=started, dry_run=ctx.dry_run,
                        counts={"staged": counts[role.stream], "read_by": ctx.spec.stream}, window=ctx.window,
                        scope=ctx.scope)
    return _finish(ctx, "extract", counts[ctx.spec.stream], started)


def budget_spent(exc: BudgetExhaustedError) -> dict[str, int]:
    """What a step's counts say of a spent budget (the note, summary and page read it)."""
    return {"budget_spent": 1, "budget_resumes_at": int(exc.reset_at.timestamp())}


def map_step(ctx: StepContext, adapters: dict[str, Any]) -> dict[str, int]:
    """Apply the field map; quarantine records that cannot be mapped."""
    started = datetime.now(UTC)
    counts = {"mapped": 0, "quarantined": 0, "out_of_scope": 0}
    mapper = None
    key_fields = {f for key in ctx.spec.dedupe for f in key.match or []}
    for chunk in ctx.staging.iter_rows("extracted"):
        if mapper is None:  # lookup tables are read only when there is something to map (idle runs)
            mapper = Mapper(ctx.spec, ctx.map_context(ctx.lookups(ctx.spec, adapters)))
        updates, bad, ignored = [], [], []
        for row in chunk:
            try:
                mapped = mapper.map(row["payload"])
            except OutOfScope as exc:  # not this stream's business (a prospect's contact)
                ignored.append(row["source_id"])
                updates.append({"source_id": row["source_id"], "status": "out_of_scope", "error": exc.reason})
                continue
            except RecordError as exc:
                bad.append({"record_id": row["source_id"], "field": exc.field, "reason": exc.reason,
                            "payload": row["payload"], "action": exc.action})
                # Its numbers still take part in dedupe (its other roles must not match around them).
                keys = {f: exc.mapped[f] for f in key_fields if f in exc.mapped}
                updates.append({"source_id": row["source_id"], "status": "quarantined", "error": str(exc),
                                "mapped": {"fields": keys, "update_hash": None} if keys else None})
                continue
            updates.append({"source_id": row["source_id"], "status": "mapped",
                            "mapped": {"fields": mapped.fields, "update_hash": mapped.update_hash}})
        ctx.staging.update_rows(updates)
        ctx.quarantine_records(bad, system=ctx.spec.source.system)
        if not ctx.dry_run:
            ctx.quarantine.resolve(ctx.spec.stream, ignored)
        counts["mapped"] += len(updates) - len(bad) - len(ignored)
        counts["quarantined"] += len(bad)
        counts["out_of_scope"] += len(ignored)
    return _finish(ctx, "map", counts, started)


# Staged rows whose key fields are known: mapped, decided or loaded, or quarantined with keys.
_KEYED = ("mapped", "quarantined", "decided", "loaded")


def _held_by_the_other_direction(ctx: StepContext, roles: list[Any]) -> dict[str, str]:
    """Target records the opposite direction holds back as undecidable (``{id: reason}``): an
    Odoo partner whose number Tribe has on two organisations, held by the import, is no record
    for the export to match by that number either (it would bind one of the two and rename it)."""
    opposite = sorted({role.counterpart for role in roles if role.counterpart})
    return dedupe_holds(ctx.engine, ctx.integration, ctx.scope, opposite)


def dedupe_step(ctx: StepContext, target: Any) -> dict[str, int]:
    """Decide create / update / link / skip for every mapped record. A record that is one role
    of a contact (customer and supplier) is resolved with the keys of all its roles read in
    this run, so every role of the contact gets the same answer (``dedupe.party``)."""
    started = datetime.now(UTC)
    roles = party_roles(ctx.spec)
    deduper = Deduper(ctx.spec, ctx.links, target, roles, settings=ctx.settings,
                      decisions=MatchDecisions(ctx.engine, ctx.integration, ctx.scope),
                      held_opposite=_held_by_the_other_direction(ctx, roles))
    for role in roles:
        staged = Staging(ctx.engine, ctx.run_id, ctx.integration, role.stream, ctx.scope)
        for rows in staged.iter_rows(_KEYED, chunk=2000, columns=("mapped",)):
            for row in rows:
                if row["mapped"]:
                    deduper.add(role.stream, row["source_id"], row["mapped"]["fields"])
    counts = {"create": 0, "update": 0, "link": 0, "skip": 0, "quarantined": 0}
    for chunk in ctx.staging.iter_rows("mapped", chunk=500):
        updates, bad = [], []
        by_id = {row["source_id"]: row for row in chunk}
        for decision in deduper.decide(chunk):
            if decision.decision is None:
                field, reason = decision.error or (None, "no decision")
                bad.append({"record_id": decision.source_id, "field": field, "reason": reason,
                            "payload": by_id[decision.source_id]["payload"],
                            "action": decision.action or {"kind": "held", "at_fault": ctx.spec.target.system}})
                updates.append({"source_id": decision.source_id, "status": "quarantined", "error": reason})
                counts["quarantined"] += 1
                continue
            counts[decision.decision] += 1
            updates.append({"source_id": decision.source_id, "status": "decided", "decision": decision.decision,
                            "target_id": decision.target_id, "match_keys": decision.matched_by})
        ctx.staging.update_rows(updates)
        ctx.quarantine_records(bad, system=ctx.spec.source.system)  # the record's own system, named on the page
    return _finish(ctx, "dedupe", counts, started)
