"""Odoo as a *target* (Tribe → Odoo): find partners by key, create, write what differs.

Archived partners are found and read too (``active_test: False``): a Tribe organisation linked
to an archived partner updates that partner (and may reactivate it) instead of creating a
second one. An empty value is written as Odoo's ``False``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tribe_operators.dedupe.keys import KeyLookup, key_needles
from tribe_operators.mapping.compare import same_value
from tribe_operators.mapping.reads import target_fields
from tribe_operators.systems.odoo.records import normalised, read_fields
from tribe_operators.systems.odoo.source import OdooSource, read_context
from tribe_operators.protocols import Adapter

if TYPE_CHECKING:
    from tribe_operators.mapping.spec import StreamSpec

__all__ = ["OdooTarget"]


def _term(field: str, needle: str, types: dict[str, dict[str, Any]]) -> list[Any]:
    """Text contains the key (case-insensitive); an id or number equals it."""
    if (types.get(field) or {}).get("type") in ("many2one", "integer") and needle.isdigit():
        return [field, "=", int(needle)]
    return [field, "ilike", needle]


def _odoo_value(value: Any) -> Any:
    return False if value is None else value


class OdooTarget(Adapter):
    system = "odoo"
    id_key = "id"
    answers_with_record = False  # create answers with the id only: what was written is read back
    modified_field = "write_date"

    def lookup_table(self, entity_set: str, key: str, value: str | None = None) -> dict[str, str]:
        return self.as_source().lookup_table(entity_set, key, value)

    def _read(self, spec: StreamSpec, domain: list[Any]) -> list[dict[str, Any]]:
        model = spec.target.entity_set
        types = self.hook.fields(model)
        fields = read_fields(target_fields(spec), types, "id", "write_date")
        return [normalised(row, types) for page in self.hook.search_read_all(
            model, domain, fields, context=read_context()) for row in page]

    def fetch(self, spec: StreamSpec, ids: Any, hints: Any = None) -> dict[str, dict[str, Any]]:
        wanted = [int(i) for i in ids if str(i).isdigit()]
        return {str(r["id"]): r for r in self._read(spec, [["id", "in", wanted]])} if wanted else {}

    def find(self, spec: StreamSpec, fields: list[str],
             values: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
        """Partners whose ``fields`` equal each tuple, in the keys' normal form (a ``ref`` typed
        ``" 011013"`` is ``11013``): Odoo is asked for what *contains* each key (``ilike``, a
        superset, wildcards included) and the normal form decides here."""
        shape = spec.key_normalisers(fields)
        lookup = KeyLookup(fields, values, shape, id_key="id")
        types = self.hook.fields(spec.target.entity_set)
        keys = list(lookup.wanted)
        for start in range(0, len(keys), 200):
            groups = [[_term(f, needle, types) for f, needle in zip(fields, key_needles(key, shape), strict=True) if needle]
                      for key in keys[start:start + 200]]
            groups = [group for group in groups if group]
            if not groups:
                continue
            domain = ["|"] * (len(groups) - 1) + [term for group in groups for term in (["&"] * (len(group) - 1) + group)]
            for record in self._read(spec, domain):
                lookup.add(record)
        return lookup.found

    def differs(self, current: dict[str, Any], fields: dict[str, Any]) -> bool:
        """Only fields the server has count: ``mobile`` is read where it exists (Odoo < 19)."""
        return not all(same_value(current.get(k), v) for k, v in fields.items() if k in current)

    def _writable(self, spec: StreamSpec, fields: dict[str, Any]) -> dict[str, Any]:
        types = self.hook.fields(spec.target.entity_set)
        return {k: v for k, v in fields.items() if k in types}

    def create(self, spec: StreamSpec, fields: dict[str, Any]) -> dict[str, Any]:
        """Create the partner; a number Odoo assigns itself (``write_back`` fields not sent) is
        read back at once, to be written over Tribe's."""
        body = {k: v for k, v in self._writable(spec, fields).items() if v is not None}
        [new_id] = self.hook.create(spec.target.entity_set, [body])
        created = {**fields, "id": new_id}
        assigned = [f for f in spec.target.write_back if f not in body]
        if assigned:  # (a partner deleted straight after its create is simply not read back)
            row = self.hook.read(spec.target.entity_set, [new_id], assigned).get(new_id) or {}
            created.update({k: v for k, v in row.items() if k in assigned and v is not False})
        return created

    def update(self, spec: StreamSpec, target_id: str, fields: dict[str, Any], current: dict[str, Any] | None) -> None:
        changes = {k: _odoo_value(v) for k, v in self._writable(spec, fields).items()
                   if not same_value((current or {}).get(k), v)}
        if changes:
            self.hook.write(spec.target.entity_set, [int(target_id)], changes)

    def as_source(self) -> OdooSource:
        return OdooSource(self.hook)
