"""ResourceParameters: ``PageNumber``/``PageSize``/``Fields``/``OrderBy`` and the list response.

Lists are bare JSON arrays. A page with no rows (an empty result or a page past the end) is
``204 No Content`` with an empty body, as every list operation in the spec documents. Page
metadata goes in an ``X-Pagination`` JSON header (reported by one client library; the spec
declares no headers) with ``nextPageLink: null`` on the last page.
"""
from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from sandbox.poweroffice.filters import Query
from sandbox.poweroffice.problems import ApiError

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "json_response", "list_response"]

DEFAULT_PAGE_SIZE = 5000
MAX_PAGE_SIZE = 20000
_INVALID = "Invalid resourceParameter"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Serialise a DTO (or list) as ``application/json``."""
    return Response(json.dumps(body, ensure_ascii=False), status_code=status,
                    media_type="application/json; charset=utf-8", headers=headers)


def _positive(query: Query, name: str, default: int) -> int:
    raw = query.raw(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ApiError(400, _INVALID, f"{name} property in resourceParameter is not formatted correct.")
    return value


def _resolve(names: str, fields: tuple[str, ...], what: str) -> list[tuple[str, bool]]:
    lookup = {f.lower(): f for f in fields}
    out: list[tuple[str, bool]] = []
    for part in names.split(","):
        words = part.split()
        if not words:
            continue
        desc = False
        if what == "OrderBy" and len(words) == 2 and words[1].lower() in {"asc", "desc"}:
            desc = words[1].lower() == "desc"
            words = words[:1]
        if len(words) != 1 or words[0].lower() not in lookup:
            raise ApiError(400, _INVALID, f"{what} property in resourceParameter is not formatted correct. "
                                          f"'{part.strip()}' is not a valid field.")
        out.append((lookup[words[0].lower()], desc))
    return out


def _sort_key(field: str) -> Any:
    def key(row: dict[str, Any]) -> Any:
        value = row.get(field)
        if isinstance(value, str):
            value = value.lower()  # SQL Server's default collation is case-insensitive
        elif isinstance(value, (dict, list)):
            value = json.dumps(value)
        return (value is not None, value)  # NULLs first, as in SQL Server
    return key


def _link(request: Request, page: int, size: int) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items()
              if k.lower() not in {"pagenumber", "pagesize"}]
    params += [("PageNumber", str(page)), ("PageSize", str(size))]
    path = request.scope.get("po.original_path", request.url.path)
    return str(request.url.replace(path=path, query=urlencode(params)))


def list_response(request: Request, query: Query, rows: list[dict[str, Any]],
                  fields: tuple[str, ...]) -> Response:
    """Order, page and trim rendered rows into the v2 list response.

    Args:
        request: The incoming request (for page links).
        query: Its parsed query string.
        rows: Rendered DTO dicts, already filtered, in default order.
        fields: The DTO's property list (validates ``Fields`` and ``OrderBy``).

    Raises:
        ApiError: 400 "Invalid resourceParameter" for malformed paging, field or order values.
    """
    page = _positive(query, "PageNumber", 1)
    size = _positive(query, "PageSize", DEFAULT_PAGE_SIZE)
    if size > MAX_PAGE_SIZE:
        raise ApiError(400, _INVALID, f"PageSize ({size}) in resourceParameter must not exceed "
                                      f"MaxPageSize ({MAX_PAGE_SIZE}).")
    order = query.raw("OrderBy")
    if order:
        for field, desc in reversed(_resolve(order, fields, "OrderBy")):
            rows = sorted(rows, key=_sort_key(field), reverse=desc)
    wanted = query.raw("Fields")
    if wanted:
        keep = [f for f, _ in _resolve(wanted, fields, "Fields")]
        rows = [{k: r[k] for k in keep if k in r} for r in rows]
    total = len(rows)
    pages = math.ceil(total / size) if total else 0
    chunk = rows[(page - 1) * size: page * size]
    meta = {
        "currentPage": page,
        "pageSize": size,
        "totalCount": total,
        "totalPages": pages,
        "previousPageLink": _link(request, page - 1, size) if 1 < page <= pages + 1 else None,
        "nextPageLink": _link(request, page + 1, size) if page < pages else None,
    }
    headers = {"X-Pagination": json.dumps(meta)}
    if not chunk:
        return Response(status_code=204, headers=headers)
    return json_response(chunk, headers=headers)
