"""Load stages *write* and *bind* for one decided row: create / update / skip / unlink on the
target, then the link and the record's role relationship, the moment the record exists."""
from __future__ import annotations

import logging
from typing import Any

from tribe_operators.exceptions import AmbiguousWriteError, ApiClientError, MappingConfigError, RecordError
from tribe_operators.mapping.engine import Mapper
from tribe_operators.mapping.spec import load_stream
from tribe_operators.mapping.transforms import MapContext
from tribe_operators.protocols import RELATIONSHIP_ID, RelationshipTarget, WritesBack
from tribe_operators.store.links import Link
from tribe_operators.sync.context import StepContext
from tribe_operators.sync.load.reconcile import find_created

__all__ = ["PAST", "carry_out", "carry_out_or_error"]

log = logging.getLogger(__name__)
PAST = {"create": "created", "update": "updated", "link": "linked", "skip": "skipped"}
Outcome = tuple[dict[str, Any], dict[str, Any] | None, str, Any]


def carry_out_or_error(ctx: StepContext, target: Any, source: Any, row: dict[str, Any],
                       **kwargs: Any) -> Outcome | Exception:
    try:
        return carry_out(ctx, target, source, row, **kwargs)
    except Exception as exc:  # noqa: BLE001 - handed back: the chunk's other rows are recorded first
        return exc


def carry_out(ctx: StepContext, target: Any, source: Any, row: dict[str, Any], *, current: dict[str, dict[str, Any]],
              wanted: dict[str, dict[str, Any]]) -> Outcome:
    """One decided row through *write* and *bind*: (its staging status, its quarantine entry or
    None, outcome, the target record as it now is when the target answered with it)."""
    try:
        target_id, outcome, record, made = _write(ctx, target, row, current, source, wanted.get(row["source_id"]))
    except (RecordError, ApiClientError) as exc:
        reason = exc.reason if isinstance(exc, RecordError) else exc.message
        problem = {"record_id": row["source_id"], "field": getattr(exc, "field", None),
                   "reason": f"{ctx.spec.target.system} refused the record: {reason}", "payload": row["payload"]}
        return {"source_id": row["source_id"], "status": "quarantined", "error": reason}, problem, "quarantined", None
    if outcome == "unlinked":  # deleted on the target side: the link is gone, nothing written
        return {"source_id": row["source_id"], "status": "loaded", "target_id": None}, None, outcome, None
    links = [] if made is None else [made]  # the role relationship the create made
    if row["decision"] != "skip":
        # One transaction for the record's link and its role's: a fresh record can have no link
        # yet (nothing to keep), and none is lost between two commits.
        links.append(_link(ctx, row, target_id, fresh=made is not None))
    ctx.links.bulk_bind(links)
    if row["decision"] != "skip":
        _bind_read_role(ctx, row, target_id)
    if made is None:  # a create made the role with the record: nothing more to look up
        _give_role(ctx, target, row, target_id)
    return {"source_id": row["source_id"], "status": "loaded", "target_id": target_id}, None, outcome, record


def _write(ctx: StepContext, target: Any, row: dict[str, Any], current: dict[str, dict[str, Any]],
           source: Any, wanted: dict[str, Any] | None = None) -> tuple[str, str, Any, Link | None]:
    """Carry out one decision; returns (target id, what happened, the record as the target now
    holds it — when the target answered with it — or None, and the link to the role
    relationship a create made together with a new record, or None)."""
    answers = target.answers_with_record
    fields = row["mapped"]["fields"]
    decision = row["decision"]
    mapper = Mapper(ctx.spec, MapContext(settings=ctx.settings))
    if decision == "create":
        try:
            created = target.create(ctx.spec, mapper.creatable(fields))
        except AmbiguousWriteError:
            # The create may have landed: look for it by its key before creating again.
            found = find_created(ctx, target, fields)
            if found is not None:
                found_id, record = found
                _write_back(ctx, source, row["source_id"], record, row["payload"])
                return found_id, "created", None, None
            created = target.create(ctx.spec, mapper.creatable(fields))
        _write_back(ctx, source, row["source_id"], created, row["payload"])
        made = None
        if created.get(RELATIONSHIP_ID):  # the organisation was created inside its role relationship
            made = Link(entity=f"{ctx.spec.target.link_entity}_relationship", tribe_id=created[RELATIONSHIP_ID],
                        external_id=row["source_id"])
        return ctx.spec.target.record_id(created, target.id_key), "created", created if answers else None, made
    if decision == "update":
        if row["target_id"] not in current:
            return _unlink_deleted(ctx, row), "unlinked", None, None
        now = current[row["target_id"]]
        wanted = {**(mapper.updatable(fields) if wanted is None else wanted), **mapper.raised(fields, now)}
        if _number_is_the_records(ctx, row, wanted):
            wanted = {k: v for k, v in wanted.items() if k not in ctx.spec.target.write_back}
            _write_back(ctx, source, row["source_id"], now, row["payload"])
        if not target.differs(now, wanted):
            return row["target_id"], "skipped", now if answers else None, None  # already so (our own write's echo)
        written = target.update(ctx.spec, row["target_id"], wanted, now)
        return row["target_id"], "updated", written if answers else None, None
    if decision == "link" and row.get("created_earlier"):  # an earlier try's create (reconcile.py)
        _write_back(ctx, source, row["source_id"], row["created_earlier"], row["payload"])
    return row["target_id"], PAST[decision], None, None


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


