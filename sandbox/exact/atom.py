"""What a GET without ``Accept: application/json`` gets: Atom XML, Exact's default format.

Shape as the Singer taps parse it: ``feed/entry/content/m:properties/d:<Field>`` with ``m:type``
and ``m:null="true"``, paging via ``feed/link[@rel="next"]/@href`` (REF §4.2). A client that
forgets the Accept header then fails to parse JSON, which is the point.
"""
from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

from starlette.responses import Response

from sandbox.exact.entities import EDM, EntitySpec
from sandbox.exact.render import entity_uri

__all__ = ["atom_response"]

_NS = ('xmlns="http://www.w3.org/2005/Atom" '
       'xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" '
       'xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"')


def _value(value: Any, typ: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if typ == "d":
        return value.strftime("%Y-%m-%dT%H:%M:%S") if hasattr(value, "strftime") else str(value)
    return escape(str(value))


def _entry(spec: EntitySpec, row: dict[str, Any], api_base: str, select: list[str] | None) -> str:
    names = list(spec.fields) if not select or "*" in select else select
    props = []
    for name in names:
        typ = spec.fields[name]
        if typ == "n":
            continue
        value = row.get(name)
        edm = f' m:type="{EDM[typ]}"' if typ != "s" else ""
        if value is None or typ == "x":
            props.append(f'<d:{name}{edm} m:null="true" />')
        else:
            props.append(f"<d:{name}{edm}>{_value(value, typ)}</d:{name}>")
    uri = entity_uri(api_base, spec, row)
    return (f"<entry><id>{escape(uri)}</id><category term={quoteattr(spec.type_name)} "
            'scheme="http://schemas.microsoft.com/ado/2007/08/dataservices/scheme" />'
            f'<content type="application/xml"><m:properties>{"".join(props)}</m:properties></content></entry>')


def atom_response(spec: EntitySpec, rows: list[dict[str, Any]], api_base: str, select: list[str] | None,
                  next_url: str | None, single: bool = False, headers: dict[str, str] | None = None) -> Response:
    if single:
        body = _entry(spec, rows[0], api_base, select).replace("<entry>", f"<entry {_NS}>", 1)
        media = "application/atom+xml;type=entry;charset=utf-8"
    else:
        link = f'<link rel="next" href={quoteattr(next_url)} />' if next_url else ""
        entries = "".join(_entry(spec, row, api_base, select) for row in rows)
        body = f"<feed {_NS}><title type=\"text\">{spec.path.rsplit('/', 1)[-1]}</title>{entries}{link}</feed>"
        media = "application/atom+xml;type=feed;charset=utf-8"
    return Response('<?xml version="1.0" encoding="utf-8"?>' + body, media_type=media, headers=headers)
