"""The ORM methods every model answers over RPC, with Odoo's parameter names (so positional
XML-RPC arguments and JSON-2 named arguments bind as they do on a server), and ``call_kw``."""
from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.odoo import api, reading, writing
from sandbox.odoo import search as searching
from sandbox.odoo.domain import name_domain
from sandbox.odoo.errors import AccessError
from sandbox.odoo.fields import MAGIC, describe

if TYPE_CHECKING:
    from sandbox.odoo.access import Env
    from sandbox.odoo.registry import ModelDef

__all__ = ["ORM_METHODS", "call_kw", "get_method", "normalize_ids", "public_methods"]


@api.model
@api.readonly
def search(self: api.Records, domain: Any, offset: int = 0, limit: int | None = None, order: str | None = None) -> list:
    return searching.search(self.env, self.name, domain, offset, limit, order)


@api.model
@api.readonly
def search_count(self: api.Records, domain: Any, limit: int | None = None) -> int:
    return len(searching.search(self.env, self.name, domain, 0, limit))


@api.model
@api.readonly
def search_read(self: api.Records, domain: Any = None, fields: Any = None, offset: int = 0, limit: int | None = None,
                order: str | None = None, **read_kwargs: Any) -> list:
    ids = searching.search(self.env, self.name, domain, offset, limit, order)
    return reading.read(self.env, self.model, ids, fields, **read_kwargs) if ids else []


@api.readonly
def read(self: api.Records, fields: Any = None, load: str | None = "_classic_read") -> list:
    return reading.read(self.env, self.model, self.ids, fields, load)


@api.model
def create(self: api.Records, vals_list: Any) -> list[int]:
    """``@api.model_create_multi``: a dict or a list of dicts; call_kw downgrades to an id for a dict."""
    return writing.create(self.env, self.name, [vals_list] if isinstance(vals_list, dict) else list(vals_list))


def write(self: api.Records, vals: Any) -> bool:
    writing.write(self.env, self.name, self.ids, vals)
    return True


def unlink(self: api.Records) -> bool:
    writing.unlink(self.env, self.name, self.ids)
    return True


@api.readonly
def exists(self: api.Records) -> list[int]:
    return [rid for rid in self.ids if self.env.store.exists(self.name, rid)]


def action_archive(self: api.Records) -> bool:
    writing.write(self.env, self.name, self.ids, {"active": False})
    return True


def action_unarchive(self: api.Records) -> bool:
    writing.write(self.env, self.name, self.ids, {"active": True})
    return True


@api.model
@api.readonly
def fields_get(self: api.Records, allfields: Any = None, attributes: Any = None) -> dict:
    result = {}
    for name, f in self.model.fields.items():
        if allfields and name not in allfields:
            continue
        data = describe(f, self.name)
        result[name] = {k: v for k, v in data.items() if k in attributes} if attributes else data
    return result


def _default_get(self: api.Records, names: Any) -> dict:
    result: dict[str, Any] = {}
    for name in names or []:
        f = self.model.fields.get(name)
        if f is None or name in MAGIC:
            continue
        if f"default_{name}" in self.env.context:
            result[name] = self.env.context[f"default_{name}"]
        elif f.default is not None:
            result[name] = f.default(self.env, {}) if callable(f.default) else f.default
    return result


