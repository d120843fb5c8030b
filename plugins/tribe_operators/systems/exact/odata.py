"""Exact's OData v2 dialect, as the hook, source and target write and read it."""
from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from tribe_operators.mapping.filters import Condition
from tribe_operators.timeutil import odata_wall_literal, wall_bounds

__all__ = ["FILTERABLE", "by_ids", "filter_for", "odata_condition", "odata_string", "results", "window_filter"]

_IDS_PER_CALL = 20  # an "or" of 20 guids stays well inside Exact's 6,000-character URL
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # a property of the entity itself (no navigation path)
_INT32 = 2**31

# Fields a $filter may name per entity (the bulk twin's too): those Exact's own mandatory-filter
# refusal lists as filterable (reference §3.1, picqer#591). Exact refuses others on some
# endpoints with a 400 ("Filtering on these fields is not supported: Classification1…", picqer#500),
# and every 400 counts toward its error block: a condition on any other field is checked here only.
FILTERABLE = {
    "crm/accounts": frozenset({"Accountant", "AccountManager", "AddressLine1", "Code", "Email", "ID", "Modified",
                               "Name", "Status", "Type", "VATNumber"}),
    "crm/contacts": frozenset({"ID", "Modified"}),  # [INFER] no list published: the id and the window only
    "logistics/items": frozenset({"Code", "ID", "Modified"}),  # [INFER] from picqer#591's list, the sure ones
}


def results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of an OData v2 answer: ``{"d":{"results":[…]}}``, or ``{"d":[…]}``, or one ``{"d":{…}}``."""
    data = body.get("d", body)
    if isinstance(data, dict):
        return data.get("results", [data]) if "results" in data else [data]
    return list(data)


def odata_string(text: str) -> str:
    """A v2 string literal: quoted, a quote doubled (``'O''Brien'``)."""
    return "'" + str(text).replace("'", "''") + "'"


def by_ids(ids: list[str]) -> Iterator[str]:
    """``ID eq guid'…' or …`` filters, 20 ids each: a read by id that answers an empty list for
    a record that is gone, where a GET by key would 404 (a refusal counting toward Exact's block)."""
    for start in range(0, len(ids), _IDS_PER_CALL):
        yield " or ".join(f"ID eq guid'{i}'" for i in ids[start:start + _IDS_PER_CALL])


def window_filter(field: str, since: datetime | None, until: datetime | None, *, zone: str) -> str:
    """``field`` (a wall time of ``zone``, as Exact keeps ``Modified``) in ``(since, until]``,
    widened over the hour an autumn clock change repeats (``timeutil.wall_bounds``). With no
    lower bound it still names the field: Exact refuses an entity with a sync twin unfiltered."""
    lowest, included, highest = wall_bounds(since, until, zone=zone)
    terms = [f"{field} {'ge' if included else 'gt'} {odata_wall_literal(lowest)}" if lowest is not None
             else f"{field} ge datetime'1900-01-01'"]
    if highest is not None:
        terms.append(f"{field} le {odata_wall_literal(highest)}")
    return " and ".join(terms)


def filter_for(entity: str) -> Callable[[Condition], str | None]:
    """:func:`odata_condition` limited to the fields ``entity`` (``crm/Accounts``) may be filtered
    on (:data:`FILTERABLE`); a condition naming any other is left to the check here."""
    allowed = FILTERABLE.get(entity.lower(), frozenset())

    def fields(condition: Condition) -> set[str]:
        return set().union(*map(fields, condition.value)) if condition.op == "any_of" else {condition.field}

    return lambda condition: odata_condition(condition) if fields(condition) <= allowed else None


def odata_condition(condition: Condition) -> str | None:
    """``condition`` as a ``$filter`` term Exact evaluates as :func:`matches` would or more
    loosely (the rows are checked again here), or None when it cannot say it so.

    Exact compares text case-insensitively and ignores trailing spaces: an ``eq``/``in`` on text
    returns what matches here and maybe a little more, which the check here removes; a ``ne`` or
    an order on text would leave out rows kept here ('nl' ne 'NL'), so those stay here. Text goes
    through ``trim()`` (Exact pads codes: ``Code`` is 18 characters); a guid as ``guid'…'``."""
    if condition.op == "any_of":
        parts = [odata_condition(c) for c in condition.value]
        return None if any(p is None for p in parts) else "(" + " or ".join(p for p in parts if p) + ")"
    if not _PLAIN.match(condition.field):
        return None
    if condition.op == "in":
        parts = [_comparison(condition.field, "eq", v) for v in condition.value]
        return None if any(p is None for p in parts) else "(" + " or ".join(p for p in parts if p) + ")"
    if condition.op in ("eq", "ne", "lt", "le", "gt", "ge"):
        return _comparison(condition.field, condition.op, condition.value)
    return None  # not_in, contains: checked here


def _comparison(field: str, op: str, value: Any) -> str | None:
    if value is None:
        return f"{field} {op} null" if op in ("eq", "ne") else None  # an order with null holds nowhere
    if isinstance(value, bool):
        return f"{field} {op} {'true' if value else 'false'}" if op in ("eq", "ne") else None
    if isinstance(value, int):
        return f"{field} {op} {value}{'L' if abs(value) >= _INT32 else ''}"
    if not isinstance(value, str) or op != "eq":
        return None  # a float, a date (Exact's Double / DateTime literals): checked here
    text = value.strip()
    if _is_guid(text):
        return f"{field} eq guid'{text}'"
    return f"trim({field}) eq {odata_string(text)}"


def _is_guid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower() and len(text) == 36
    except ValueError:
        return False
