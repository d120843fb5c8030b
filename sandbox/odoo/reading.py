"""Reading values: stored, related, computed and one2many, then ``read()`` in wire form."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.odoo.access import check_records
from sandbox.odoo.fields import X2MANY, Field, to_wire

if TYPE_CHECKING:
    from sandbox.odoo.access import Env
    from sandbox.odoo.registry import ModelDef

__all__ = ["display_name", "empty", "o2m_ids", "read", "value"]


def empty(f: Field) -> Any:
    if f.type in X2MANY:
        return []
    if f.type == "integer":
        return 0
    if f.type in ("float", "monetary"):
        return 0.0
    return False


def value(env: Env, model: ModelDef, row: dict[str, Any], name: str) -> Any:
    """The value of field ``name`` on ``row`` in stored form (computing it when needed)."""
    f = model.fields[name]
    if name == "display_name":
        return display_name(env, model, row)
    if f.related:
        link, target = f.related
        target_id = row.get(link)
        comodel = env.registry[model.fields[link].relation]
        target_row = env.store.get(comodel.name, target_id) if target_id else None
        return value(env, comodel, target_row, target) if target_row else empty(f)
    if f.type == "one2many":
        return o2m_ids(env, model, row["id"], f)
    if f.compute:
        return f.compute(env, row)
    stored = row.get(name)
    return empty(f) if stored is None else stored


def display_name(env: Env, model: ModelDef, row: dict[str, Any] | None) -> str:
    if row is None:
        return ""
    return model.hooks.display_name(env, model, row)


def display_of(env: Env, model_name: str, rid: int) -> str:
    """Many2one display names are read as superuser (Odoo reads them with sudo)."""
    model = env.registry[model_name]
    return display_name(env, model, env.store.get(model_name, rid))


def _matches(row: dict[str, Any], leaf: tuple) -> bool:
    # One2many field domains are simple leaves: ('active', '=', True), ('display_type', 'in', [...]).
    name, op, right = leaf
    current = row.get(name)
    if op == "=":
        return current == right
    if op == "in":
        return current in right
    if op == "not in":
        return current not in right
    raise ValueError(f"unsupported one2many domain operator {op!r}")


def o2m_ids(env: Env, model: ModelDef, rid: int, f: Field) -> list[int]:
    """Ids of the comodel rows whose inverse many2one points at ``rid``, in the comodel's order."""
    from sandbox.odoo.order import sort_rows

    comodel = env.registry[f.relation]
    rows = [r for r in env.store.rows(comodel.name)
            if r.get(f.inverse_name) == rid and all(_matches(r, leaf) for leaf in f.domain)]
    return sort_rows(env, comodel, rows, comodel.order)


def read(env: Env, model: ModelDef, ids: list[int], fields: list[str] | None = None,
         load: str | None = "_classic_read") -> list[dict[str, Any]]:
    """``read()``: one dict per id (``id`` always first), in the order of ``ids``.

    Ids that no longer exist are left out, not an error: Odoo's ``_read_format`` drops the
    records that raise MissingError, so ``read([gone, kept])`` answers ``[kept]`` and
    ``read([gone])`` answers ``[]`` (``test_access_deleted_records`` in Odoo's base tests
    asserts both, 17 to 19). Rows the record rules hide still raise AccessError.
    """
    names = _field_names(model, fields)
    ids = [rid for rid in ids if env.store.exists(model.name, rid)]
    check_records(env, model, ids, "read")
    shown = (lambda comodel, rid: display_of(env, comodel, rid)) if load == "_classic_read" else None
    result = []
    for rid in ids:
        row = env.store.get(model.name, rid)
        record: dict[str, Any] = {"id": rid}
        for name in names:
            if name != "id":
                record[name] = to_wire(model.fields[name], value(env, model, row, name), shown)
        result.append(record)
    return result


def _field_names(model: ModelDef, fields: Any) -> list[str]:
    if not fields:
        return list(model.fields)
    fields = list(fields)  # a string is iterated like Odoo does, so 'name' fails on 'n'
    for name in fields:
        if not isinstance(name, str) or name not in model.fields:
            raise ValueError(f"Invalid field {name!r} on model {model.name!r}")
    return list(dict.fromkeys(fields))
