"""Conflicts: a record changed on *both* sides since the last sync.

Detected on update: the target's current content, hashed through the opposite stream's
mapping, no longer matches the hash stored on the link at the last sync — so the target
changed too. Each field that differs is resolved by a documented rule:

* the fields the accounting system always leads — ``conflicts.accounting_leads`` in the
  settings (numbers and ids: Tribe's help articles say the accounting system's number
  replaces Tribe's);
* any other field — ``conflicts.default`` in the settings (the accounting system unless set),
  with per-field exceptions in ``conflicts.fields`` (``{EmailAddress: tribe}``).

The winner's value is kept; every conflict is recorded in ``conflict_audit``. When the
target side wins a field, the link's hash is left stale so the opposite stream carries the
winning value across on its next run.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tribe_operators.mapping.engine import Mapper
from tribe_operators.mapping.spec import load_stream
from tribe_operators.mapping.transforms import MapContext
from tribe_operators.store.schema import conflict_audit
from tribe_operators.sync.context import StepContext
from tribe_operators.timeutil import parse_timestamp

__all__ = ["newest_stamp", "resolve_conflicts"]


def _winner(ctx: StepContext, field: str) -> str:
    rules = ctx.settings.get("conflicts") or {}
    if field in (rules.get("accounting_leads") or ()):
        return ctx.integration
    return str((rules.get("fields") or {}).get(field) or rules.get("default") or ctx.integration)


def resolve_conflicts(ctx: StepContext, target: Any, source: Any, rows: list[dict[str, Any]],
                      current: dict[str, dict[str, Any]], wanted: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    """Find conflicts among update ``rows``; drop the fields the target side wins from
    ``wanted`` (in place) and return ``{source_id: fields the target kept}``."""
    if not ctx.spec.counterpart or not rows:
        return {}
    other = load_stream(ctx.integration, ctx.spec.counterpart)
    importing = ctx.spec.direction == "import"
    tribe_ids = [r["target_id"] if importing else r["source_id"] for r in rows]
    links = ctx.links.links_by_tribe(ctx.spec.target.link_entity, tribe_ids)
    adapters = {target.system: target, source.system: source}
    mapper = Mapper(other, MapContext(lookups=ctx.lookups(other, adapters), settings=ctx.settings))
    if target.answers_with_record:  # what load just read is what the other stream reads
        seen_now = {str(r["target_id"]): current[r["target_id"]] for r in rows if r["target_id"] in current}
    else:  # read as the other stream reads, but only what may have changed since its last sync
        suspect = [r["target_id"] for r, tid in zip(rows, tribe_ids, strict=True)
                   if _changed_since_sync(target, current.get(r["target_id"]), links.get(str(tid)), importing)]
        seen_now = {rid: rec for rid, _, rec in (target.as_source().fetch(other, suspect) if suspect else [])}
    kept: dict[str, set[str]] = {}
    audit = []
    for row, tribe_id in zip(rows, tribe_ids, strict=True):
        link, record = links.get(str(tribe_id)), seen_now.get(str(row["target_id"]))
        stored = (link.external_hash if importing else link.tribe_hash) if link else None
        if stored is None or record is None or row["target_id"] not in current:
            continue
        try:
            now = mapper.map(record).update_hash
        except Exception:  # noqa: BLE001 - unmappable on the other side: no verdict, no conflict
            continue
        if now == stored:
            continue  # the target did not change since the last sync: no conflict
        fields = {k: v for k, v in wanted[row["source_id"]].items() if not target.differs(current[row["target_id"]], {k: v})}
        differing = [k for k in wanted[row["source_id"]] if k not in fields]
        if not differing:
            continue
        target_side = "tribe" if importing else ctx.integration
        verdict = {}
        for field in differing:
            winner = _winner(ctx, field)
            verdict[field] = {"ours": _plain(wanted[row["source_id"]][field]),
                              "theirs": _plain(current[row["target_id"]].get(field)), "winner": winner}
            if winner == target_side:
                wanted[row["source_id"]].pop(field)
                kept.setdefault(row["source_id"], set()).add(field)
        audit.append({"integration": ctx.integration, "scope": ctx.scope, "stream": ctx.spec.stream,
                      "tribe_id": str(tribe_id), "external_id": str(link.external_id), "fields": verdict,
                      "run_id": ctx.run_id, "detected_at": datetime.now(UTC)})
    if audit:
        with ctx.engine.begin() as conn:
            conn.execute(conflict_audit.insert(), audit)
    return kept


def newest_stamp(record: dict[str, Any], field: str) -> datetime | None:
    """The latest ``field`` stamp on a record or any record nested in it (a Tribe address is an
    entity of its own, stamped apart from its organisation)."""
    stamps = [parse_timestamp(record[field])] if record.get(field) else []
    for value in record.values():
        for nested in (value if isinstance(value, list) else [value]):
            if isinstance(nested, dict) and (stamp := newest_stamp(nested, field)) is not None:
                stamps.append(stamp)
    return max(stamps, default=None)


def _changed_since_sync(target: Any, record: dict[str, Any] | None, link: Any, importing: bool) -> bool:
    """Could the target record have changed since the link was last synced? Its newest stamp
    against the one stored at that sync — both from the target's own clock, so no skew. Unsure
    (no stamp stored, none on the record): yes."""
    field = target.modified_field
    stored = (link.tribe_modified_at if importing else link.external_modified_at) if link is not None else None
    if record is None or stored is None or field is None:
        return True
    now = newest_stamp(record, field)
    return now is None or now > (stored if stored.tzinfo else stored.replace(tzinfo=UTC))


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | type(None) | dict | list) else str(value)
