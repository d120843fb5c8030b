"""Tribe CRM as a *source* (Tribe → accounting): records changed since the watermark.

Organisations are selected through their role: the stream reads a relationship set
(customers, suppliers) filtered on either the relationship's or the organisation's
``LastMutationDate``, and syncs the organisation under it (``source.unwrap``).
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tribe_operators.mapping.filters import Condition, conditions_for
from tribe_operators.mapping.reads import source_paths
from tribe_operators.protocols import RELATIONSHIP_ID, Adapter
from tribe_operators.systems.tribe.hook import odata_literal
from tribe_operators.timeutil import odata_timestamp, parse_timestamp
from tribe_operators.systems.tribe.nested import NESTED_SETS

if TYPE_CHECKING:
    from tribe_operators.mapping.spec import StreamSpec

__all__ = ["TribeSource", "odata_condition"]

Row = tuple[str, datetime | None, dict[str, Any]]
ADDRESS = "($expand=Country($select=ID,Code))"
ADDRESS_NAVIGATIONS = frozenset({"Address", "InvoiceAddress", "PostalAddress", "VisitingAddress"})
# Where a record read through its role relationship (``unwrap``) carries that relationship's own
# fields, for a mapping to read as ``@relationship.IsFormer``.
RELATIONSHIP = RELATIONSHIP_ID.rsplit(".", 1)[0]
_COMPARE = {"eq": "eq", "ne": "ne", "lt": "lt", "le": "le", "gt": "gt", "ge": "ge"}


def odata_condition(condition: Condition) -> str:
    """A filter condition as OData ``$filter`` text (every operator has one)."""
    if condition.op == "any_of":
        return "(" + " or ".join(f"({odata_condition(c)})" for c in condition.value) + ")"
    path = condition.field.replace(".", "/")
    guid = path == "ID" or path.endswith("/ID")  # Edm.Guid literals are bare

    def literal(value: Any) -> str:
        return odata_literal(value, guid=guid and value is not None)

    if condition.op in _COMPARE:
        return f"{path} {_COMPARE[condition.op]} {literal(condition.value)}"
    if condition.op == "contains":
        return f"contains({path},{literal(condition.value)})"
    joined = (" or " if condition.op == "in" else " and ").join(
        f"{path} {'eq' if condition.op == 'in' else 'ne'} {literal(v)}" for v in condition.value)
    return f"({joined})"


class TribeSource(Adapter):
    system = "tribe"

    def _expand(self, spec: StreamSpec) -> str | None:
        # What the mapping reads (mapping.reads): an address navigation is read whole, with its
        # country (a transform takes the address, or judges a phone by its country).
        paths = source_paths(spec)
        addresses = sorted({p.split(".")[0] for p in paths if p.split(".")[0] in ADDRESS_NAVIGATIONS})
        # Any other dotted input reads a field of a related record: "Unit.Code" → Unit($select=ID,Code).
        related: dict[str, set[str]] = {nav: {"ID", spec.source.modified_field} for nav in spec.source.changed_via}
        for path in paths:
            if "." in path and path.split(".")[0] not in addresses and not path.startswith(RELATIONSHIP + "."):
                nav, _, leaf = path.partition(".")
                related.setdefault(nav, {"ID"}).add(leaf.split(".")[0])
        inner = ",".join([f"{nav}{ADDRESS}" for nav in addresses]
                         + [f"{nav}($select={','.join(sorted(cols))})" for nav, cols in sorted(related.items())])
        if spec.source.unwrap:
            return f"{spec.source.unwrap}($expand={inner})" if inner else spec.source.unwrap
        return inner or None

    def _rows(self, spec: StreamSpec, records: list[dict[str, Any]],
              until: datetime | None) -> list[Row]:
        rows: list[Row] = []
        for record in records:
            inner = record.get(spec.source.unwrap) if spec.source.unwrap else record
            if not inner:
                continue  # a relationship whose organisation was deleted
            if spec.source.unwrap:  # its role's own fields (IsFormer), and its id (an invoice names it)
                inner = {**inner, RELATIONSHIP: {k: v for k, v in record.items() if not isinstance(v, dict | list)}}
            parts = [record, inner, *(record.get(nav) or {} for nav in spec.source.changed_via)]
            stamps = [parse_timestamp(r.get(spec.source.modified_field)) for r in parts]
            modified = max((s for s in stamps if s is not None), default=None)
            if until is not None and modified is not None and modified > until:
                continue
            rows.append((spec.source.record_id(inner), modified, inner))
        return rows

    def extract(self, spec: StreamSpec, since: datetime | None, until: datetime | None,
                where: list[Condition] | None = None) -> Iterator[list[Row]]:
        """Pages changed in ``(since, until]`` that meet ``where`` (the stream's conditions; all
        sent in the ``$filter``, on the set read: ``Organization.Name`` under a relationship)."""
        field = spec.source.modified_field
        parts = [f"({odata_condition(c)})" for c in (conditions_for(spec, self.settings) if where is None else where)]
        if since is not None:
            stamp = odata_timestamp(since)
            navs = [nav for nav in [spec.source.unwrap, *spec.source.changed_via] if nav]
            parts.append("(" + " or ".join([f"{field} gt {stamp}", *(f"{nav}/{field} gt {stamp}" for nav in navs)]) + ")")
        expr = " and ".join(parts) or None
        for page in self.hook.iter_pages(spec.source.resource, filter=expr, expand=self._expand(spec)):
            rows = self._rows(spec, page, until)
            if rows:
                yield rows

    def fetch(self, spec: StreamSpec, ids: list[str], where: list[Condition] | None = None) -> list[Row]:
        key = f"{spec.source.unwrap}/ID" if spec.source.unwrap else "ID"
        conditions = conditions_for(spec, self.settings) if where is None else where
        also = " and ".join(f"({odata_condition(c)})" for c in conditions) or None
        return self._rows(spec, self.hook.find_by(spec.source.resource, key, ids, expand=self._expand(spec),
                                                  also=also), None)

    def write_back(self, spec: StreamSpec, source_id: str, changes: dict[str, Any]) -> None:
        """The accounting system's number replaces Tribe's (seed)."""
        entity_set = NESTED_SETS.get(spec.source.unwrap or "", spec.source.resource)
        self.hook.update(entity_set, source_id, changes)

    def lookup_table(self, entity_set: str, key: str, value: str | None = None) -> dict[str, str]:
        return self.hook.codes(entity_set, key, value)
