"""extract → map → dedupe → load over the staging table. Each returns a dict of counts.

Bad records never stop a batch: they are quarantined with the field and a reason.
Network trouble after the hook's own retries propagates (Airflow retries the task; the
staging rows and link table make the retry pick up where it stopped).
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from typing import Any

from tribe_operators.dedupe import Deduper, party_roles
from tribe_operators.dedupe.keys import field_value, key_tuple
from tribe_operators.exceptions import AmbiguousWriteError, ApiClientError, MappingConfigError, OutOfScope, RecordError
from tribe_operators.mapping.engine import Mapper
from tribe_operators.mapping.filters import conditions_for
from tribe_operators.mapping.transforms import MapContext
from tribe_operators.store.links import Link
from tribe_operators.store.runs import record_step
from tribe_operators.store.staging import Staging
from tribe_operators.sync.conflicts import newest_stamp, resolve_conflicts
from tribe_operators.sync.context import StepContext
from tribe_operators.systems.protocols import RELATIONSHIP_ID, RelationshipTarget, WritesBack

__all__ = ["dedupe_step", "extract_step", "load_step", "map_step"]

log = logging.getLogger(__name__)
RETRY_LIMIT = 200  # quarantined records re-read per run and stream


def _finish(ctx: StepContext, step: str, counts: dict[str, int], started: datetime) -> dict[str, int]:
    record_step(ctx.engine, run_id=ctx.run_id, dag_id=ctx.dag_id, integration=ctx.integration,
                stream=ctx.spec.stream, step=step, counts=counts, started_at=started, dry_run=ctx.dry_run,
                window=ctx.window, scope=ctx.scope)
    log.info("%s/%s %s: %s", ctx.integration, ctx.spec.stream, step, counts)
    return counts


def extract_step(ctx: StepContext, source: Any) -> dict[str, int]:
    """Stream changed records from the source into staging, one page at a time."""
    started = datetime.now(UTC)
    staging = ctx.staging
    staging.clear()
    since, until = ctx.window
    extracted = pages = 0
    seen: set[str] = set()
    where = conditions_for(ctx.spec, ctx.settings)  # the mapping's and the settings' filters
    for rows in source.extract(ctx.spec, since, until, where=where):
        extracted += staging.put_extracted(rows)
        seen.update(row[0] for row in rows)
        pages += 1
    # Quarantined records are tried again every run (fixed at the source, or their dependency —
    # a product's group, an invoice's customer — has been synced since), read afresh by id.
    retry = [q["record_id"] for q in ctx.quarantine.open(ctx.spec.stream) if q["record_id"] not in seen][:RETRY_LIMIT]
    retried = staging.put_extracted(source.fetch(ctx.spec, retry, where=where)) if retry else 0
    return _finish(ctx, "extract", {"extracted": extracted + retried, "retried": retried, "pages": pages}, started)


def map_step(ctx: StepContext, adapters: dict[str, Any]) -> dict[str, int]:
    """Apply the field map; quarantine records that cannot be mapped."""
    started = datetime.now(UTC)
    counts = {"mapped": 0, "quarantined": 0, "out_of_scope": 0}
    mapper = None
    key_fields = {f for key in ctx.spec.dedupe for f in key.match or []}
    for chunk in ctx.staging.iter_rows("extracted"):
        if mapper is None:  # lookup tables are read only when there is something to map (idle runs)
            mapper = Mapper(ctx.spec, _map_context(ctx, ctx.lookups(ctx.spec, adapters)))
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
                            "payload": row["payload"]})
                # Its numbers still take part in dedupe (its other roles must not match around them).
                keys = {f: exc.mapped[f] for f in key_fields if f in exc.mapped}
                updates.append({"source_id": row["source_id"], "status": "quarantined", "error": str(exc),
                                "mapped": {"fields": keys, "update_hash": None} if keys else None})
                continue
            updates.append({"source_id": row["source_id"], "status": "mapped",
                            "mapped": {"fields": mapped.fields, "update_hash": mapped.update_hash}})
        ctx.staging.update_rows(updates)
        if not ctx.dry_run:
            ctx.quarantine.add(bad, system=ctx.spec.source.system, stream=ctx.spec.stream, run_id=ctx.run_id)
            ctx.quarantine.resolve(ctx.spec.stream, ignored)
        counts["mapped"] += len(updates) - len(bad) - len(ignored)
        counts["quarantined"] += len(bad)
        counts["out_of_scope"] += len(ignored)
    return _finish(ctx, "map", counts, started)


def _map_context(ctx: StepContext, lookups: dict[str, dict[str, str]]) -> MapContext:
    links = ctx.links
    return MapContext(lookups=lookups, settings=ctx.settings,
                      links=lambda entity, tid: links.to_external(entity, tid),
                      internal=lambda entity, eid: links.to_internal(entity, eid))


# Staged rows whose key fields are known: mapped, decided or loaded, or quarantined with keys.
_KEYED = ("mapped", "quarantined", "decided", "loaded")


def dedupe_step(ctx: StepContext, target: Any) -> dict[str, int]:
    """Decide create / update / link / skip for every mapped record. A record that is one role
    of a contact (customer and supplier) is resolved with the keys of all its roles read in
    this run, so every role of the contact gets the same answer (``dedupe.party``)."""
    started = datetime.now(UTC)
    roles = party_roles(ctx.spec)
    deduper = Deduper(ctx.spec, ctx.links, target, roles)
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
                            "payload": by_id[decision.source_id]["payload"]})
                updates.append({"source_id": decision.source_id, "status": "quarantined", "error": reason})
                counts["quarantined"] += 1
                continue
            counts[decision.decision] += 1
            updates.append({"source_id": decision.source_id, "status": "decided", "decision": decision.decision,
                            "target_id": decision.target_id, "match_keys": decision.matched_by})
        ctx.staging.update_rows(updates)
        if not ctx.dry_run:
            ctx.quarantine.add(bad, system=ctx.spec.target.system, stream=ctx.spec.stream, run_id=ctx.run_id)
    return _finish(ctx, "dedupe", counts, started)


def load_step(ctx: StepContext, target: Any, source: Any = None) -> dict[str, int]:
    """Carry out the decisions; bind each link the moment its record exists remotely."""
    started = datetime.now(UTC)
    counts = {"created": 0, "updated": 0, "linked": 0, "skipped": 0, "matched": 0, "unlinked": 0, "quarantined": 0}
    spec, links, loaded = ctx.spec, ctx.links, []
    own = spec.target.link_entity
    for chunk in ctx.staging.iter_rows("decided", chunk=200):
        if ctx.dry_run:
            for row in chunk:
                counts[_PAST[row["decision"]]] += 1
            continue
        if ctx.attempt > 1:  # an earlier attempt may have created some of these already
            chunk = _reconcile_retry(ctx, target, chunk)
        updating = {r["target_id"]: r["mapped"]["fields"] for r in chunk if r["decision"] == "update"}
        current = target.fetch(spec, list(updating), hints=updating) if updating else {}
        mapper = Mapper(spec, MapContext())
        wanted = {r["source_id"]: mapper.updatable(r["mapped"]["fields"]) for r in chunk if r["decision"] == "update"}
        kept = resolve_conflicts(ctx, target, source, [r for r in chunk if r["decision"] == "update"],
                                 current, wanted) if source is not None else {}
        counts["conflicts"] = counts.get("conflicts", 0) + len(kept)
        # Rows are independent once decided: several in flight at once keep a slow API busy up
        # to its rate limit (the hook's shared limiter paces them). Each row binds its own link
        # the moment its record exists, so a failure elsewhere never loses a create.
        with ThreadPoolExecutor(max_workers=_concurrency(ctx), thread_name_prefix="load") as pool:
            results = list(pool.map(partial(_load_row_or_error, ctx, target, source, current=current,
                                             wanted=wanted), chunk))
        # A row that failed after its retries (an ambiguous write, an outage) stays "decided" for
        # the task's retry; the rest of the chunk is recorded first, so each attempt gets further.
        failed = [r for r in results if isinstance(r, Exception)]
        chunk = [row for row, r in zip(chunk, results, strict=True) if not isinstance(r, Exception)]
        results = [r for r in results if not isinstance(r, Exception)]
        done, bad, answered = [], [], {}
        for row, (status, problem, outcome, record) in zip(chunk, results, strict=True):
            if record is not None:
                answered[status["target_id"]] = record
            counts[outcome] += 1
            done.append(status)
            if problem is not None:
                bad.append(problem)
                continue
            loaded.append(row["source_id"])
            matched = str(row.get("match_keys") or "").startswith("match:")
            counts["matched"] += matched and outcome != "unlinked"  # found, not created
        ctx.staging.update_rows(done)
        ctx.quarantine.add(bad, system=spec.target.system, stream=spec.stream, run_id=ctx.run_id)
        # A field the target side won must still travel the other way: leave its hash stale.
        # A row decided "skip" was not touched: the hash stored when it was written still holds
        # (re-reading it would cost one call per unchanged record).
        decided = {r["source_id"]: r["decision"] for r in chunk}
        _counterpart_hashes(ctx, target, source, {d["source_id"]: d["target_id"] for d in done
                                                  if d["status"] == "loaded" and d["target_id"] is not None
                                                  and decided[d["source_id"]] != "skip"
                                                  and d["source_id"] not in kept}, answered)
        if failed:
            log.warning("%s: %d row(s) of this chunk failed; the first: %s", spec.stream, len(failed), failed[0])
            raise failed[0]
    if not ctx.dry_run:
        ctx.quarantine.resolve(spec.stream, loaded)
        if ctx.window[1] is not None:
            ctx.watermarks.advance(spec.stream, spec.direction, ctx.window[1], ctx.run_id, since=ctx.window[0])
    log.info("%s links now bound for %s", links.count(own), own)
    return _finish(ctx, "load", counts, started)


_PAST = {"create": "created", "update": "updated", "link": "linked", "skip": "skipped"}
LOAD_CONCURRENCY = 4  # default rows in flight per load task (settings: load_concurrency)


def _concurrency(ctx: StepContext) -> int:
    return max(1, int(ctx.settings.get("load_concurrency", LOAD_CONCURRENCY)))


def _load_row_or_error(ctx: StepContext, target: Any, source: Any, row: dict[str, Any],
                       **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any] | None, str, Any] | Exception:
    try:
        return _load_row(ctx, target, source, row, **kwargs)
    except Exception as exc:  # noqa: BLE001 - handed back: the chunk's other rows are recorded first
        return exc


def _load_row(ctx: StepContext, target: Any, source: Any, row: dict[str, Any], *, current: dict[str, dict[str, Any]],
              wanted: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any] | None, str, Any]:
    """Carry out one decided row: (its staging status, its quarantine entry or None, outcome,
    the target record as it now is when the target answered with it)."""
    try:
        target_id, outcome, record = _apply(ctx, target, row, current, source, wanted.get(row["source_id"]))
    except (RecordError, ApiClientError) as exc:
        reason = exc.reason if isinstance(exc, RecordError) else exc.message
        problem = {"record_id": row["source_id"], "field": getattr(exc, "field", None),
                   "reason": f"{ctx.spec.target.system} refused the record: {reason}", "payload": row["payload"]}
        return {"source_id": row["source_id"], "status": "quarantined", "error": reason}, problem, "quarantined", None
    if outcome == "unlinked":  # deleted on the target side: the link is gone, nothing written
        return {"source_id": row["source_id"], "status": "loaded", "target_id": None}, None, outcome, None
    if row["decision"] != "skip":
        ctx.links.bind(_link(ctx, row, target_id))
    _ensure_relationship(ctx, target, row, target_id)
    return {"source_id": row["source_id"], "status": "loaded", "target_id": target_id}, None, outcome, record


def _apply(ctx: StepContext, target: Any, row: dict[str, Any], current: dict[str, dict[str, Any]],
           source: Any, wanted: dict[str, Any] | None = None) -> tuple[str, str, Any]:
    """Carry out one decision; returns (target id, what happened, the record as the target now
    holds it — when the target answered with it — or None)."""
    answers = target.answers_with_record
    fields = row["mapped"]["fields"]
    decision = row["decision"]
    mapper = Mapper(ctx.spec, MapContext())
    if decision == "create":
        try:
            created = target.create(ctx.spec, mapper.creatable(fields))
        except AmbiguousWriteError:
            # The create may have landed: look for it by its import reference before retrying.
            found = _find_created(ctx, target, fields)
            if found is not None:
                return found, "created", None
            created = target.create(ctx.spec, mapper.creatable(fields))
        _write_back(ctx, source, row["source_id"], created)
        if created.get(RELATIONSHIP_ID):  # the organisation was created inside its role relationship
            ctx.links.bind(Link(entity=f"{ctx.spec.target.link_entity}_relationship",
                                tribe_id=created[RELATIONSHIP_ID], external_id=row["source_id"]))
        return ctx.spec.target.record_id(created, target.id_key), "created", created if answers else None
    if decision == "update":
        if row["target_id"] not in current:
            return _unlink_deleted(ctx, row), "unlinked", None
        now = current[row["target_id"]]
        wanted = mapper.updatable(fields) if wanted is None else wanted
        if not target.differs(now, wanted):
            return row["target_id"], "skipped", now if answers else None  # already so (the echo of our own write)
        written = target.update(ctx.spec, row["target_id"], wanted, now)
        return row["target_id"], "updated", written if answers else None
    return row["target_id"], _PAST[decision], None


def _unlink_deleted(ctx: StepContext, row: dict[str, Any]) -> str:
    """Seed: deleting in one system never deletes in the other. The linked record is gone from
    the target, so the link is dropped and the source record stays as it is; a later change to
    it is then synced as a new record (matched by number first, like any unlinked one)."""
    matched = str(row.get("match_keys") or "")
    entities = {ctx.spec.target.link_entity} | ({matched[5:]} if matched.startswith("link:") else set())
    side = "tribe_id" if ctx.spec.direction == "export" else "external_id"
    for entity in entities:
        ctx.links.unbind(entity, **{side: row["source_id"]})
    log.warning("%s %s: linked %s %s was deleted in %s; link dropped, %s record kept", ctx.spec.stream,
                row["source_id"], ctx.spec.target.entity_set, row["target_id"], ctx.spec.target.system,
                ctx.spec.source.system)
    return row["target_id"]


def _write_back(ctx: StepContext, source: Any, source_id: str, created: dict[str, Any]) -> None:
    """The target's own numbering leads: copy it back to the source (PowerOffice's customer
    number becomes Tribe's debtor number)."""
    changes = {src: str(created[tgt]) for tgt, src in ctx.spec.target.write_back.items() if created.get(tgt) is not None}
    if changes and isinstance(source, WritesBack):
        source.write_back(ctx.spec, source_id, changes)


