"""extract → map → dedupe → load over the staging table. Each returns a dict of counts
(the load step, with its stages, is ``sync.load``).

Bad records never stop a batch: they are quarantined with the field and a reason.
Network trouble after the hook's own retries propagates (Airflow retries the task; the
staging rows and link table make the retry pick up where it stopped).
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from tribe_operators.dedupe import Deduper, party_roles
from tribe_operators.exceptions import BudgetExhaustedError, OutOfScope, RecordError
from tribe_operators.mapping.engine import Mapper
from tribe_operators.mapping.filters import conditions_for
from tribe_operators.protocols import CursorSource
from tribe_operators.store.match_decisions import MatchDecisions
from tribe_operators.store.quarantine import dedupe_holds
from tribe_operators.store.runs import record_step
from tribe_operators.store.staging import Staging
from tribe_operators.sync.context import StepContext
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


def _pages(ctx: StepContext, source: Any, where: list[Any], counts: dict[str, int]) -> Any:
    """The source's pages: after the committed cursor for a sync endpoint (``counts["cursor"]``
    becomes where the load may commit to), else the run's time window."""
    if ctx.spec.source.cursor_field and isinstance(source, CursorSource):
        start = ctx.cursors.get(ctx.spec.stream, ctx.spec.direction) or 0
        counts["cursor"] = start
        for rows, highest in source.extract_changes(ctx.spec, start, where=where):
            counts["cursor_read"] = max(counts.get("cursor_read", start), highest)
            yield rows
        counts["cursor"] = counts.get("cursor_read", start)  # read to the end: all of it
        return
    yield from source.extract(ctx.spec, *ctx.window, where=where)


def extract_step(ctx: StepContext, source: Any) -> dict[str, int]:
    """Stream changed records from the source into staging, one page at a time.

    A vendor's daily budget spent mid-read (``BudgetExhaustedError``) ends the read cleanly:
    what was staged goes on through map, dedupe and load, a sync cursor commits only up to just
    before the last page read (rows sharing a cursor may straddle pages), a time window's
    watermark does not move, and the counts say when the budget comes back."""
    started = datetime.now(UTC)
    staging = ctx.staging
    staging.clear()
    counts: dict[str, Any] = {"extracted": 0, "retried": 0, "pages": 0}
    seen: set[str] = set()
    where = conditions_for(ctx.spec, ctx.settings)  # the mapping's and the settings' filters
    try:
        for rows in _pages(ctx, source, where, counts):
            counts["extracted"] += staging.put_extracted(rows)
            seen.update(row[0] for row in rows)
            counts["pages"] += 1
        # Quarantined records are tried again every run (fixed at the source, or their dependency —
        # a product's group, an invoice's customer — has been synced since), read afresh by id.
        # Records a person asked to retry now (the tribe-sync page) come first.
        wanted = [*ctx.retry_first, *(q["record_id"] for q in ctx.quarantine.open(ctx.spec.stream))]
        retry = [r for r in dict.fromkeys(map(str, wanted)) if r not in seen][:RETRY_LIMIT]
        counts["retried"] = staging.put_extracted(source.fetch(ctx.spec, retry, where=where)) if retry else 0
        counts["extracted"] += counts["retried"]
    except BudgetExhaustedError as exc:
        log.warning("%s/%s: %s; what was read goes on, the rest next time", ctx.integration, ctx.spec.stream, exc)
        counts.update(budget_spent(exc))
        if "cursor_read" in counts:
            counts["cursor"] = max(counts["cursor"], counts["cursor_read"] - 1)
        ctx.window = (ctx.window[0], ctx.window[0])  # the watermark stays where it was
    counts.pop("cursor_read", None)
    return _finish(ctx, "extract", counts, started)


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
