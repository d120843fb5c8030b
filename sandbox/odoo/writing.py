"""``create``, ``write``, ``unlink``: defaults, conversion, x2many commands, required and foreign
keys, ``_inherits`` delegation, ondelete rules and the magic ``create_date``/``write_date``.

x2many values accept the command tuples ``(0, 0, vals)`` create, ``(1, id, vals)`` update,
``(2, id)`` delete, ``(3, id)`` unlink, ``(4, id)`` link, ``(5,)`` clear, ``(6, 0, ids)`` replace
(trailing elements may be left out, as OdooRPC does), a plain list of ids (= replace) or False
(= clear), exactly what ``write_batch`` of Odoo's relational fields accepts.
"""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from sandbox.odoo.access import check_records
from sandbox.odoo.errors import ValidationError
from sandbox.odoo.fields import MAGIC, Field, to_cache
from sandbox.odoo.reading import empty, o2m_ids

if TYPE_CHECKING:
    from sandbox.odoo.access import Env
    from sandbox.odoo.registry import ModelDef

__all__ = ["create", "normalize_commands", "touch", "unlink", "write"]

_NO_VARIANT = "_sim_no_variant"  # internal context flag: the template is created by its variant


def _check_names(model: ModelDef, vals: Any) -> dict[str, Any]:
    if not isinstance(vals, dict):
        raise ValueError(f"{model.name}: expected a dict of field values, got {vals!r}")
    for name in vals:
        if name not in model.fields:
            raise ValueError(f"Invalid field {name!r} on model {model.name!r}")
    return dict(vals)


def _not_null(model: ModelDef, f: Field) -> ValidationError:
    # [INFER] Odoo 16/17 wording for a NOT NULL violation turned into a ValidationError.
    return ValidationError("The operation cannot be completed:\n- Create/update: a mandatory field is not set.\n"
                           "- Delete: another model requires the record being deleted. If possible, archive it "
                           f"instead.\n\nModel: {model.description} ({model.name}), Field: {f.string} ({f.name})")


def _foreign_key(model: ModelDef, f: Field) -> ValidationError:
    return ValidationError("The operation cannot be completed: another model requires the record being deleted. "
                           f"If possible, archive it instead.\n\nModel: {model.description} ({model.name}), "
                           f"Constraint: {model.table}_{f.name}_fkey")


