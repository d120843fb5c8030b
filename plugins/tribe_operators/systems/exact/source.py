"""Exact Online as a *source*: a division's records from its sync endpoint, after a cursor.

Exact's sync endpoints (``sync/CRM/Accounts``…) return every change in the order of its
``Timestamp`` (an Int64), 1,000 rows a call, ``$select`` required: an idle run costs one call
per stream, where reading by ``Modified`` would cost a call per 60 rows and cannot be resumed
mid-way. Conditions Exact's sync filter cannot take (only ``Timestamp``) are checked here. A
re-read by id (quarantined records) uses the entity's own endpoint with ``ID eq guid'…'``, 20 at
a time: a filter, never a GET by key, as a record that is gone answers an empty list instead
of a 404 that would count toward Exact's error block.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from tribe_operators.http.pagination import NextLinkPaginator
from tribe_operators.mapping.filters import Condition, conditions_for, matches
from tribe_operators.mapping.reads import source_paths, top_fields
from tribe_operators.protocols import Adapter, Row
from tribe_operators.systems.exact.odata import by_ids
from tribe_operators.timeutil import odata_datetime_literal, parse_ms_date

__all__ = ["DELETED_TYPES", "ExactSource", "entity_endpoint"]

# sync/Deleted's EntityType per entity endpoint (Exact's DeletedEntityType; reference §sync).
DELETED_TYPES = {"crm/accounts": 2, "crm/addresses": 3, "crm/contacts": 5, "documents/documents": 6,
                 "financial/glaccounts": 7, "logistics/items": 9, "salesinvoice/salesinvoices": 13,
                 "salesorder/salesorderheaders": 32}


def entity_endpoint(resource: str) -> str:
    """``sync/CRM/Accounts`` → ``crm/Accounts`` (the entity's own endpoint, for reads by id)."""
    parts = resource.split("/")
    return f"{parts[1].lower()}/{parts[2]}" if parts[0] in ("sync", "bulk") and len(parts) == 3 else resource


class ExactSource(Adapter):
    system = "exact"

    def _client(self) -> Any:
        return self.hook.client_for(self.scope.get("key") or None)

    def _select(self, spec: Any, where: list[Condition], *, sync: bool = True) -> str:
        """``$select``: what the mapping reads; the cursor only exists on the sync endpoint."""
        fields = top_fields(source_paths(spec, where))
        return ",".join(f for f in fields if sync or f != spec.source.cursor_field)

    def _row(self, spec: Any, record: dict[str, Any]) -> Row:
        zone = self.hook.exact.timezone
        modified = parse_ms_date(record.get(spec.source.modified_field), zone=zone)
        return spec.source.record_id(record), modified, {k: v for k, v in record.items() if k != "__metadata"}

    def extract_changes(self, spec: Any, cursor: int, where: list[Condition] | None = None) -> Iterator[tuple[list[Row], int]]:
        """Pages of the changes after ``cursor``, each with the highest Timestamp it holds."""
        conditions = conditions_for(spec) if where is None else where
        field = spec.source.cursor_field
        params = {"$select": self._select(spec, conditions), "$filter": f"{field} gt {int(cursor)}L"}
        for page in self._client().pages(spec.source.resource, NextLinkPaginator(), params):
            highest = max(int(r[field]) for r in page)
            yield [self._row(spec, r) for r in page if matches(r, conditions)], highest

    def extract(self, spec: Any, since: datetime | None, until: datetime | None,
                where: list[Condition] | None = None) -> Iterator[list[Row]]:
        """Changed in ``(since, until]`` by ``Modified`` (an initial import's date range)."""
        conditions = conditions_for(spec) if where is None else where
        zone = self.hook.exact.timezone
        terms = [f"Modified gt {odata_datetime_literal(since, zone=zone)}" if since else "Modified ge datetime'1900-01-01'"]
        if until is not None:
            terms.append(f"Modified le {odata_datetime_literal(until, zone=zone)}")
        params = {"$select": self._select(spec, conditions, sync=False), "$filter": " and ".join(terms)}
        for page in self._client().pages(entity_endpoint(spec.source.resource), NextLinkPaginator(), params):
            yield [self._row(spec, r) for r in page if matches(r, conditions)]

    def fetch(self, spec: Any, ids: list[str], where: list[Condition] | None = None) -> list[Row]:
        """Records by id that meet ``where``; ids that are gone are left out."""
        conditions = conditions_for(spec) if where is None else where
        rows: list[Row] = []
        for ors in by_ids(ids):
            params = {"$select": self._select(spec, conditions, sync=False), "$filter": ors}
            for page in self._client().pages(entity_endpoint(spec.source.resource), NextLinkPaginator(), params):
                rows += [self._row(spec, r) for r in page if matches(r, conditions)]
        return rows

    def deleted_after(self, cursor: int, resources: list[str]) -> Iterator[tuple[list[tuple[str, str]], int]]:
        """Pages of ``(resource, id)`` from ``sync/Deleted`` after ``cursor``, of the entities
        ``resources`` read (one call an idle run), each with the highest Timestamp it holds."""
        types = {DELETED_TYPES[entity_endpoint(r).lower()]: r for r in resources
                 if entity_endpoint(r).lower() in DELETED_TYPES}
        if not types:
            return
        kinds = " or ".join(f"EntityType eq {t}" for t in sorted(types))
        params = {"$select": "EntityKey,EntityType,Timestamp", "$filter": f"Timestamp gt {int(cursor)}L and ({kinds})"}
        for page in self._client().pages("sync/Deleted", NextLinkPaginator(), params):
            yield ([(types[int(r["EntityType"])], str(r["EntityKey"])) for r in page if int(r["EntityType"]) in types],
                   max(int(r["Timestamp"]) for r in page))

    def lookup_table(self, entity_set: str, key: str, value: str | None = None) -> dict[str, str]:
        """``{key: ID (or value)}`` of a small table (units, VAT codes), codes trimmed (Exact pads them)."""
        column = value or "ID"
        table: dict[str, str] = {}
        for page in self._client().pages(entity_set, NextLinkPaginator(), {"$select": f"{key},{column}"}):
            table.update({str(r[key]).strip(): str(r[column]) for r in page if r.get(key) not in (None, "")})
        return table
