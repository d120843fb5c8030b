"""Load stage *reconcile*: on a task retry, creates an earlier attempt already made become links.

An attempt that died after the target created a record, but before the staging row was
marked, leaves the row ``decided: create``. Its record is found by the link (bound the moment
it existed), by the reference its create wrote (``target.reference``) or by its dedupe key,
and the row is turned into a ``link``, never a second create.
"""
from __future__ import annotations

import logging
from typing import Any

from tribe_operators.dedupe.keys import field_value, key_tuple
from tribe_operators.sync.context import StepContext

__all__ = ["find_created", "reconcile_retry"]

log = logging.getLogger(__name__)


def reconcile_retry(ctx: StepContext, target: Any, chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Turn creates that already happened (bound, or findable by their reference or key) into links."""
    creates = {r["source_id"]: r for r in chunk if r["decision"] == "create"}
    if not creates:
        return chunk
    bound = ctx.links.bulk_to_internal(ctx.spec.target.link_entity, list(creates))
    unbound = {sid: r for sid, r in creates.items() if sid not in bound}
    found: dict[str, dict[str, Any]] = {}  # source id → the record an earlier attempt created
    # The reference (where the mapping names one), then the first match key.
    for key in _recovery_keys(ctx)[:2 if ctx.spec.target.reference else 1]:
        values = {sid: tuple(field_value(r["mapped"]["fields"], f) for f in key)
                  for sid, r in unbound.items() if sid not in found}
        if values:
            matches = target.find(ctx.spec, key, list(values.values()))
            found.update({sid: ms[0] for sid, v in values.items() if len(ms := matches.get(v, [])) == 1})
    out = []
    for row in chunk:
        sid = row["source_id"]
        if sid in bound:
            row = {**row, "decision": "link", "target_id": bound[sid]}
        elif sid in found:  # its link was never bound: maybe not its write-back either (write.py)
            row = {**row, "decision": "link", "target_id": ctx.spec.target.record_id(found[sid], target.id_key),
                   "created_earlier": found[sid]}
        if sid in bound or sid in found:
            log.warning("record %s was created by an earlier attempt; linking, not creating again", sid)
        out.append(row)
    return out


def find_created(ctx: StepContext, target: Any, fields: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The record a create whose answer was lost made, found by the first key that finds one:
    its id and the record."""
    for key in _recovery_keys(ctx):
        normalisers = next((k.normalisers() for k in ctx.spec.dedupe if k.match == key), ("text",) * len(key))
        value = tuple(field_value(fields, f) for f in key)
        if key_tuple(value, normalisers) is not None:
            records = target.find(ctx.spec, key, [value]).get(value, [])
            if len(records) == 1:
                return ctx.spec.target.record_id(records[0], target.id_key), records[0]
    return None


def _recovery_keys(ctx: StepContext) -> list[list[str]]:
    """What finds a record a create made: its reference (``target.reference``), then the match keys."""
    reference = ctx.spec.target.reference
    return ([[reference]] if reference else []) + [k.match for k in ctx.spec.dedupe if k.match]
