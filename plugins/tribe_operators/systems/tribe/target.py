"""Tribe CRM as a *target*: find existing records, create, update, ensure relationships.

Navigation fields in a mapped record are either references (``{"ID": …}``) or nested
records (an address). Nested records are created in the same POST (deep insert) and, on
update, written to the existing nested record so addresses never pile up.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tribe_operators.dedupe.keys import KeyLookup, key_needles, normal_key
from tribe_operators.mapping.compare import same_value
from tribe_operators.protocols import RELATIONSHIP_ID, Adapter
from tribe_operators.systems.tribe.hook import FIND_CHUNK
from tribe_operators.systems.tribe.nested import NESTED_SETS

if TYPE_CHECKING:
    from tribe_operators.mapping.spec import StreamSpec
    from tribe_operators.systems.tribe.hook import TribeCrmHook

__all__ = ["ON_RELATIONSHIP", "TribeTarget", "nested_fields", "relationship_fields"]

# A mapped field written on the record's role relationship rather than on the record:
# "@relationship.IsFormer" (an archived Odoo partner is a former customer in Tribe).
ON_RELATIONSHIP = RELATIONSHIP_ID.rsplit(".", 1)[0] + "."


def relationship_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """``{"IsFormer": True}`` from ``{"@relationship.IsFormer": True, "Name": …}``."""
    return {k[len(ON_RELATIONSHIP):]: v for k, v in fields.items() if k.startswith(ON_RELATIONSHIP) and k != RELATIONSHIP_ID}


def nested_fields(fields: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Navigations that carry a nested record (not a bare ``{"ID"}`` reference)."""
    return {k: v for k, v in fields.items() if isinstance(v, dict) and set(v) != {"ID"}}


