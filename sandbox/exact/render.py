"""Rows as OData v2 verbose JSON: ``__metadata``, ``/Date(ms)/``, deferred navigation links.

Envelopes: a collection is ``{"d":{"results":[…],"__next":"…"}}`` with nothing else in ``d``
(``__count`` only when ``$inlinecount=allpages`` asked for it; ossobv asserts this); one entity
is ``{"d":{…}}``.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from sandbox.exact.entities import EntitySpec
from sandbox.exact.odata_query import key_literal
from sandbox.exact.values import to_json

__all__ = ["collection", "entity_uri", "json_response", "render_row"]

Children = Callable[[str, dict[str, Any]], list[dict[str, Any]]]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")), status_code=status,
                    media_type="application/json; charset=utf-8", headers=headers)


def entity_uri(api_base: str, spec: EntitySpec, row: dict[str, Any]) -> str:
    return f"{api_base}/{spec.path}({key_literal(spec, row[spec.key])})"


def render_row(spec: EntitySpec, row: dict[str, Any], api_base: str, select: list[str] | None = None,
               expand: set[str] | None = None, children: Children | None = None,
               null_derived: bool = False) -> dict[str, Any]:
    """One row as JSON. ``children(nav, row)`` gives the rows of an expanded navigation."""
    uri = entity_uri(api_base, spec, row)
    out: dict[str, Any] = {"__metadata": {"uri": uri, "type": spec.type_name}}
    names = list(spec.fields) if not select or "*" in select else select
    for name in names:
        typ = spec.fields[name]
        if typ == "n":
            if expand and name in expand and children is not None:
                target = children(name, row)
                out[name] = {"results": target}
            else:
                out[name] = {"__deferred": {"uri": f"{uri}/{name}"}}
        elif null_derived and name in spec.readonly and name != spec.key:
            out[name] = None
        else:
            out[name] = to_json(row.get(name), typ)
    return out


def collection(results: list[dict[str, Any]], next_url: str | None, count: int | None) -> dict[str, Any]:
    d: dict[str, Any] = {"results": results}
    if count is not None:
        d["__count"] = str(count)  # a string on the wire (LF http.go)
    if next_url:
        d["__next"] = next_url
    return {"d": d}
