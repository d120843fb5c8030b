"""Odoo as a *source*: partners changed in a window, archived ones included.

The window is Odoo's ``write_date`` in ``(since, until]``, sent in the domain with every
condition of the stream (Odoo's domain expresses them all), read in pages by id. Archived
partners are read on purpose (``active_test: False``): an archive is a change to mirror, never
a record that silently drops out of the read. Without ``allowed_company_ids`` Odoo reads for
every company of the user, so partners one legal entity owns are read with the shared ones.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tribe_operators.mapping.filters import Condition, conditions_for
from tribe_operators.mapping.reads import source_paths
from tribe_operators.systems.odoo.records import code_table, domain_leaf, normalised, odoo_datetime, read_fields
from tribe_operators.protocols import Adapter
from tribe_operators.timeutil import parse_timestamp

if TYPE_CHECKING:
    from tribe_operators.mapping.spec import StreamSpec

__all__ = ["OdooSource", "read_context"]

Row = tuple[str, datetime | None, dict[str, Any]]


def read_context(companies: list[int] | None = None) -> dict[str, Any]:
    """Archived records too; ``companies`` first the current one (an invoice's legal entity)."""
    context: dict[str, Any] = {"active_test": False}
    if companies:
        context["allowed_company_ids"] = companies
    return context


class OdooSource(Adapter):
    system = "odoo"

    def _fields(self, spec: StreamSpec, where: list[Condition]) -> tuple[list[str], dict[str, dict[str, Any]]]:
        types = self.hook.fields(spec.source.resource)
        return read_fields(source_paths(spec, where), types), types

    def _rows(self, spec: StreamSpec, page: list[dict[str, Any]], types: dict[str, dict[str, Any]]) -> list[Row]:
        rows = []
        for raw in page:
            record = normalised(raw, types)
            rows.append((spec.source.record_id(record), parse_timestamp(record.get(spec.source.modified_field)), record))
        return rows

    def extract(self, spec: StreamSpec, since: datetime | None, until: datetime | None,
                where: list[Condition] | None = None) -> Iterator[list[Row]]:
        conditions = conditions_for(spec, self.settings) if where is None else where
        domain: list[Any] = [term for c in conditions for term in domain_leaf(c)]
        stamp = spec.source.modified_field
        if since is not None:
            domain.append([stamp, ">", odoo_datetime(since)])
        if until is not None:
            domain.append([stamp, "<=", odoo_datetime(until)])
        fields, types = self._fields(spec, conditions)
        for page in self.hook.search_read_all(spec.source.resource, domain, fields,
                                              context=read_context()):
            yield self._rows(spec, page, types)

    def fetch(self, spec: StreamSpec, ids: list[str], where: list[Condition] | None = None) -> list[Row]:
        """Records by id that meet ``where``; ids that no longer exist are left out."""
        conditions = conditions_for(spec, self.settings) if where is None else where
        wanted = [int(i) for i in ids if str(i).isdigit()]
        if not wanted:
            return []
        domain: list[Any] = [["id", "in", wanted], *(term for c in conditions for term in domain_leaf(c))]
        fields, types = self._fields(spec, conditions)
        return [row for page in self.hook.search_read_all(spec.source.resource, domain, fields,
                                                           context=read_context())
                for row in self._rows(spec, page, types)]

    def lookup_table(self, entity_set: str, key: str, value: str | None = None) -> dict[str, str]:
        """``{key: id (or value)}`` of a model: countries by code, taxes by name."""
        return code_table(self.hook, entity_set, key, value, context=read_context())