def _named(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a per-version variant its public name, so a TypeError says ``default_get()``."""
    def rename(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.__code__ = fn.__code__.replace(co_name=name, co_qualname=name)
        fn.__name__ = fn.__qualname__ = name
        return fn
    return rename


@api.model
@api.readonly
@_named("default_get")
def default_get_17(self: api.Records, fields_list: Any) -> dict:
    return _default_get(self, fields_list)


@api.model
@api.readonly
@_named("default_get")
def default_get_19(self: api.Records, fields: Any) -> dict:
    return _default_get(self, fields)


@api.model
@api.readonly
def check_access_rights(self: api.Records, operation: str, raise_exception: bool = True) -> bool:
    try:
        self.env.check_access_rights(self.model, operation)
    except AccessError:
        if raise_exception:
            raise
        return False
    return True


@api.model
def name_create(self: api.Records, name: str) -> list | bool:
    """``[id, display_name]`` of a record created from its display name alone (Odoo returns the
    pair as a tuple, a list on the wire); False for a model without ``_rec_name``. Read in the
    18- and 19-era models.py; [INFER] 17.0 the same (display_name era, name_get deprecated)."""
    if not self.model.rec_name:
        return False
    [rid] = writing.create(self.env, self.name, [{self.model.rec_name: name}])
    return [rid, reading.display_name(self.env, self.model, self.env.store.get(self.name, rid))]


def _name_search(self: api.Records, name: str, domain: Any, operator: str, limit: Any) -> list:
    extra = list(domain or [])
    if name:
        extra = (["&"] if extra else []) + name_domain(self.model, name, operator) + extra
    ids = searching.search(self.env, self.name, extra, 0, limit)
    return [[rid, reading.display_name(self.env, self.model, self.env.store.get(self.name, rid))] for rid in ids]


@api.model
@api.readonly
@_named("name_search")
def name_search_17(self: api.Records, name: str = "", args: Any = None, operator: str = "ilike",
                   limit: int = 100) -> list:
    return _name_search(self, name, args, operator, limit)


@api.model
@api.readonly
@_named("name_search")
def name_search_19(self: api.Records, name: str = "", domain: Any = None, operator: str = "ilike",
                   limit: int = 100) -> list:
    return _name_search(self, name, domain, operator, limit)


@api.readonly
def name_get(self: api.Records) -> list:
    """Deprecated since 16.4, still answered by 17.0, removed in 17.3/18."""
    from sandbox.odoo.access import check_records

    check_records(self.env, self.model, self.ids, "read")
    return [[rid, reading.display_name(self.env, self.model, self.env.store.get(self.name, rid))] for rid in self.ids]


_BASE: dict[str, Callable[..., Any]] = {
    "search": search, "search_count": search_count, "search_read": search_read, "read": read, "create": create,
    "write": write, "unlink": unlink, "exists": exists, "fields_get": fields_get, "name_create": name_create,
    "check_access_rights": check_access_rights,
}


def get_method(env: Env, model: ModelDef, name: Any) -> Callable[..., Any]:
    """The public method ``name`` of ``model``; AccessError for private names, AttributeError
    for unknown ones (the errors ``get_public_method`` raises)."""
    if not isinstance(name, str):
        raise AttributeError(env.profile.missing_method(model.name, repr(name)))
    if name.startswith("_"):
        raise AccessError(env.profile.private_method(model.name, name))
    if name in model.methods:
        return model.methods[name]
    if name == "name_search":
        return name_search_17 if env.profile.name_search_domain_arg == "args" else name_search_19
    if name == "default_get":
        return default_get_17 if env.profile.default_get_arg == "fields_list" else default_get_19
    if name == "name_get" and env.profile.name_get:
        return name_get
    if name in ("action_archive", "action_unarchive") and model.active_name:
        return action_archive if name == "action_archive" else action_unarchive
    if name in _BASE:
        return _BASE[name]
    raise AttributeError(env.profile.missing_method(model.name, name))


# BaseModel's public methods (what ``get_method`` may answer for any model).
ORM_METHODS = frozenset({*_BASE, "name_search", "default_get", "name_get", "action_archive", "action_unarchive"})


def public_methods(env: Env, model: ModelDef) -> dict[str, Callable[..., Any]]:
    """Every method ``get_method`` answers for ``model``, by name (what ``/doc`` lists)."""
    names = {*ORM_METHODS, *model.methods}
    found = {}
    for name in sorted(names):
        try:
            found[name] = get_method(env, model, name)
        except AttributeError:
            continue
    return found


def normalize_ids(ids: Any) -> list[int]:
    """What ``browse()`` accepts: an id, a list of ids, or nothing."""
    if ids is None or ids is False:
        return []
    if isinstance(ids, int) and not isinstance(ids, bool):
        return [ids]
    if isinstance(ids, list | tuple) and all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        return list(ids)
    raise ValueError(f"Invalid ids {ids!r}: expected a record id or a list of ids")


def call_kw(env: Env, model: ModelDef, method: str, args: list, kwargs: dict[str, Any]) -> Any:
    """``odoo.api.call_kw``: ``context`` from the keyword arguments, ids from ``args[0]`` unless
    the method is ``@api.model``; ``create`` answers an id for one dict, a list for a list."""
    fn = get_method(env, model, method)
    kwargs = dict(kwargs or {})
    context = kwargs.pop("context", None)
    if context is not None:
        if not isinstance(context, dict):
            raise ValueError(f"context must be a dictionary, not {context!r}")
        env = env.with_context(context)
    args = list(args or [])
    if api.is_model_method(fn):
        records = api.Records(env, model, [])
    else:
        if not args:
            raise TypeError(f"{model.name}.{method}() missing the record ids (first positional argument)")
        records = api.Records(env, model, normalize_ids(args[0]))
        args = args[1:]
    result = fn(records, *args, **kwargs)
    if method == "create":
        first = args[0] if args else kwargs.get("vals_list")
        return result[0] if isinstance(first, dict) else result
    return result


def bind_named(fn: Callable[..., Any], records: api.Records, kwargs: dict[str, Any]) -> None:
    """JSON-2 binds by name only; TypeError when the names do not fit the signature."""
    inspect.signature(fn).bind(records, **kwargs)