class TribeTarget(Adapter):
    system = "tribe"
    id_key = "ID"
    # A create answers with the new ids only (the deep insert's expansion): what was written is
    # read back, 40 records a call, to hash it as the opposite stream will see it.
    answers_with_record = False
    modified_field = "LastMutationDate"  # on every record, nested ones (addresses) included

    def __init__(self, hook: TribeCrmHook, settings: dict[str, Any] | None = None,
                 scope: dict[str, Any] | None = None) -> None:
        super().__init__(hook, settings, scope)
        self._indexes: dict[tuple[str, str], dict[Any, list[str]]] = {}
        self._planned: dict[tuple[str, str], int] = {}  # keys a caller will ask for, a chunk at a time

    def plan_find(self, spec: StreamSpec, fields: list[str], total: int | None) -> None:
        """The caller will ask ``find`` for ``total`` keys of ``fields`` in chunks (None: it is
        done): whether to read the whole set instead is decided once, for all of them."""
        if len(fields) == 1:
            if total is None:
                self._planned.pop((spec.target.entity_set, fields[0]), None)
            else:
                self._planned[(spec.target.entity_set, fields[0])] = total

    def lookup_table(self, entity_set: str, key: str, value: str | None = None) -> dict[str, str]:
        return self.hook.codes(entity_set, key, value)

    def _expand_for(self, spec: StreamSpec) -> str | None:
        # Nested records come back with their reference navigations, so they compare equal.
        navs = [f"{f.target}($expand=Country($select=ID))" for f in spec.fields if f.transform == "address"]
        navs += [f.target for f in spec.fields if f.target in NESTED_SETS]
        return ",".join(navs) or None

    # -- finding ---------------------------------------------------------------------------
    def fetch(self, spec: StreamSpec, ids: Iterable[str], hints: Any = None) -> dict[str, dict[str, Any]]:
        """Current records by Tribe id (nested records expanded), missing ids left out; with the
        fields the mapping writes on their role relationship (``@relationship.IsFormer``, and its
        ``@relationship.ID``) when it writes any."""
        wanted, expand, rows = list(ids), self._expand_for(spec), {}
        rel = spec.target.relationship
        if rel is not None and any(f.target.startswith(ON_RELATIONSHIP) for f in spec.fields):
            # Read through the role relationship: the record and its relationship in one call.
            inner = f"{rel.child}($expand={expand})" if expand else rel.child
            for found in self.hook.find_by(rel.entity_set, f"{rel.child}/ID", wanted, expand=inner):
                record = found.get(rel.child) or {}
                if record.get("ID") in wanted and record["ID"] not in rows:
                    rows[record["ID"]] = {**record, **{ON_RELATIONSHIP + k: v for k, v in found.items()
                                                        if not isinstance(v, dict | list)}}
            wanted = [i for i in wanted if i not in rows]  # no role yet (matched by number): read alone
        rows.update({row["ID"]: row for row in self.hook.find_by(spec.target.entity_set, "ID", wanted, expand=expand)}
                    if wanted else {})
        return rows

    def find(self, spec: StreamSpec, fields: list[str], values: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
        """Records whose ``fields`` equal each tuple of ``values`` → ``{values: [records]}``.

        Equal in the normal form of a key (``dedupe.keys``): a debtor number typed ``" 011013"``
        in Tribe is ``11013``. Tribe filters compare as stored, so the query asks for what
        *contains* each value (case-insensitive, a superset) and the normal forms decide here.
        """
        shape = spec.key_normalisers(fields)
        lookup = KeyLookup(fields, values, shape)
        wanted = lookup.wanted
        expand = self._expand_for(spec)
        if len(fields) == 1:
            keys = [normal[0] for normal in wanted]
            planned = self._planned.get((spec.target.entity_set, fields[0]))
            index = self._key_index(spec.target.entity_set, fields[0], len(keys) if planned is None else planned)
            if index is None and planned:  # decided: look the keys up (no count call per chunk)
                self._planned[(spec.target.entity_set, fields[0])] = 0
            if index is not None:  # fetch only the records whose key is there, by id
                ids = [i for k in keys for i in index.get(k, [])]
                rows = self.hook.find_by(spec.target.entity_set, "ID", ids, expand=expand) if ids else []
            else:
                rows = self.hook.find_containing(spec.target.entity_set, fields[0], keys, expand=expand)
        else:  # composite keys: an `or` of `and`s, a page of keys per call (Tribe has no tuple filter)
            groups = [{f: needle for f, needle in zip(fields, key_needles(normal, shape), strict=True) if needle}
                      for normal in wanted]
            rows = self.hook.find_any_of(spec.target.entity_set, groups, expand=expand)
        for row in rows:
            lookup.add(row)
        return lookup.found

    def _key_index(self, entity_set: str, field: str, wanted: int) -> dict[Any, list[str]] | None:
        """``{normal key: [ids]}`` of a whole set, when reading it is cheaper than looking the
        keys up: Tribe filters take ~40 values per call (URL length), a page holds 100 records.
        An initial import into a near-empty Tribe costs one count call instead of one lookup
        per 40 records. Built once per target (a task), dropped on any write by this target."""
        cache_key = (entity_set, field)
        if cache_key in self._indexes:
            return self._indexes[cache_key]
        keyed_calls = -(-wanted // FIND_CHUNK)
        if keyed_calls <= 2:
            return None
        total = self.hook.count(entity_set)
        if -(-total // self.hook.page_size) >= keyed_calls:  # later chunks of the task reuse the index
            return None
        index: dict[Any, list[str]] = {}
        for row in self.hook.iter_records(entity_set, select=["ID", field]):
            if (normal := normal_key(row.get(field))) is not None:
                index.setdefault(normal, []).append(row["ID"])
        self._indexes[cache_key] = index
        return index

    def differs(self, current: dict[str, Any], fields: dict[str, Any]) -> bool:
        """Would writing ``fields`` change ``current``?"""
        return not all(same_value(current.get(k), v) for k, v in fields.items())

    # -- writing ---------------------------------------------------------------------------
    def create(self, spec: StreamSpec, fields: dict[str, Any]) -> dict[str, Any]:
        """POST the record, nested records included (deep insert); returns it (with ``ID``).

        An organisation that needs a role is created *inside* its Customer/Supplier
        relationship (Tribe's documented deep insert): one call instead of two. The
        relationship's id comes back as ``RELATIONSHIP_ID`` so it is linked at once.
        """
        self._indexes.clear()
        rel = spec.target.relationship
        on_relationship = relationship_fields(fields)
        fields = {k: v for k, v in fields.items() if not k.startswith(ON_RELATIONSHIP)}
        if rel is None:
            if on_relationship:
                raise ValueError(f"{spec.stream}: fields {sorted(on_relationship)} go on a role relationship, "
                                 "but target.relationship is not set")
            return self.hook.create(spec.target.entity_set, fields)
        body = {**rel.fields, **on_relationship, "Relation": {"ID": self.hook.identity_relation_id}, rel.child: fields}
        created = self.hook.create(rel.entity_set, body, expand=f"{rel.child}($select=ID)")
        return {**fields, "ID": created[rel.child]["ID"], RELATIONSHIP_ID: created["ID"]}

    def update(self, spec: StreamSpec, tribe_id: str, fields: dict[str, Any], current: dict[str, Any] | None) -> None:
        """Write only what changed; nested records are updated in place or created once."""
        self._indexes.clear()
        current = current or {}
        self._update_relationship(spec, tribe_id, fields, current)
        fields = {k: v for k, v in fields.items() if not k.startswith(ON_RELATIONSHIP)}
        flat = {k: v for k, v in fields.items() if k not in nested_fields(fields) and not same_value(current.get(k), v)}
        for nav, nested in nested_fields(fields).items():
            existing = current.get(nav)
            if isinstance(existing, dict) and existing.get("ID"):
                if not same_value(existing, nested):
                    self.hook.update(self._nav_set(nav), existing["ID"], nested)
            else:
                created = self.hook.create(self._nav_set(nav), nested)
                flat[nav] = {"ID": created["ID"]}
        if flat:
            self.hook.update(spec.target.entity_set, tribe_id, flat)

    def _update_relationship(self, spec: StreamSpec, tribe_id: str, fields: dict[str, Any],
                             current: dict[str, Any]) -> None:
        """The fields written on the role relationship; a record that has none yet (matched by
        number) gets it here, with them (the load then links it)."""
        changes = {k: v for k, v in relationship_fields(fields).items()
                   if not same_value(current.get(ON_RELATIONSHIP + k), v)}
        rel = spec.target.relationship
        if not changes or rel is None:
            return
        if current.get(RELATIONSHIP_ID):
            self.hook.update(rel.entity_set, current[RELATIONSHIP_ID], changes)
            return
        body = {**rel.fields, **changes, "Relation": {"ID": self.hook.identity_relation_id}, rel.child: {"ID": tribe_id}}
        self.hook.create(rel.entity_set, body)

    @staticmethod
    def _nav_set(nav: str) -> str:
        # Addresses (Visiting/Postal/Invoice/Address) and the person of a contact relationship.
        if nav.endswith("Address"):
            return "Address"
        if nav in NESTED_SETS:
            return NESTED_SETS[nav]
        raise ValueError(f"no entity set known for nested navigation {nav!r}")

    def as_source(self) -> Any:
        """The same system seen as a source (to read written records in the other stream's shape)."""
        from tribe_operators.systems.tribe.source import TribeSource

        return TribeSource(self.hook)

    def find_relationship(self, spec: StreamSpec, tribe_id: str) -> str | None:
        rel = spec.target.relationship
        if rel is None:
            return None
        rows = list(self.hook.iter_records(rel.entity_set, filter=f"{rel.child}/ID eq {tribe_id}", select=["ID"]))
        return rows[0]["ID"] if rows else None

    def create_relationship(self, spec: StreamSpec, tribe_id: str) -> str | None:
        """The role (customer, supplier) of the organisation towards our own organisation."""
        rel = spec.target.relationship
        if rel is None:
            return None
        body = {**rel.fields, "Relation": {"ID": self.hook.identity_relation_id}, rel.child: {"ID": tribe_id}}
        return self.hook.create(rel.entity_set, body)["ID"]