def _split(model: ModelDef, vals: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(column values, values written after the row exists: x2many, related, inverses)."""
    plain: dict[str, Any] = {}
    later: dict[str, Any] = {}
    for name, raw in vals.items():
        if name.startswith("_"):  # hidden simulator columns set by hooks (never by clients)
            plain[name] = raw
            continue
        f = model.fields[name]
        if name in MAGIC:
            continue
        if f.type in ("one2many", "many2many") or f.related or f.inverse:
            later[name] = raw
        elif f.compute:
            continue  # a computed field without inverse: Odoo ignores the value
        else:
            plain[name] = to_cache(f, model.name, raw)
    return plain, later


def _check_links(env: Env, model: ModelDef, plain: dict[str, Any]) -> None:
    for name, rid in plain.items():
        f = model.fields.get(name)
        if f is not None and f.type == "many2one" and rid and not env.store.exists(f.relation, rid):
            raise _foreign_key(model, f)


def create(env: Env, model_name: str, vals_list: list[dict[str, Any]]) -> list[int]:
    """Create one row per dict; returns the new ids."""
    model = env.registry[model_name]
    env.check_access_rights(model, "create")
    ids = [_create_one(env, model, _check_names(model, vals)) for vals in vals_list]
    model.hooks.after_create(env, ids)
    model.hooks.constraints(env, ids)
    return ids


def _create_one(env: Env, model: ModelDef, vals: dict[str, Any]) -> int:
    for key, default in env.context.items():  # default_<field> context keys
        if key.startswith("default_") and key[8:] in model.fields and key[8:] not in vals:
            vals[key[8:]] = default
    for parent, link in model.inherits.items():
        if not vals.get(link):
            delegated = {k: vals.pop(k) for k in list(vals)
                         if model.fields[k].related and model.fields[k].related[0] == link}
            vals[link] = create(env.with_context(**{_NO_VARIANT: True}), parent, [delegated])[0]
    vals = model.hooks.prepare_create(env, vals)
    for name, f in model.fields.items():
        if name in vals or name in MAGIC or f.default is None:
            continue
        vals[name] = f.default(env, vals) if callable(f.default) else copy.deepcopy(f.default)
    plain, later = _split(model, vals)
    for name, f in model.fields.items():
        if name not in plain and name not in MAGIC and not f.is_computed and f.type != "many2many":
            plain[name] = empty(f)
        if f.type == "many2many" and not f.related and name not in plain:
            plain[name] = []
    for name, f in model.fields.items():
        if f.required and not f.is_computed and f.type not in ("many2many", "boolean", "integer", "float",
                                                                "monetary") and name not in later:
            if plain.get(name) in (False, None):
                raise _not_null(model, f)
    _check_links(env, model, plain)
    plain.update(create_uid=env.uid, create_date=env.now, write_uid=env.uid, write_date=env.now)
    rid = env.store.insert(model.name, plain)
    for name, raw in later.items():
        _write_later(env, model, rid, name, raw)
    for name, f in model.fields.items():
        if f.required and f.type == "many2many" and not env.store.get(model.name, rid).get(name):
            raise _not_null(model, f)
    return rid


def write(env: Env, model_name: str, ids: list[int], vals: dict[str, Any]) -> None:
    """Write ``vals`` on every id (MissingError / AccessError first, as Odoo checks)."""
    model = env.registry[model_name]
    env.check_access_rights(model, "write")
    vals = _check_names(model, vals)
    check_records(env, model, ids, "write")
    if not ids:
        return
    vals = model.hooks.prepare_write(env, ids, vals)
    plain, later = _split(model, vals)
    for name, stored in plain.items():
        f = model.fields.get(name)
        if f is not None and f.required and stored in (False, None) and f.type not in ("boolean", "integer", "float", "monetary"):
            raise _not_null(model, f)
    _check_links(env, model, plain)
    for rid in ids:
        touch(env, model.name, rid, copy.deepcopy(plain))
        for name, raw in later.items():
            _write_later(env, model, rid, name, raw)
    model.hooks.after_write(env, ids, vals)
    model.hooks.constraints(env, ids)


def touch(env: Env, model_name: str, rid: int, changes: dict[str, Any]) -> None:
    """An ORM-level update of stored values: bumps ``write_date``/``write_uid`` (recomputed
    stored fields are flushed through the ORM too, so they bump it as well)."""
    env.store.update(model_name, rid, {**changes, "write_uid": env.uid, "write_date": env.now})


def normalize_commands(raw: Any) -> list[tuple]:
    if raw is False or raw is None:
        return [(5,)]
    if isinstance(raw, tuple):
        raw = [raw]
    if not isinstance(raw, list):
        raise ValueError(f"Invalid x2many value {raw!r}: expected a list of commands or ids")
    if raw and not isinstance(raw[0], list | tuple):
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in raw):
            raise ValueError(f"Invalid x2many value {raw!r}")
        return [(6, 0, list(raw))]
    commands = []
    for command in raw:
        if not isinstance(command, list | tuple) or not command or command[0] not in range(7) \
                or isinstance(command[0], bool):
            raise ValueError(f"Invalid x2many command {command!r}")
        needs = {0: 3, 1: 3, 2: 2, 3: 2, 4: 2, 5: 1, 6: 3}[command[0]]
        if len(command) < needs:
            raise ValueError(f"Invalid x2many command {command!r}")
        commands.append(tuple(command))
    return commands


def _write_later(env: Env, model: ModelDef, rid: int, name: str, raw: Any) -> None:
    f = model.fields[name]
    if f.related:
        link, target = f.related
        target_id = env.store.get(model.name, rid).get(link)
        if target_id:
            write(env, model.fields[link].relation, [target_id], {target: raw})
    elif f.inverse:
        f.inverse(env, rid, raw)
    elif f.type == "one2many":
        _one2many(env, model, rid, f, normalize_commands(raw))
    else:
        _many2many(env, model, rid, f, normalize_commands(raw))


def _one2many(env: Env, model: ModelDef, rid: int, f: Field, commands: list[tuple]) -> None:
    comodel = env.registry[f.relation]
    inverse = comodel.fields[f.inverse_name]

    def release(ids: list[int]) -> None:
        if inverse.ondelete == "cascade" or inverse.required:
            unlink(env, comodel.name, ids)
        elif ids:
            write(env, comodel.name, ids, {f.inverse_name: False})

    for command in commands:
        code = command[0]
        if code == 0:
            create(env, comodel.name, [{**_check_names(comodel, command[2]), f.inverse_name: rid}])
        elif code == 1:
            write(env, comodel.name, [command[1]], command[2])
        elif code == 2:
            unlink(env, comodel.name, [command[1]])
        elif code == 3:
            release([command[1]])
        elif code == 4:
            write(env, comodel.name, [command[1]], {f.inverse_name: rid})
        elif code == 5:
            release(o2m_ids(env, model, rid, f))
        else:
            keep = [i for i in command[2]]
            release([i for i in o2m_ids(env, model, rid, f) if i not in keep])
            if keep:
                write(env, comodel.name, keep, {f.inverse_name: rid})


def _many2many(env: Env, model: ModelDef, rid: int, f: Field, commands: list[tuple]) -> None:
    linked = list(env.store.get(model.name, rid).get(f.name) or [])

    def check(ids: list[int]) -> list[int]:
        if any(not env.store.exists(f.relation, i) for i in ids):
            raise _foreign_key(model, f)
        return ids

    for command in commands:
        code = command[0]
        if code == 0:
            linked += create(env, f.relation, [command[2]])
        elif code == 1:
            write(env, f.relation, [command[1]], command[2])
        elif code == 2:
            unlink(env, f.relation, [command[1]])
            linked = [i for i in linked if i != command[1]]
        elif code == 3:
            linked = [i for i in linked if i != command[1]]
        elif code == 4:
            linked += [i for i in check([command[1]]) if i not in linked]
        elif code == 5:
            linked = []
        else:
            linked = list(dict.fromkeys(check(list(command[2]))))
    touch(env, model.name, rid, {f.name: linked})


def unlink(env: Env, model_name: str, ids: list[int]) -> None:
    """Delete rows; ids already gone are ignored (Odoo does not complain about those)."""
    model = env.registry[model_name]
    env.check_access_rights(model, "unlink")
    ids = [rid for rid in dict.fromkeys(ids) if env.store.exists(model_name, rid)]
    check_records(env, model, ids, "unlink")
    if not ids:
        return
    after = model.hooks.before_unlink(env, ids)
    _delete(env, model_name, set(ids))
    if after is not None:
        after()


def _delete(env: Env, model_name: str, ids: set[int]) -> None:
    """The database's part: foreign keys (restrict / cascade / set null) and m2m rows."""
    cascade: dict[str, set[int]] = {}
    for other, name, f in env.registry.references(model_name):
        other_model = env.registry[other]
        for row in env.store.rows(other):
            if other == model_name and row["id"] in ids:
                continue
            if f.type == "many2one" and row.get(name) in ids:
                if f.ondelete == "restrict":
                    raise _foreign_key(other_model, f)
                if f.ondelete == "cascade":
                    cascade.setdefault(other, set()).add(row["id"])
                else:  # SQL "ON DELETE SET NULL": no ORM write, so no write_date
                    env.store.update(other, row["id"], {name: False})
            elif f.type == "many2many" and set(row.get(name) or []) & ids:
                env.store.update(other, row["id"], {name: [i for i in row[name] if i not in ids]})
    for rid in ids:
        env.store.delete(model_name, rid)
    for other, other_ids in cascade.items():
        _delete(env, other, {i for i in other_ids if env.store.exists(other, i)})