def _number_is_the_records(ctx: StepContext, row: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Whether an update takes the target record's number instead of writing its own: when the
    target numbers its records (the number is not ours to write), or when an earlier role of the
    same contact links that record (a Tribe organisation in both roles is one Odoo partner with
    one number, the customer's: the supplier role must not write its creditor number over it)."""
    numbers = ctx.spec.target.write_back
    if not numbers or ctx.spec.direction != "export":
        return False
    if not any(field in wanted for field in numbers):
        return True
    roles = ctx.spec.party
    earlier = [load_stream(ctx.spec.integration, s) for s in roles[:roles.index(ctx.spec.stream)]] if roles else []
    return any(ctx.links.to_external(r.target.link_entity, row["source_id"]) == str(row["target_id"]) for r in earlier)


def _write_back(ctx: StepContext, source: Any, source_id: str, created: dict[str, Any],
                known: dict[str, Any] | None = None) -> None:
    """The target's own numbering leads: copy it back to the source (the accounting system's
    customer number becomes Tribe's debtor number); ``known`` is the source record as read, so a
    number it already holds is not written again."""
    changes = {src: str(created[tgt]) for tgt, src in ctx.spec.target.write_back.items()
               if created.get(tgt) not in (None, False, "") and str((known or {}).get(src)) != str(created[tgt])}
    if changes and isinstance(source, WritesBack):
        source.write_back(ctx.spec, source_id, changes)


def _link(ctx: StepContext, row: dict[str, Any], target_id: str, fresh: bool = False) -> Link:
    """The binding after a write; the hash is stored on the side that was written. ``fresh``:
    the target record was made just now, so no link of the other direction names it yet."""
    number = row["mapped"]["fields"].get(ctx.spec.target.number) if ctx.spec.target.number else None
    entity, content = ctx.spec.target.link_entity, row["mapped"]["update_hash"]
    if ctx.spec.direction == "export":
        return Link(entity=entity, tribe_id=row["source_id"], external_id=target_id, external_hash=content,
                    tribe_modified_at=row["source_modified_at"],
                    **_kept(ctx, entity, row["source_id"], "tribe_hash", "external_number"))
    return Link(entity=entity, tribe_id=target_id, external_id=row["source_id"], external_number=number,
                tribe_hash=content, external_modified_at=row["source_modified_at"],
                **({} if fresh else _kept(ctx, entity, target_id, "external_hash")))


def _kept(ctx: StepContext, entity: str, tribe_id: str, *names: str) -> dict[str, Any]:
    """What the other direction stored on this link (a bind must not wipe it)."""
    link = ctx.links.links_by_tribe(entity, [tribe_id]).get(str(tribe_id))
    return {name: getattr(link, name) for name in names} if link else {}


def _bind_read_role(ctx: StepContext, row: dict[str, Any], external_id: str) -> None:
    """An export read through its role relationship (a Tribe customer) links that relationship
    too: an invoice names its customer by the relationship, also for a Tribe-born customer."""
    rel_id = (row["payload"].get(RELATIONSHIP_ID.rsplit(".", 1)[0]) or {}).get("ID")
    if ctx.spec.direction != "export" or not rel_id:
        return
    entity = f"{ctx.spec.target.link_entity}_relationship"
    if ctx.links.to_external(entity, str(rel_id)) != str(external_id):
        ctx.links.bind(Link(entity=entity, tribe_id=str(rel_id), external_id=str(external_id)))


def _give_role(ctx: StepContext, target: Any, row: dict[str, Any], tribe_id: str) -> None:
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