def _reconcile_retry(ctx: StepContext, target: Any, chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Turn creates that already happened (bound, or findable by import reference) into links."""
    creates = {r["source_id"]: r for r in chunk if r["decision"] == "create"}
    if not creates:
        return chunk
    bound = ctx.links.bulk_to_internal(ctx.spec.target.link_entity, list(creates))
    key = next((k.match for k in ctx.spec.dedupe if k.match), None)
    unbound = {sid: r for sid, r in creates.items() if sid not in bound}
    found: dict[str, str] = {}
    if key and unbound:
        values = {sid: tuple(field_value(r["mapped"]["fields"], f) for f in key) for sid, r in unbound.items()}
        matches = target.find(ctx.spec, key, list(values.values()))
        found = {sid: ctx.spec.target.record_id(ms[0], target.id_key)
                 for sid, v in values.items() if len(ms := matches.get(v, [])) == 1}
    out = []
    for row in chunk:
        sid = row["source_id"]
        if sid in bound or sid in found:
            row = {**row, "decision": "link", "target_id": bound.get(sid) or found[sid]}
            log.warning("record %s was created by an earlier attempt; linking, not creating again", sid)
        out.append(row)
    return out


def _find_created(ctx: StepContext, target: Any, fields: dict[str, Any]) -> str | None:
    for key in ctx.spec.dedupe:
        value = tuple(field_value(fields, f) for f in key.match or ())
        if key.match and key_tuple(value, key.normalisers()) is not None:
            records = target.find(ctx.spec, key.match, [value]).get(value, [])
            if len(records) == 1:
                return ctx.spec.target.record_id(records[0], target.id_key)
    return None


def _link(ctx: StepContext, row: dict[str, Any], target_id: str) -> Link:
    """The binding after a write; the hash is stored on the side that was written."""
    number_field = next((k.match[0] for k in ctx.spec.dedupe if k.match and k.match[0].endswith("Number")), None)
    number = row["mapped"]["fields"].get(number_field) if number_field else None
    entity, content = ctx.spec.target.link_entity, row["mapped"]["update_hash"]
    if ctx.spec.direction == "export":
        return Link(entity=entity, tribe_id=row["source_id"], external_id=target_id, external_hash=content,
                    tribe_modified_at=row["source_modified_at"],
                    **_kept(ctx, entity, row["source_id"], "tribe_hash", "external_number"))
    return Link(entity=entity, tribe_id=target_id, external_id=row["source_id"], external_number=number,
                tribe_hash=content, external_modified_at=row["source_modified_at"],
                **_kept(ctx, entity, target_id, "external_hash"))


def _counterpart_hashes(ctx: StepContext, target: Any, source: Any, written: dict[str, str],
                        answered: dict[str, dict[str, Any]] | None = None) -> None:
    """Hash what we just wrote as the opposite stream will see it, and store that hash on the
    opposite side of the link: when the opposite stream reads our own write back, its content
    hash matches and nothing is echoed."""
    name = ctx.spec.counterpart
    if not name or not written:
        return
    from tribe_operators.mapping.spec import load_stream

    other = load_stream(ctx.integration, name)
    adapters = {target.system: target, getattr(source, "system", None): source}
    mapper = Mapper(other, _map_context(ctx, ctx.lookups(other, adapters)))  # links too: a product names its group
    side = "external_hash" if ctx.spec.direction == "import" else "tribe_hash"
    stamp_field = target.modified_field
    answered = {str(rid): rec for rid, rec in (answered or {}).items()}
    records = {str(tid): answered[str(tid)] for tid in written.values() if str(tid) in answered}
    unread = [tid for tid in written.values() if str(tid) not in records]
    records |= {rid: rec for rid, _, rec in (target.as_source().fetch(other, unread) if unread else [])}
    links = ctx.links.links_by_tribe(ctx.spec.target.link_entity, [
        tid if ctx.spec.direction == "import" else sid for sid, tid in written.items()])
    updated = []
    for source_id, target_id in written.items():
        tribe_id = target_id if ctx.spec.direction == "import" else source_id
        link, record = links.get(str(tribe_id)), records.get(str(target_id))
        if link is None or record is None:
            continue
        try:
            setattr(link, side, mapper.map(record).update_hash)
        except RecordError:
            setattr(link, side, None)  # the opposite stream will look at it properly
        if stamp_field and ctx.spec.direction == "import":  # the conflict check's "changed since"
            link.tribe_modified_at = newest_stamp(record, stamp_field)
        updated.append(link)
    ctx.links.bulk_bind(updated)


def _kept(ctx: StepContext, entity: str, tribe_id: str, *names: str) -> dict[str, Any]:
    """What the other direction stored on this link (a bind must not wipe it)."""
    link = ctx.links.links_by_tribe(entity, [tribe_id]).get(str(tribe_id))
    return {name: getattr(link, name) for name in names} if link else {}


def _ensure_relationship(ctx: StepContext, target: Any, row: dict[str, Any], tribe_id: str) -> None:
    """Give the organisation its role (customer / supplier) once; remember it as a link."""
    if ctx.spec.target.relationship is None:
        return
    if not isinstance(target, RelationshipTarget):
        raise MappingConfigError(f"{ctx.spec.integration}/{ctx.spec.stream}: target.relationship is set, but "
                                 f"{target.system} records take no role relationship")
    entity = f"{ctx.spec.target.link_entity}_relationship"
    if ctx.links.to_internal(entity, row["source_id"]) is not None:
        return
    # Not linked yet: a record linked or matched here, or a create whose answer was lost.
    rel_id = target.find_relationship(ctx.spec, tribe_id)
    if rel_id is None:
        rel_id = target.create_relationship(ctx.spec, tribe_id)
    ctx.links.bind(Link(entity=entity, tribe_id=rel_id, external_id=row["source_id"]))
