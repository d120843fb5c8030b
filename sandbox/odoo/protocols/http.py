"""Responses the protocols share: JSON encoding, the JSON-RPC envelope, and Odoo's 404.

An unknown path answers werkzeug's HTML 404 page with HTTP 404, whatever the request's
Content-Type, on 17, 18 and 19: Odoo's ``Request`` starts with the ``http`` dispatcher "until we
match", and when no route matches, ``_serve_ir_http_fallback`` raises NotFound that
``ir.http._handle_error`` hands to that dispatcher, which returns the werkzeug exception itself
(odoo/http.py in the 16/17-era ``type='json'`` copy and the 18/19-era ``type='jsonrpc'`` ones).
So ``/json/2/...`` on 17 and 18 is a plain 404. The JSON-RPC envelope with ``code`` 404 is only
for a NotFound raised inside a JSON route that did match.
"""
from __future__ import annotations

import json
import logging
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from sandbox.odoo.errors import HttpError, OdooError, SessionExpired, serialize_exception

if TYPE_CHECKING:
    from sandbox.odoo.state import OdooState

__all__ = ["JSON_TYPES", "json_response", "jsonrpc_error", "jsonrpc_result", "not_found", "wants_json"]

log = logging.getLogger("sandbox.odoo")
JSON_TYPES = ("application/json", "application/json-rpc")
NOT_FOUND_TEXT = ("The requested URL was not found on the server. If you entered the URL manually please check "
                  "your spelling and try again.")


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    raw = json.dumps(body, default=_default, ensure_ascii=False).encode()
    return Response(raw, status_code=status, media_type="application/json", headers=headers)


def mimetype(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def wants_json(request: Request) -> bool:
    return mimetype(request) in JSON_TYPES


def jsonrpc_result(request_id: Any, result: Any) -> Response:
    return json_response({"jsonrpc": "2.0", "id": request_id, "result": result})


def jsonrpc_error(state: OdooState, request_id: Any, exc: BaseException) -> Response:
    """``JsonRPCDispatcher.handle_error``: always HTTP 200, the error object carries the rest."""
    if not isinstance(exc, OdooError | HttpError | ValueError | TypeError | KeyError | NameError | AttributeError
                      | IndexError | AssertionError):
        log.exception("odoo simulator bug while serving JSON-RPC", exc_info=exc)
    error: dict[str, Any] = {"code": state.profile.jsonrpc_error_code, "message": "Odoo Server Error",
                             "data": serialize_exception(exc)}
    if isinstance(exc, HttpError) and exc.code == 404:
        error.update(code=404, message="404: Not Found")
    elif isinstance(exc, SessionExpired):
        error.update(code=100, message="Odoo Session Expired")
    return json_response({"jsonrpc": "2.0", "id": request_id, "error": error})


def not_found(state: OdooState, request: Request) -> Response:
    """No route for this path (on this version): HTML 404 for JSON and non-JSON requests alike."""
    return html_error(404, "Not Found", NOT_FOUND_TEXT)


def html_error(status: int, title: str, text: str) -> Response:
    page = (f'<!doctype html>\n<html lang=en>\n<title>{status} {title}</title>\n<h1>{title}</h1>\n'
            f"<p>{text}</p>\n")
    return HTMLResponse(page, status_code=status)
