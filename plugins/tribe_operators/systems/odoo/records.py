"""Odoo's records as the core reads them, and the core's conditions as Odoo domains.

Odoo answers an empty field with ``false`` whatever its type and a many2one as ``[id, "name"]``;
the core expects ``None`` for empty and a plain id, so both sides compare what they write with
what they read. Timestamps are naive UTC text (``2026-12-03 02:00:00``).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from tribe_operators.mapping.filters import Condition

__all__ = ["code_table", "domain_leaf", "normalised", "odoo_datetime", "read_fields"]

_OPERATORS = {"eq": "=", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "in": "in", "not_in": "not in",
              "contains": "ilike"}


def odoo_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def domain_leaf(condition: Condition) -> list[Any]:
    """A condition as domain terms (a list to extend a domain with): ``any_of`` becomes Odoo's
    prefix ``|``. A dotted field goes through the relation (``parent_id.customer_rank``)."""
    if condition.op == "any_of":
        parts = [domain_leaf(c) for c in condition.value]
        return ["|"] * (len(parts) - 1) + [term for part in parts for term in part]
    value = condition.value
    value = False if value is None else list(value) if isinstance(value, tuple) else value
    return [[condition.field, _OPERATORS[condition.op], value]]


def normalised(record: dict[str, Any], types: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``False`` → ``None`` for every field that is not a boolean; many2one → its id."""
    out: dict[str, Any] = {}
    for name, value in record.items():
        kind = (types.get(name) or {}).get("type")
        if value is False and kind != "boolean":
            value = None
        elif kind == "many2one" and isinstance(value, list | tuple):
            value = value[0] if value else None
        out[name] = value
    return out


def read_fields(paths: Iterable[str], types: dict[str, dict[str, Any]], *always: str) -> list[str]:
    """The fields of a model to read for these (dotted) paths: their first part, when the
    server has it (``mobile`` is gone in Odoo 19: it is read where it exists, never an error)."""
    wanted = dict.fromkeys([*always, *(p.split(".")[0] for p in paths)])
    return [name for name in wanted if name in types]


def code_table(hook: Any, model: str, key: str, value: str | None = None, *,
               context: dict[str, Any]) -> dict[str, str]:
    """``{key: id (or value)}`` of a model, read in pages (countries by code, currencies by
    name); ``context`` says for which company and whether archived records count."""
    column = value or "id"
    table: dict[str, str] = {}
    for page in hook.search_read_all(model, [], [key, column], context=context):
        for row in page:
            if row.get(key) not in (None, False):
                found = row.get(column)
                table[str(row[key])] = str(found[0] if isinstance(found, list) else found)
    return table
