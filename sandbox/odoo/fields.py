"""Field definitions, what ``fields_get`` says about them, and value conversion.

Values are stored the way Odoo's cache holds them: many2one as an id or False, many2many as a
list of ids, dates as ``YYYY-MM-DD`` strings and datetimes as naive UTC ``datetime`` (with
microseconds, like the PostgreSQL column). On the wire many2one reads as ``[id, display_name]``
(or a plain id when ``load`` is not ``'_classic_read'``), datetimes as ``YYYY-MM-DD HH:MM:SS``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

__all__ = ["DATETIME_FORMAT", "DATE_FORMAT", "MAGIC", "Field", "RELATIONAL", "X2MANY", "describe", "field_defaults",
           "parse_datetime", "to_cache", "to_wire"]

DATE_FORMAT = "%Y-%m-%d"
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
X2MANY = ("one2many", "many2many")
RELATIONAL = ("many2one",) + X2MANY
NUMERIC = ("integer", "float", "monetary")


@dataclass(frozen=True)
class Field:
    """One field of a model (the name is filled in when the model is built).

    ``compute(env, row)`` makes the field computed (read from other values); ``inverse(env, id,
    value)`` makes a computed field writable; ``related=("partner_id", "country_id")`` reads and
    writes through a many2one. ``default`` is a value or ``callable(env, vals)``.
    """

    type: str
    string: str
    relation: str | None = None
    inverse_name: str | None = None  # one2many: the many2one on the comodel
    selection: tuple[tuple[str, str], ...] | None = None
    required: bool = False
    readonly: bool = False
    store: bool = True
    compute: Callable[..., Any] | None = None
    inverse: Callable[..., None] | None = None
    related: tuple[str, str] | None = None
    default: Any = None
    ondelete: str = "set null"  # many2one: set null | restrict | cascade
    domain: tuple = ()  # one2many: only these comodel rows are listed (e.g. active children)
    help: str = ""
    size: int | None = None
    company_dependent: bool = False
    name: str = ""

    def named(self, name: str) -> Field:
        return replace(self, name=name)

    @property
    def is_computed(self) -> bool:
        return self.compute is not None or self.related is not None or self.type == "one2many"


def describe(f: Field, model: str) -> dict[str, Any]:
    """The ``fields_get`` entry of one field (attributes an RPC client reads)."""
    data: dict[str, Any] = {
        "name": f.name, "type": f.type, "string": f.string, "required": f.required,
        "readonly": f.readonly or (f.compute is not None and f.inverse is None and f.related is None),
        "store": f.store and not f.related, "searchable": True, "sortable": f.store and f.type not in X2MANY,
        "manual": False, "company_dependent": f.company_dependent, "depends": [], "groupable": f.store,
        "exportable": True, "change_default": False,
    }
    if f.help:
        data["help"] = f.help
    if f.type in RELATIONAL:
        data.update(relation=f.relation, domain=[list(d) for d in f.domain], context={})
    if f.type == "one2many":
        data["relation_field"] = f.inverse_name
    if f.type == "selection":
        data["selection"] = [list(pair) for pair in (f.selection or ())]
    if f.type in ("char", "text", "html"):
        data["translate"] = False
        if f.type == "char":
            data["trim"] = True
            if f.size:
                data["size"] = f.size
    return data


def parse_datetime(value: Any) -> datetime:
    """Odoo's ``Datetime.to_datetime``: a datetime, a date (midnight) or a server-format string.

    ISO strings with a ``T`` or an offset are refused, as Odoo refuses them.
    """
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ValueError(f"Datetime field expects a naive datetime: {value}")
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        text = value.strip()
        fmt = DATE_FORMAT if len(text) == 10 else DATETIME_FORMAT + (".%f" if "." in text else "")
        return datetime.strptime(text, fmt)
    raise ValueError(f"Datetime field expects a string or a datetime, not {value!r}")


def _parse_date(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime(DATE_FORMAT)
    if isinstance(value, date):
        return value.strftime(DATE_FORMAT)
    if isinstance(value, str):
        return datetime.strptime(value[:10], DATE_FORMAT).strftime(DATE_FORMAT)  # Odoo reads the first 10 chars
    raise ValueError(f"Date field expects a string or a date, not {value!r}")


def to_cache(f: Field, model: str, value: Any) -> Any:
    """Convert an incoming (RPC) value to the stored form; ValueError on a value Odoo refuses."""
    empty = value is None or value is False
    kind = f.type
    if kind in ("char", "text", "html"):
        if empty:
            return False
        text = value if isinstance(value, str) else str(value)
        return text[: f.size] if f.size else text
    if kind == "boolean":
        return bool(value)
    if kind == "integer":
        return 0 if empty else int(value)
    if kind in ("float", "monetary"):
        return 0.0 if empty else float(value)
    if kind == "date":
        return False if empty or value == "" else _parse_date(value)
    if kind == "datetime":
        return False if empty or value == "" else parse_datetime(value)
    if kind == "selection":
        if empty:
            return False
        if value not in {key for key, _ in f.selection or ()}:
            raise ValueError(f"Wrong value for {model}.{f.name}: {value!r}")
        return value
    if kind == "many2one":
        if empty:
            return False
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"Wrong value for {model}.{f.name}: {value!r}")
        return value
    if kind == "binary":
        return False if empty else str(value)
    raise ValueError(f"{model}.{f.name}: cannot store a {kind} field directly")


def to_wire(f: Field, value: Any, display: Callable[[str, int], str] | None) -> Any:
    """A stored value as ``read`` returns it; ``display(model, id)`` gives many2one names
    (None means ``load`` asked for plain ids)."""
    kind = f.type
    if kind == "many2one":
        if not value:
            return False
        return [value, display(f.relation, value)] if display else value
    if kind in X2MANY:
        return list(value or [])
    if kind == "datetime":
        return value.strftime(DATETIME_FORMAT) if isinstance(value, datetime) else False
    if kind in NUMERIC:
        return value if value not in (None, False) else (0 if kind == "integer" else 0.0)
    if kind == "boolean":
        return bool(value)
    return False if value is None else value


def field_defaults() -> dict[str, Field]:
    """Magic fields every model has (``__last_update`` is gone since 17)."""
    return {
        "id": Field("integer", "ID", readonly=True),
        "display_name": Field("char", "Display Name", readonly=True, store=False),
        "create_uid": Field("many2one", "Created by", relation="res.users", readonly=True),
        "create_date": Field("datetime", "Created on", readonly=True),
        "write_uid": Field("many2one", "Last Updated by", relation="res.users", readonly=True),
        "write_date": Field("datetime", "Last Updated on", readonly=True),
    }


MAGIC = frozenset(field_defaults())
