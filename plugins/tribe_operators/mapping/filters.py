"""Per-stream source filters: which records a stream reads at all.

A filter is a list of conditions, all of which must hold: the mapping's ``source.where`` (what
the stream *is*: organisations, not persons) and the settings' ``filters.<stream>`` (what this
company wants: only active customers of one contact group). A source adapter sends what its
API can express (an OData ``$filter``, an Odoo domain, a PowerOffice list parameter) and checks
the rest with :func:`matches`, so a record that fails a condition never reaches the map step
whichever way it was filtered. Text compares trimmed here: a code its store pads (Exact's
``Country`` "NL ") is the code a person typed.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from tribe_operators.exceptions import MappingConfigError

__all__ = ["Condition", "conditions_for", "matches", "split", "unknown_streams"]

Op = Literal["eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "contains", "any_of"]


class Condition(BaseModel):
    """``field op value``; ``field`` is a dotted path on the record as its source reads it.
    ``any_of`` holds when one of the conditions in ``value`` does (no field of its own): the
    contacts of a company that is a customer *or* a supplier."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str = ""
    op: Op = "eq"
    value: Any = None

    @model_validator(mode="after")
    def _list_for_in(self) -> Condition:
        if self.op == "any_of":
            if not isinstance(self.value, list | tuple) or not self.value:
                raise ValueError("'any_of' takes a non-empty list of conditions")
            object.__setattr__(self, "value", tuple(c if isinstance(c, Condition) else Condition.model_validate(c)
                                                    for c in self.value))
            return self
        if not self.field:
            raise ValueError(f"a '{self.op}' condition needs a field")
        if self.op in ("in", "not_in") and (not isinstance(self.value, list | tuple) or not self.value):
            raise ValueError(f"{self.field}: '{self.op}' takes a non-empty list of values")
        if self.op == "contains" and not isinstance(self.value, str):
            raise ValueError(f"{self.field}: 'contains' takes text")
        return self

    def holds(self, record: dict[str, Any]) -> bool:
        if self.op == "any_of":
            return any(c.holds(record) for c in self.value)
        actual = _trimmed(_path(record, self.field))
        value, op = self.value, self.op
        if op in ("eq", "ne"):
            value = _trimmed(value)
        elif op in ("in", "not_in"):
            value = [_trimmed(v) for v in value]
        if op == "eq":
            return bool(actual == value)
        if op == "ne":
            return bool(actual != value)
        if op == "in":
            return actual in value
        if op == "not_in":
            return actual not in value
        if op == "contains":
            # Case-insensitive, as Tribe's contains() and Odoo's ilike.
            return isinstance(actual, str) and value.casefold() in actual.casefold()
        if actual is None or value is None:
            return False  # an order needs two values (as SQL and OData: null compares false)
        try:
            return bool({"lt": actual < value, "le": actual <= value, "gt": actual > value, "ge": actual >= value}[op])
        except TypeError:
            return False


def conditions_for(spec: Any, settings: dict[str, Any] | None = None) -> list[Condition]:
    """A stream's conditions: its mapping's ``source.where``, its relation type (the
    codes the settings' ``relation_types`` give its relationship) and the settings'
    ``filters.<stream>``.

    Raises:
        MappingConfigError: the stream reads a relation type the settings do not map.
    """
    where = spec.source.where
    found = ([Condition(field=k, op="eq", value=v) for k, v in where.items()] if isinstance(where, dict)
             else [c if isinstance(c, Condition) else Condition.model_validate(c) for c in where])
    kind = spec.source.relation_type
    if kind is not None:
        codes = ((settings or {}).get("relation_types") or {}).get(kind.relationship)
        if not codes:
            raise MappingConfigError(f"{spec.integration}/{spec.stream}: relation_types.{kind.relationship} is not "
                                     f"in the settings: which {kind.field} codes are a {kind.relationship}?")
        found.append(Condition(field=kind.field, op="in", value=list(codes)))
    extra = ((settings or {}).get("filters") or {}).get(spec.stream) or []
    return found + [c if isinstance(c, Condition) else Condition.model_validate(c) for c in extra]


def matches(record: dict[str, Any], conditions: Iterable[Condition]) -> bool:
    return all(c.holds(record) for c in conditions)


def split(conditions: Iterable[Condition],
          native: Callable[[Condition], Any | None]) -> tuple[list[Any], list[Condition]]:
    """``(what the API takes, what stays to check here)``: ``native`` turns a condition into the
    API's form, or None when the API cannot express it."""
    sent: list[Any] = []
    local: list[Condition] = []
    for condition in conditions:
        translated = native(condition)
        (local.append(condition) if translated is None else sent.append(translated))
    return sent, local


def unknown_streams(integration: str, filters: dict[str, Any]) -> str | None:
    """What is wrong with the streams ``filters`` names (a misspelt one would filter nothing,
    without a word), or None: each must be a stream the integration has a mapping for."""
    from tribe_operators.mapping.files import stream_names

    known = stream_names(integration)
    wrong = [name for name in filters if name not in known]
    if not wrong:
        return None
    return (f"filters.{wrong[0]}: {integration} has no stream {wrong[0]!r} (its streams: {', '.join(known)}; "
            "the filters of an import are on the accounting system's records, of an export on Tribe's)")


def _trimmed(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _path(record: Any, path: str) -> Any:
    for part in path.split("."):
        record = record.get(part) if isinstance(record, dict) else None
    return record
