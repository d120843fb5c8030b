"""In-memory entity store: validated creates/updates/deletes, deep inserts, change events.

Records are plain dicts holding every standard and set field (explicit ``None``) plus one key per
single navigation holding the target ID (or ``None``). Collection navigations are derived from the
child's back-reference (``ProductLine.Activity``). Records are replaced, never mutated in place, so
a reader holding a record sees a consistent version without taking the lock.
"""
from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

from sandbox.common import Clock
from sandbox.tribe.errors import ODataError, bad_request
from sandbox.tribe.model import ENTITY_SETS, SYSTEM_FIELDS, EntitySet, concrete_members, display_name, set_for_type

__all__ = ["EntityStore", "WritePlan", "iso", "Listener"]

# listener(kind, record) with kind in {"created", "updated", "deleted"}
Listener = Callable[[str, dict], None]


def iso(moment: datetime) -> str:
    """Format a UTC datetime as Tribe does, with a ``Z`` (microseconds keep writes ordered)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class WritePlan:
    """A validated write, built completely before anything is stored (so errors leave no trace)."""

    set_def: EntitySet
    id: str
    existing: dict | None
    values: dict[str, Any] = field(default_factory=dict)
    links: dict[str, str | None] = field(default_factory=dict)
    singles: dict[str, WritePlan] = field(default_factory=dict)
    many: dict[str, list[WritePlan]] = field(default_factory=dict)
    nested: bool = False

    def get(self, key: str) -> Any:
        """The value after this write: planned change, else the existing value."""
        if key in self.values:
            return self.values[key]
        if key in self.links:
            return self.links[key]
        if key in self.singles:
            return self.singles[key].id
        return (self.existing or {}).get(key)


class WriteRules(Protocol):
    """Domain rules plugged into the store (invoices, relationship defaults)."""

    def prepare(self, store: EntityStore, plan: WritePlan) -> None: ...
    def after(self, store: EntityStore, plan: WritePlan, record: dict) -> None: ...
    def before_delete(self, store: EntityStore, record: dict) -> list[str]: ...
    def after_delete(self, store: EntityStore, record: dict) -> None: ...


class EntityStore:
    """Thread-safe record store shared by the HTTP routes, the seeder and tests."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.rules: list[WriteRules] = []
        self.listeners: list[Listener] = []
        self._records: dict[str, dict] = {}
        self._members: dict[str, dict[str, dict]] = {name: {} for name in ENTITY_SETS}
        self._sets_of = {s.type: [n for n in ENTITY_SETS if s.name in concrete_members(n)]
                         for s in ENTITY_SETS.values() if not s.abstract}
        self._events: dict[str, tuple[str, dict]] | None = None
        # Lookups by key, as a database's indexes answer them (the real Tribe does not slow
        # down as it fills): insertion rank, and per reference field its value → record ids.
        self._rank: dict[str, int] = {}
        self._ranked = 0
        self._refs: dict[str, dict[str, dict[str, None]]] = {}

    # ---- reads -------------------------------------------------------------------------
    def rows(self, entity_set: str) -> list[dict]:
        """Records of a set (base sets include subtypes), in insertion order. Do not mutate."""
        with self.lock:
            return list(self._members[entity_set].values())

    def lookup(self, entity_id: str | None, entity_set: str | None = None) -> dict | None:
        """Find a record by ID, optionally only if it belongs to ``entity_set``."""
        if not entity_id:
            return None
        if entity_set is None:
            return self._records.get(entity_id.lower())
        return self._members[entity_set].get(entity_id.lower())

    def children(self, record: dict, nav_name: str) -> list[dict]:
        """Records of a collection navigation (children pointing back via ``nav.via``)."""
        nav = set_for_type(record["_Type"]).navs[nav_name]
        via = nav.via or ""
        return [r for r in self.referring(nav.target, via, [record["ID"]]) if r.get(via) == record["ID"]]

    def referring(self, entity_set: str, field_name: str, values: list[str]) -> list[dict]:
        """Records of a set whose ``field_name`` (``ID`` or a single navigation) holds one of
        ``values`` (case aside), in insertion order: ``rows`` filtered on it, without the scan."""
        with self.lock:
            members = self._members[entity_set]
            if field_name == "ID":
                ids = dict.fromkeys(v.lower() for v in values if v)
            else:
                index = self._refs.get(field_name)
                if index is None:
                    index = self._refs[field_name] = {}
                    for record in self._records.values():
                        self._index_ref(field_name, record)
                ids = {rid: None for v in values if v for rid in index.get(v.lower(), ())}
            return self.in_order(members[rid] for rid in ids if rid in members)

    def in_order(self, records: Iterable[dict]) -> list[dict]:
        """Stored records in insertion order (the order ``rows`` gives)."""
        with self.lock:
            return sorted(records, key=lambda r: self._rank[r["ID"]])

    def resolve(self, record: dict | None, segments: tuple[str, ...]) -> Any:
        """Follow a property path (``Organization/VisitingAddress/City``) from a record."""
        for segment in segments[:-1]:
            if record is None:
                return None
            record = self._records.get(record.get(segment) or "")
        return None if record is None else record.get(segments[-1])

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {name: len(rows) for name, rows in self._members.items() if not ENTITY_SETS[name].abstract}

    # ---- writes ------------------------------------------------------------------------
    def create(self, entity_set: str, body: dict, *, system: bool = False) -> dict:
        """Create an entity (with deep inserts) and return the stored record.

        Args:
            entity_set: Concrete set name.
            body: Field values, ``{"Nav": {"ID": ...}}`` links and deep inserts.
            system: Allow setting ``ID``, ``CreationDate`` and ``LastMutationDate`` (seeding).
        """
        set_def = self._set(entity_set)
        if set_def.abstract:
            raise bad_request(f"Cannot create entities in the base set '{entity_set}'; "
                              "POST to a concrete subtype instead", "AbstractEntitySet")
        with self.lock:
            given = body.get("ID") if system else None
            if given and given.lower() in self._records:
                raise bad_request(f"An entity with ID '{given}' already exists", "DuplicateKey")
            plan = self._prepare(set_def, body, None, system, given)
            return self._commit(plan)

    def update(self, entity_set: str, entity_id: str, body: dict, *, system: bool = False) -> dict:
        """Partially update an entity; only the given fields change."""
        self._set(entity_set)
        with self.lock:
            existing = self._require(entity_set, entity_id)
            plan = self._prepare(set_for_type(existing["_Type"]), body, existing, system)
            return self._commit(plan)

    def delete(self, entity_set: str, entity_id: str) -> None:
        """Delete an entity. Referring entities are left alone (their links dangle, as expand
        shows ``null``); only owned product lines go with their invoice."""
        self._set(entity_set)
        with self.lock:
            record = self._require(entity_set, entity_id)
            set_def = set_for_type(record["_Type"])
            if not set_def.deletable:
                raise ODataError(400, "DeleteNotAllowed", f"Entities of type '{set_def.type}' cannot be "
                                 "deleted through the API")
            cascade: list[str] = []
            for rule in self.rules:
                cascade += rule.before_delete(self, record)
            self._events = {}
            try:
                for child_id in cascade:
                    self._remove(self._records[child_id])
                self._remove(record)
                for rule in self.rules:
                    rule.after_delete(self, record)
            finally:
                self._flush()

    def patch(self, record_id: str, values: dict[str, Any]) -> dict:
        """Rule helper: set derived values on a stored record inside the current write."""
        old = self._records[record_id]
        new = {**old, **values}
        if new != old:
            new["LastMutationDate"] = iso(self.clock.now())
            self._put(new, "updated")
        return new

    def add_within_write(self, entity_set: str, body: dict) -> dict:
        """Rule helper: create a record inside the current write (what Tribe makes by itself,
        such as the PDF it attaches to an invoice when it is sent); its events go with the write's."""
        return self._apply(self._prepare(self._set(entity_set), body, None, False))

    def clear(self) -> None:
        with self.lock:
            self._records.clear()
            for rows in self._members.values():
                rows.clear()
            self._rank.clear()
            self._refs.clear()

    # ---- internals ---------------------------------------------------------------------
    def _set(self, name: str) -> EntitySet:
        set_def = ENTITY_SETS.get(name)
        if set_def is None:
            raise ODataError(404, "EntityTypeNotFound", f"Entity set '{name}' not found")
        return set_def

    def _require(self, entity_set: str, entity_id: str) -> dict:
        record = self.lookup(entity_id, entity_set)
        if record is None:
            raise ODataError(404, "NotFound", f"No entity with ID '{entity_id}' in '{entity_set}'")
        return record

    def _prepare(self, set_def: EntitySet, body: Any, existing: dict | None, system: bool,
                 given_id: str | None = None) -> WritePlan:
        if not isinstance(body, dict):
            raise bad_request(f"Expected a JSON object for an entity of type '{set_def.type}'", "InvalidBody")
        entity_id = existing["ID"] if existing else (given_id or str(uuid.uuid4())).lower()
        plan = WritePlan(set_def, entity_id, existing)
        for key, value in body.items():
            if key in SYSTEM_FIELDS:
                if system and key in ("CreationDate", "LastMutationDate"):
                    plan.values[key] = _coerce(set_def, key, "datetime", value)
                continue  # server-owned; round-tripped values are ignored
            if key in set_def.computed:
                continue  # derived from other data (totals, names)
            kind = set_def.kind(key)
            if kind is not None:
                plan.values[key] = _coerce(set_def, key, kind, value)
            elif key in set_def.navs:
                self._prepare_nav(plan, key, value, system)
            else:
                raise bad_request(f"Property '{key}' does not exist on type '{set_def.type}'", "UnknownProperty")
        for name in set_def.required:
            if (existing is None or name in body) and plan.get(name) in (None, ""):
                raise bad_request(f"Property '{name}' is required on type '{set_def.type}'", "RequiredProperty")
        for rule in self.rules:
            rule.prepare(self, plan)
        return plan

    def _prepare_nav(self, plan: WritePlan, name: str, value: Any, system: bool) -> None:
        nav = plan.set_def.navs[name]
        target = ENTITY_SETS[nav.target]
        if nav.many:
            if not isinstance(value, list):
                raise bad_request(f"Navigation '{name}' expects a JSON array of entities", "InvalidNavigation")
            children = []
            for item in value:
                if isinstance(item, dict) and "ID" in item:
                    raise bad_request(f"Navigation '{name}' only supports deep inserts; link an existing "
                                      f"entity by setting '{nav.via}' on it", "InvalidNavigation")
                child = self._prepare(target, item, None, system)
                child.links[nav.via or ""] = plan.id
                child.nested = True
                children.append(child)
            plan.many[name] = children
            return
        if value is None:
            plan.links[name] = None
        elif isinstance(value, dict) and value.get("ID"):
            if self.lookup(str(value["ID"]), nav.target) is None:
                raise bad_request(f"Navigation '{name}': no {nav.target} with ID '{value['ID']}'",
                                  "InvalidNavigation")
            plan.links[name] = str(value["ID"]).lower()
        elif isinstance(value, dict):
            if target.abstract:
                raise bad_request(f"Navigation '{name}' points to the base set '{target.name}'; "
                                  "deep insert is not possible, link by ID", "InvalidNavigation")
            child = self._prepare(target, value, None, system)
            if nav.inverse:  # an inline address belongs to the entity it was created on
                child.links.setdefault(nav.inverse, plan.id)
            child.nested = True
            plan.singles[name] = child
        else:
            raise bad_request(f"Navigation '{name}' expects an object such as {{\"ID\": \"<guid>\"}}",
                              "InvalidNavigation")

    def _commit(self, plan: WritePlan) -> dict:
        self._events = {}
        try:
            record = self._apply(plan)
            return self._records[record["ID"]]
        finally:
            self._flush()

    def _apply(self, plan: WritePlan) -> dict:
        for name, child in plan.singles.items():
            plan.links[name] = self._apply(child)["ID"]
        now = iso(self.clock.now())
        if plan.existing is None:
            record: dict[str, Any] = {key: None for key in plan.set_def.all_fields()}
            record.update({nav: None for nav, spec in plan.set_def.navs.items() if not spec.many})
            record.update(ID=plan.id, _Type=plan.set_def.type, CreationDate=now)
        else:
            record = dict(plan.existing)
        record.update(plan.values)
        record.update(plan.links)
        if "LastMutationDate" not in plan.values:
            record["LastMutationDate"] = now
        self._derive(plan.set_def, record)
        self._put(record, "created" if plan.existing is None else "updated")
        for children in plan.many.values():
            for child in children:
                self._apply(child)
        for rule in self.rules:
            rule.after(self, plan, self._records[record["ID"]])
        return record

    def _derive(self, set_def: EntitySet, record: dict) -> None:
        if set_def.name == "Relation_Person":
            record["Name"] = display_name(set_def, record)
            first = " ".join(p for p in (record.get("FirstName"), record.get("MiddleName")) if p)
            record["SortName"] = ", ".join(p for p in (record.get("LastName"), first) if p) or None
        if set_def.name == "Address" and record.get("Relation") is None:
            record["Relation"] = record.get("Organization") or record.get("Person")  # the owner
        if set_def.type.startswith("Relationship."):
            child = self.lookup(record.get("Organization") or record.get("Person"))
            record["Name"] = child["_Name"] if child else None
        record["_Name"] = display_name(set_def, record)

    def _put(self, record: dict, kind: str) -> None:
        record_id = record["ID"]
        old = self._records.get(record_id)
        for name in self._refs:
            if old is not None and old.get(name) != record.get(name):
                self._unindex_ref(name, old)
            self._index_ref(name, record)
        if record_id not in self._rank:
            self._rank[record_id], self._ranked = self._ranked, self._ranked + 1
        self._records[record_id] = record
        for name in self._sets_of[record["_Type"]]:
            self._members[name][record_id] = record
        self._note(kind, record)

    def _remove(self, record: dict) -> None:
        self._records.pop(record["ID"], None)
        self._rank.pop(record["ID"], None)
        for name in self._refs:
            self._unindex_ref(name, record)
        for name in self._sets_of[record["_Type"]]:
            self._members[name].pop(record["ID"], None)
        self._note("deleted", record)

    def _index_ref(self, name: str, record: dict) -> None:
        value = record.get(name)
        if isinstance(value, str):
            self._refs[name].setdefault(value.lower(), {})[record["ID"]] = None

    def _unindex_ref(self, name: str, record: dict) -> None:
        value = record.get(name)
        ids = self._refs[name].get(value.lower()) if isinstance(value, str) else None
        if ids is not None:
            ids.pop(record["ID"], None)
            if not ids:
                del self._refs[name][value.lower()]

    def _note(self, kind: str, record: dict) -> None:
        if self._events is None:
            return
        previous = self._events.get(record["ID"])
        if previous and previous[0] == "created" and kind == "updated":
            kind = "created"  # a derived-value patch inside the same write is part of the creation
        self._events[record["ID"]] = (kind, record)

    def _flush(self) -> None:
        events, self._events = self._events or {}, None
        for kind, record in events.values():
            for listener in self.listeners:
                listener(kind, record)


def _coerce(set_def: EntitySet, key: str, kind: str, value: Any) -> Any:
    """Check a written value against the field's kind and normalise dates."""
    if value is None:
        return None
    ok = {
        "string": isinstance(value, str),
        "guid": isinstance(value, str),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "datetime": isinstance(value, str),
        "date": isinstance(value, str),
    }[kind]
    try:
        if ok and kind == "datetime":
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                raise ValueError("no offset")
            return iso(moment.astimezone(UTC))
        if ok and kind == "date":
            return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        ok = False
    if not ok:
        raise bad_request(f"Property '{key}' on type '{set_def.type}' expects a {kind} value, "
                          f"got {value!r}", "InvalidValue")
    return value
