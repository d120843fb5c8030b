"""``order`` specifications ("write_date asc, id desc") and sorting as PostgreSQL would.

PostgreSQL puts NULLs last ascending and first descending; strings are compared case-folded
([INFER] an approximation of a ``en_US.UTF-8`` collation); a many2one sorts by the target's
display name ([INFER]: Odoo sorts by the comodel's ``_order``).
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sandbox.odoo.fields import X2MANY

if TYPE_CHECKING:
    from sandbox.odoo.access import Env
    from sandbox.odoo.registry import ModelDef

__all__ = ["parse_order", "sort_rows"]

# Odoo's own check of an order string: comma-separated field names, each optionally asc/desc.
_ORDER_RE = re.compile(r"^(\s*([a-z0-9:_]+|\"[a-z0-9:_]+\")(\.id)?(\s+(desc|asc))?(\s+nulls\s+(first|last))?\s*(,|$))+(?<!,)$",
                       re.I)


def parse_order(model: ModelDef, order: str) -> list[tuple[str, bool, str | None]]:
    """[(field, descending, nulls)]; ValueError for a malformed spec or an unknown field."""
    if not isinstance(order, str) or not _ORDER_RE.match(order):
        raise ValueError(f'Invalid "order" specified ({order}). A valid "order" specification is a comma-separated '
                         f"list of valid field names (optionally followed by asc/desc for the direction)")
    terms = []
    for part in order.split(","):
        words = part.split()
        name = words[0].strip('"').removesuffix(".id")
        f = model.fields.get(name)
        if f is None:
            raise ValueError(f"Invalid field {name!r} on model {model.name!r}")
        if f.type in X2MANY or not (f.store or f.related):
            raise ValueError(f"Cannot convert {model.name}.{name} to SQL because it is not stored")
        rest = [w.lower() for w in words[1:]]
        nulls = rest[rest.index("nulls") + 1] if "nulls" in rest else None
        terms.append((name, "desc" in rest, nulls))
    return terms


def _key(env: Env, model: ModelDef, row: dict[str, Any], name: str) -> Any:
    from sandbox.odoo.reading import display_of, value

    f = model.fields[name]
    raw = value(env, model, row, name)
    if f.type == "boolean":
        return bool(raw)
    if raw is False or raw is None:
        return None
    if f.type == "many2one":
        return display_of(env, f.relation, raw).casefold()
    if isinstance(raw, str):
        return raw.casefold()
    if isinstance(raw, datetime | int | float):
        return raw
    return str(raw)


def sort_rows(env: Env, model: ModelDef, rows: list[dict[str, Any]], order: str | None) -> list[int]:
    """The ids of ``rows`` sorted by ``order`` (the model's default when empty)."""
    terms = parse_order(model, order or model.order)
    ordered = list(rows)
    for name, desc, nulls in reversed(terms):  # stable sorts, least significant key first
        nulls_first = (nulls == "first") if nulls else desc
        keyed = [(_key(env, model, row, name), row) for row in ordered]
        present = [pair for pair in keyed if pair[0] is not None]
        absent = [pair[1] for pair in keyed if pair[0] is None]
        present.sort(key=lambda pair: pair[0], reverse=desc)
        sorted_present = [pair[1] for pair in present]
        ordered = absent + sorted_present if nulls_first else sorted_present + absent
    return [row["id"] for row in ordered]
