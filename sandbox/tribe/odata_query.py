"""OData system query options: ``$select``, ``$expand`` (nested), ``$orderby``, paging, ``$count``.

The server returns at most ``MAX_PAGE_SIZE`` rows per response; when the client did not ask for
fewer (no ``$top`` or ``$top`` above the cap) and more rows exist, an ``@odata.nextLink`` is added.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from sandbox.tribe.errors import bad_request
from sandbox.tribe.filter_eval import comparable, compile_filter, key_terms, walk_path
from sandbox.tribe.model import ENTITY_SETS, EntitySet, set_for_type
from sandbox.tribe.store import EntityStore

__all__ = ["MAX_PAGE_SIZE", "QueryOptions", "parse_options", "run_collection", "serialize", "split_top"]

MAX_PAGE_SIZE = 100
_COLLECTION_OPTIONS = {"$filter", "$select", "$expand", "$orderby", "$top", "$skip", "$count", "$format"}
_SINGLE_OPTIONS = {"$select", "$expand", "$format"}
_EXPAND_ITEM = re.compile(r"\s*([A-Za-z_]\w*|\*)\s*(?:\((.*)\))?\s*", re.DOTALL)


@dataclass
class QueryOptions:
    """Parsed options for one level (top level, or one ``$expand`` item)."""

    filter: str | None = None
    select: list[str] | None = None
    expand: dict[str, QueryOptions] = field(default_factory=dict)
    orderby: list[tuple[tuple[str, ...], bool]] = field(default_factory=list)  # (path, descending)
    top: int | None = None
    skip: int = 0
    count: bool = False


def split_top(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside parentheses and quoted strings."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, char in enumerate(text):
        if char == "'":
            quoted = not quoted  # a doubled quote toggles twice, which is what we want
        elif quoted:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise bad_request(f"Unbalanced ')' at position {i} in '{text}'", "InvalidQuery")
        elif char == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth or quoted:
        raise bad_request(f"Unbalanced parentheses or quotes in '{text}'", "InvalidQuery")
    parts.append(text[start:])
    return parts


def parse_options(params: dict[str, str], set_def: EntitySet, *, single: bool = False) -> QueryOptions:
    """Validate and parse the ``$`` options of a request.

    Args:
        params: Decoded query parameters (non-``$`` ones such as access_token are ignored).
        set_def: The entity set addressed.
        single: True for single-entity reads, which only take ``$select`` and ``$expand``.
    """
    allowed = _SINGLE_OPTIONS if single else _COLLECTION_OPTIONS
    for name in params:
        if name.startswith("$") and name not in allowed:
            where = "on a single entity" if name in _COLLECTION_OPTIONS else "by the Tribe API"
            raise bad_request(f"The system query option '{name}' is not supported {where}", "UnsupportedOption")
    return _parse_level(params, set_def, collection=not single)


def _parse_level(params: dict[str, str], set_def: EntitySet, *, collection: bool) -> QueryOptions:
    opts = QueryOptions()
    if not collection:
        extra = {"$filter", "$orderby", "$top", "$skip", "$count"} & set(params)
        if extra:
            raise bad_request(f"{', '.join(sorted(extra))} can only be used on collections", "InvalidQuery")
    if "$filter" in params:
        opts.filter = params["$filter"]
        compile_filter(opts.filter, set_def, lambda r, s: None)  # fail fast on a bad expression
    if "$select" in params:
        opts.select = [_property(set_def, name.strip()) for name in split_top(params["$select"], ",")]
    if "$expand" in params:
        opts.expand = _parse_expand(params["$expand"], set_def)
    if "$orderby" in params:
        opts.orderby = [_order_item(set_def, item) for item in split_top(params["$orderby"], ",")]
    opts.top = _non_negative(params, "$top")
    opts.skip = _non_negative(params, "$skip") or 0
    count = params.get("$count", "false").lower()
    if count not in ("true", "false"):
        raise bad_request(f"$count must be true or false, got '{params['$count']}'", "InvalidQuery")
    opts.count = count == "true"
    return opts


def _property(set_def: EntitySet, name: str) -> str:
    if name == "*" or set_def.kind(name) or name in set_def.navs:
        return name
    raise bad_request(f"Could not find a property named '{name}' on type '{set_def.type}'", "UnknownProperty")


def _parse_expand(text: str, set_def: EntitySet) -> dict[str, QueryOptions]:
    result: dict[str, QueryOptions] = {}
    for item in split_top(text, ","):
        match = _EXPAND_ITEM.fullmatch(item)
        if not match:
            raise bad_request(f"Invalid $expand item '{item.strip()}'", "InvalidQuery")
        name, inner = match.group(1), match.group(2)
        names = [n for n in set_def.navs] if name == "*" else [name]
        for nav_name in names:
            nav = set_def.navs.get(nav_name)
            if nav is None:
                raise bad_request(f"Could not find a navigation property named '{nav_name}' on type "
                                  f"'{set_def.type}'", "UnknownProperty")
            nested: dict[str, str] = {}
            for option in split_top(inner, ";") if inner else []:
                key, sep, value = option.strip().partition("=")
                if not sep or key not in _COLLECTION_OPTIONS - {"$format"}:
                    raise bad_request(f"Invalid option '{option.strip()}' in $expand of '{nav_name}'", "InvalidQuery")
                nested[key] = value
            result[nav_name] = _parse_level(nested, ENTITY_SETS[nav.target], collection=nav.many)
    return result


def _order_item(set_def: EntitySet, item: str) -> tuple[tuple[str, ...], bool]:
    words = item.split()
    if not words or len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
        raise bad_request(f"Invalid $orderby item '{item.strip()}'; use 'Property [asc|desc]'", "InvalidQuery")
    path = tuple(words[0].split("/"))
    walk_path(set_def, path)
    return path, len(words) == 2 and words[1].lower() == "desc"


def _non_negative(params: dict[str, str], name: str) -> int | None:
    if name not in params:
        return None
    raw = params[name].strip()
    if not raw.isdigit():
        raise bad_request(f"{name} must be a non-negative integer, got '{params[name]}'", "InvalidQuery")
    return int(raw)


def _filtered_sorted(store: EntityStore, rows: list[dict], set_def: EntitySet, opts: QueryOptions) -> list[dict]:
    if opts.filter:
        predicate = compile_filter(opts.filter, set_def, store.resolve)
        rows = [r for r in rows if predicate(r)]
    for path, descending in reversed(opts.orderby):  # stable sorts, last key first
        kind = walk_path(set_def, path)

        def key(record: dict, path: tuple[str, ...] = path, kind: str = kind) -> tuple[bool, Any]:
            value = comparable(kind, store.resolve(record, path))
            return (value is not None, value if value is not None else 0)  # nulls first ascending
        rows = sorted(rows, key=key, reverse=descending)
    return rows


def run_collection(store: EntityStore, set_name: str, opts: QueryOptions, base_url: str,
                   params: dict[str, str]) -> dict[str, Any]:
    """Answer a collection GET: filter, count, sort, page, shape.

    Args:
        store: The entity store.
        set_name: Entity set addressed.
        opts: Parsed options.
        base_url: Absolute URL of the collection (for ``@odata.nextLink``).
        params: The request's query parameters, copied into the next link.
    """
    set_def = ENTITY_SETS[set_name]
    keys = key_terms(opts.filter, set_def) if opts.filter else None
    if keys is None:
        candidates = store.rows(set_name)
    else:  # looked up by key, as a database would (the filter below still decides)
        found = {r["ID"]: r for field, values in keys.items() for r in store.referring(set_name, field, values)}
        candidates = list(found.values()) if len(keys) == 1 else store.in_order(found.values())
    rows = _filtered_sorted(store, candidates, set_def, opts)
    page_size = MAX_PAGE_SIZE if opts.top is None else min(opts.top, MAX_PAGE_SIZE)
    page = rows[opts.skip:opts.skip + page_size]
    body: dict[str, Any] = {"@odata.context": f"$metadata#OData.{set_name}"}
    if opts.count:
        body["@odata.count"] = len(rows)
    body["value"] = [serialize(store, r, opts) for r in page]
    remaining = None if opts.top is None else opts.top - len(page)
    if opts.skip + page_size < len(rows) and (remaining is None or remaining > 0):
        next_params = {k: v for k, v in params.items() if k not in ("$skip", "$top")}
        next_params["$skip"] = str(opts.skip + page_size)
        if remaining is not None:
            next_params["$top"] = str(remaining)
        body["@odata.nextLink"] = f"{base_url}?{urlencode(next_params, quote_via=quote, safe='$/,()')}"
    return body


def serialize(store: EntityStore, record: dict, opts: QueryOptions | None) -> dict[str, Any]:
    """Shape a stored record for the wire: all fields with explicit nulls (or ``$select`` plus ID),
    then expanded navigations (missing targets expand to ``null``)."""
    set_def = set_for_type(record["_Type"])
    if opts is not None and opts.select and "*" not in opts.select:
        keys = ["ID", *(n for n in opts.select if n != "ID" and set_def.kind(n))]
    else:
        keys = set_def.all_fields()
    out = {key: record.get(key) for key in keys}
    for nav_name, nested in (opts.expand if opts else {}).items():
        nav = set_def.navs.get(nav_name)
        if nav is None:  # base-set query: this subtype lacks the navigation
            continue
        if nav.many:
            target_def = ENTITY_SETS[nav.target]
            children = _filtered_sorted(store, store.children(record, nav_name), target_def, nested)
            end = None if nested.top is None else nested.skip + nested.top
            out[nav_name] = [serialize(store, c, nested) for c in children[nested.skip:end]]
        else:
            target = store.lookup(record.get(nav_name))
            out[nav_name] = serialize(store, target, nested) if target else None
    return out
