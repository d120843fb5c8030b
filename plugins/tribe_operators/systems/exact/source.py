"""Exact Online as a *source*: a division's records from its sync endpoint, after a cursor.

Exact's sync endpoints (``sync/CRM/Accounts``…) return every change in the order of its
``Timestamp`` (an Int64), 1,000 rows a call, ``$select`` required: an idle run costs one call
per stream, where reading by ``Modified`` would cost a call per 60 rows and cannot be resumed
mid-way. Conditions Exact's sync filter cannot take (only ``Timestamp``) are checked here. A
date range (an initial import's, a backfill's) reads by ``Modified`` from the bulk twin
(``bulk/CRM/Accounts``, 1,000 rows a call) or else the entity's own endpoint. A re-read by id
(quarantined records) uses the entity's own endpoint with ``ID eq guid'…'``, 20 at a time: a
filter, never a GET by key, as a record that is gone answers an empty list instead of a 404
that would count toward Exact's error block. Those two reads send the stream's conditions Exact
can evaluate in their ``$filter`` (``odata.odata_condition``) and check all of them here again.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from tribe_operators.http.pagination import NextLinkPaginator
from tribe_operators.mapping.filters import Condition, conditions_for, matches, split
from tribe_operators.mapping.reads import source_paths, top_fields
from tribe_operators.protocols import Adapter, Row
from tribe_operators.systems.exact.odata import by_ids, filter_for, window_filter
from tribe_operators.timeutil import odata_datetime_literal, parse_ms_date

__all__ = ["DELETED_TYPES", "ExactSource", "bulk_endpoint", "entity_endpoint"]

# sync/Deleted's EntityType per entity endpoint (Exact's DeletedEntityType; reference §sync).
DELETED_TYPES = {"crm/accounts": 2, "crm/addresses": 3, "crm/contacts": 5, "documents/documents": 6,
                 "financial/glaccounts": 7, "logistics/items": 9, "salesinvoice/salesinvoices": 13,
                 "salesorder/salesorderheaders": 32}


# The sync endpoints with a bulk twin (1,000 rows a page by any filter; reference §bulk).
_BULK = {"crm/accounts", "crm/contacts", "logistics/items", "logistics/salesitemprices",
         "salesinvoice/salesinvoices", "financial/transactionlines", "cashflow/receivables"}


def entity_endpoint(resource: str) -> str:
    """``sync/CRM/Accounts`` → ``crm/Accounts`` (the entity's own endpoint, for reads by id)."""
    parts = resource.split("/")
    return f"{parts[1].lower()}/{parts[2]}" if parts[0] in ("sync", "bulk") and len(parts) == 3 else resource


def bulk_endpoint(resource: str) -> str:
    """``sync/CRM/Accounts`` → ``bulk/CRM/Accounts`` where Exact has one, else the entity's own
    endpoint (60 rows a page): a read by ``Modified`` and other conditions."""
    parts = resource.split("/")
    if parts[0] in ("sync", "bulk") and len(parts) == 3 and entity_endpoint(resource).lower() in _BULK:
        return "/".join(["bulk", *parts[1:]])
    return entity_endpoint(resource)


def _and(first: str, conditions: list[Condition], resource: str) -> str:
    """``first`` and the conditions Exact can evaluate on ``resource``'s entity (the rest, and
    these again, are checked on the rows)."""
    sent, _ = split(conditions, filter_for(entity_endpoint(resource)))
    return " and ".join([first, *sent])


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
        conditions = conditions_for(spec, self.settings) if where is None else where
        field = spec.source.cursor_field
        params = {"$select": self._select(spec, conditions), "$filter": f"{field} gt {int(cursor)}L"}
        for page in self._client().pages(spec.source.resource, NextLinkPaginator(), params):
            highest = max(int(r[field]) for r in page)
            yield [self._row(spec, r) for r in page if matches(r, conditions)], highest

    def extract(self, spec: Any, since: datetime | None, until: datetime | None,
                where: list[Condition] | None = None) -> Iterator[list[Row]]:
        """Changed in ``(since, until]`` by ``Modified`` (a date range: an initial import's, a
        backfill's), from the bulk twin where there is one."""
        conditions = conditions_for(spec, self.settings) if where is None else where
        window = window_filter(spec.source.modified_field or "Modified", since, until, zone=self.hook.exact.timezone)
        params = {"$select": self._select(spec, conditions, sync=False), "$filter": _and(window, conditions, spec.source.resource)}
        for page in self._client().pages(bulk_endpoint(spec.source.resource), NextLinkPaginator(), params):
            yield [self._row(spec, r) for r in page if matches(r, conditions)]

    def fetch(self, spec: Any, ids: list[str], where: list[Condition] | None = None) -> list[Row]:
        """Records by id that meet ``where``; ids that are gone are left out."""
        conditions = conditions_for(spec, self.settings) if where is None else where
        rows: list[Row] = []
        for ors in by_ids(ids):
            params = {"$select": self._select(spec, conditions, sync=False), "$filter": _and(f"({ors})", conditions, spec.source.resource)}
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

    @property
    def wall_zone(self) -> str:
        """The zone Exact's dates are wall times of (the connection's; Amsterdam unless it says otherwise)."""
        return str(self.hook.exact.timezone)

    def ended_between(self, spec: Any, since: datetime | None, until: datetime,
                      where: list[Condition] | None = None) -> Iterator[list[Row]]:
        """Records whose ``source.ends_field`` lies in ``[since, until)``, asked of the entity's own
        endpoint (``logistics/Items``: the sync endpoint filters on Timestamp only) in Exact's wall
        time: one call a day when nothing ended, 60 records a page."""
        conditions = conditions_for(spec, self.settings) if where is None else where
        field, zone = spec.source.ends_field, self.wall_zone
        terms = [f"{field} lt {odata_datetime_literal(until, zone=zone)}"]
        if since is not None:
            terms.insert(0, f"{field} ge {odata_datetime_literal(since, zone=zone)}")
        select = self._select(spec, conditions, sync=False)
        params = {"$select": select if field in select.split(",") else f"{select},{field}",
                  "$filter": _and(" and ".join(terms), conditions, spec.source.resource)}
        for page in self._client().pages(entity_endpoint(spec.source.resource), NextLinkPaginator(), params):
            yield [self._row(spec, r) for r in page if matches(r, conditions)]
