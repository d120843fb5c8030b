"""Query options and server paging: ``$filter $select $top $skip $skiptoken $inlinecount $orderby
$expand``, pages of 60 (1,000 on bulk and sync), and the absolute ``__next`` link.

Rows come in key order and ``__next`` repeats the query with ``$skiptoken=guid'<last key>'``
(KB-ODATA). ``$top`` caps the *whole* result as in WCF Data Services: ``__next`` carries what is
left of it (research §2.4, [INFER]). Sync pages are ordered by ``Timestamp`` and then the key, and
their skiptoken holds both, so rows that share a Timestamp are never lost by the server's own
paging [INFER: format unknown]. With ``$orderby`` the next page is a ``$skip`` [INFER].
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sandbox.exact.entities import EntitySpec
from sandbox.exact.errors import SELECT_REQUIRED, ExactError
from sandbox.exact.odata_filter import Node, evaluate, parse_filter

__all__ = ["Query", "key_literal", "page_rows", "parse_key", "parse_query"]

_KNOWN = {"$filter", "$select", "$top", "$skip", "$skiptoken", "$inlinecount", "$orderby", "$expand", "$format"}
_GUID_TOKEN = re.compile(r"^guid'([0-9a-fA-F-]{36})'$")
_SYNC_TOKEN = re.compile(r"^(\d+)L(?:,guid'([0-9a-fA-F-]{36})')?$")


@dataclass
class Query:
    params: list[tuple[str, str]]
    filter: Node | None = None
    filter_text: str = ""
    select: list[str] | None = None
    top: int | None = None
    skip: int = 0
    skiptoken: str | None = None
    inlinecount: bool = False
    orderby: list[tuple[str, bool]] = field(default_factory=list)
    expand: set[str] = field(default_factory=set)


def _int_option(name: str, raw: str) -> int:
    if not raw.isdigit():
        raise ExactError(400, f"Invalid value '{raw}' for the {name} query option: a non-negative integer is expected.")
    return int(raw)


def parse_query(params: list[tuple[str, str]], spec: EntitySpec) -> Query:
    q = Query(params)
    for name, value in params:
        key = name.lower() if name.startswith("$") else name
        if key.startswith("$") and key not in _KNOWN:
            raise ExactError(400, f"The query parameter '{name}' begins with a system-reserved '$' character but "
                                  "is not recognized.")
        if key == "$filter":
            q.filter_text = value
            q.filter = parse_filter(value, spec.fields, spec.type_name) if value.strip() else None
        elif key == "$select":
            q.select = [part.strip() for part in value.split(",") if part.strip()]
            for name_ in q.select:
                if name_ != "*" and name_ not in spec.fields:
                    raise ExactError(400, f"No property '{name_}' exists in type '{spec.type_name}'.")
        elif key == "$top":
            q.top = _int_option(name, value)
        elif key == "$skip":
            q.skip = _int_option(name, value)
        elif key == "$skiptoken":
            q.skiptoken = value
        elif key == "$inlinecount":
            if value not in {"allpages", "none"}:
                raise ExactError(400, "Invalid value for $inlinecount: use 'allpages' or 'none'.")
            q.inlinecount = value == "allpages"
        elif key == "$orderby":
            for part in value.split(","):
                words = part.split()
                if not words or words[0] not in spec.fields or len(words) > 2 or (
                        len(words) == 2 and words[1] not in {"asc", "desc"}):
                    raise ExactError(400, f"Invalid $orderby expression '{part.strip()}'.")
                q.orderby.append((words[0], len(words) == 2 and words[1] == "desc"))
        elif key == "$expand":
            for nav in value.split(","):
                if nav.strip() not in spec.navs:
                    raise ExactError(400, f"No property '{nav.strip()}' exists in type '{spec.type_name}'.")
                q.expand.add(nav.strip())
    if spec.kind == "sync" and not q.select:
        raise ExactError(400, SELECT_REQUIRED)
    return q


def key_literal(spec: EntitySpec, value: Any) -> str:
    typ = spec.fields[spec.key]
    return f"guid'{value}'" if typ == "g" else f"{value}L" if typ == "l" else str(value)


def parse_key(spec: EntitySpec, text: str) -> Any:
    """``guid'…'`` / ``123L`` / ``123`` from ``Entity(<key>)`` (400 when it does not fit the key's type)."""
    typ = spec.fields[spec.key]
    match = _GUID_TOKEN.match(text)
    if typ == "g" and match:
        return match.group(1).lower()
    if typ in {"i", "l"} and re.fullmatch(r"\d+L?", text):
        return int(text.rstrip("L"))
    raise ExactError(400, f"Bad Request - Error in query syntax: the key '{text}' does not fit {spec.path}.")


def _sort_value(value: Any) -> tuple:
    if isinstance(value, str):
        return (value is not None, value.casefold())
    return (value is not None, value)


def _ordered(rows: list[dict[str, Any]], spec: EntitySpec, q: Query) -> list[dict[str, Any]]:
    if spec.kind == "sync":
        return sorted(rows, key=lambda r: (r["_ts"], str(r.get("ID") or r.get("EntityKey") or "")))
    rows = sorted(rows, key=lambda r: _sort_value(r.get(spec.key)))
    for name, desc in reversed(q.orderby):
        rows = sorted(rows, key=lambda r, n=name: _sort_value(r.get(n)), reverse=desc)
    return rows


def _after_token(rows: list[dict[str, Any]], spec: EntitySpec, token: str) -> list[dict[str, Any]]:
    if spec.kind == "sync":
        match = _SYNC_TOKEN.match(token)
        if not match:
            raise ExactError(400, f"Invalid $skiptoken '{token}'.")
        ts, last = int(match.group(1)), (match.group(2) or "").lower()
        return [r for r in rows if (r["_ts"], str(r.get("ID") or r.get("EntityKey") or "")) > (ts, last)]
    typ = spec.fields[spec.key]
    if typ == "g":
        match = _GUID_TOKEN.match(token)
        if not match:
            raise ExactError(400, f"Invalid $skiptoken '{token}'.")
        last = match.group(1).lower()
        return [r for r in rows if str(r[spec.key]) > last]
    return [r for r in rows if int(r[spec.key]) > int(token.rstrip("L"))]


def _token_for(spec: EntitySpec, row: dict[str, Any]) -> str:
    if spec.kind == "sync":
        return f"{row['_ts']}L,guid'{row.get('ID') or row.get('EntityKey')}'"
    return key_literal(spec, row[spec.key])


def _link(base: str, params: list[tuple[str, str]], replace: dict[str, str]) -> str:
    kept = [(k, v) for k, v in params if k.lower() not in {k2.lower() for k2 in replace} | {"$skiptoken"}]
    kept += list(replace.items())
    return base + "?" + "&".join(f"{k}={quote(v, safe=chr(39) + ',()$*:')}" for k, v in kept)


def page_rows(rows: list[dict[str, Any]], spec: EntitySpec, q: Query, page_size: int,
              base: str) -> tuple[list[dict[str, Any]], str | None, int]:
    """Filter, order and cut one page. Returns ``(rows, next_url_or_None, count_before_paging)``."""
    if q.filter is not None:
        rows = [r for r in rows if evaluate(q.filter, r)]
    count = len(rows)
    rows = _ordered(rows, spec, q)
    if q.skiptoken:
        rows = _after_token(rows, spec, q.skiptoken)
    rows = rows[q.skip:]
    limit = page_size if q.top is None else min(page_size, q.top)
    chunk = rows[:limit]
    more = len(rows) > limit and (q.top is None or q.top > limit)
    if not more or not chunk:
        return chunk, None, count
    replace = {}
    if q.top is not None:
        replace["$top"] = str(q.top - len(chunk))
    if q.orderby:
        replace["$skip"] = str(q.skip + len(chunk))
        return chunk, _link(base, q.params, replace), count
    replace["$skiptoken"] = _token_for(spec, chunk[-1])
    return chunk, _link(base, [(k, v) for k, v in q.params if k.lower() != "$skip"], replace), count
