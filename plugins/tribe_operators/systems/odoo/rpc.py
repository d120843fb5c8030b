"""How a call goes over the wire to Odoo, per protocol, and how Odoo's errors become ours.

* **JSON-2** (Odoo 19+): ``POST /json/2/<model>/<method>`` with the arguments by name, the API
  key as ``Authorization: bearer``; errors are HTTP statuses with an Odoo error body.
* **JSON-RPC** (below 19, and still on 19): ``POST /jsonrpc``, ``object.execute_kw`` with the
  database, uid and key in the body; every answer is HTTP 200 and an error arrives *inside*
  it (``error.data.name`` is Odoo's exception class).

Both are POSTs, so whether a call may be repeated is the method's: a read may, a create may
not — except after a serialization failure, which Odoo reports once its transaction was
rolled back, so nothing happened and the call is safe to send again.
"""
from __future__ import annotations

from typing import Any

import requests

from tribe_operators.exceptions import ApiClientError, AuthError, NotFoundError, ServerError

__all__ = ["READS", "error_from", "json2_arguments", "json2_error", "jsonrpc_body", "jsonrpc_error"]

# Methods that change nothing: retried like a GET after a 5xx or a dropped connection.
READS = frozenset({"search", "search_read", "search_count", "read", "fields_get", "name_search",
                   "check_access_rights", "default_get", "context_get"})
# The positional parameters of the ORM methods, by name (JSON-2 takes named arguments only).
# JSON-2 exists from 19 on, so these are 19's names (``name_search(name, domain)``,
# ``default_get(fields)``; 17/18 said ``args`` and ``fields_list``, over JSON-RPC only).
_POSITIONAL = {"search": ("domain",), "search_read": ("domain", "fields"), "search_count": ("domain",),
               "read": ("ids", "fields"), "fields_get": ("allfields", "attributes"),
               "create": ("vals_list",), "write": ("ids", "vals"), "unlink": ("ids",),
               "name_search": ("name", "domain"), "name_create": ("name",), "default_get": ("fields",),
               "check_access_rights": ("operation", "raise_exception")}
# Python's own errors a bad argument raises on the server (JSON-2 answers them 500): not retried.
_BAD_INPUT = frozenset({"ValueError", "TypeError", "KeyError"})


def jsonrpc_body(call_id: int, service: str, method: str, args: list[Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": "call", "params": {"service": service, "method": method, "args": args},
            "id": call_id}


def json2_arguments(method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """``execute_kw``-style positional arguments → JSON-2's named ones. Methods on records
    (``write``, ``read``, ``unlink``, ``action_post``) take ``ids``."""
    names = _POSITIONAL.get(method, ("ids",))
    if len(args) > len(names):
        raise ValueError(f"{method} takes at most {len(names)} positional argument(s) over JSON-2 ({names})")
    return {**dict(zip(names, args, strict=False)), **kwargs}


def error_from(name: str, message: str, status: int, body: object = None) -> Exception:
    """Odoo's exception class (``odoo.exceptions.ValidationError``…) and, over JSON-2, its HTTP
    status → our typed error. ``odoo.exceptions.*`` are the business errors (UserError and its
    family): a client error, never retried. JSON-2's status says more (404: the record or model
    is gone). Reads never fail for deleted records: Odoo leaves them out of the answer."""
    short = name.rsplit(".", 1)[-1]
    text = f"Odoo {short}: {message}"
    if short == "SerializationFailure":  # rolled back: nothing happened, send it again
        error = ServerError(text)
        error.not_sent = True  # type: ignore[attr-defined]
        return error
    if short in {"AccessDenied", "SessionExpiredException"}:
        return AuthError(text)
    if short == "AccessError":
        return ApiClientError(403, text, body)
    if 400 <= status < 500:
        return (NotFoundError if status == 404 else ApiClientError)(status, text, body)
    if name.startswith("odoo.exceptions.") or short in _BAD_INPUT:
        return ApiClientError(422, text, body)
    if status >= 500:
        return ServerError(text)
    return ApiClientError(status or 400, text, body)


def jsonrpc_error(response: requests.Response) -> Exception | None:
    """The error a JSON-RPC answer carries inside its 200, typed; None for a result (and for
    another status, which the transport reads by its code)."""
    if response.status_code != 200:
        return None
    try:
        body = response.json()
    except ValueError:
        return ServerError(f"Odoo answered JSON-RPC with no JSON: {response.text[:200]}")
    error = body.get("error") if isinstance(body, dict) else None
    if not error:
        return None
    data = error.get("data") or {}
    # The class name decides; a serialization failure is recognised by it, whatever the status.
    return error_from(str(data.get("name") or ""), str(data.get("message") or error.get("message")), 200, error)


def json2_error(response: requests.Response) -> Exception | None:
    """A JSON-2 error status with Odoo's error body, typed by its exception class; None when
    the answer is a result or carries no Odoo error (a proxy's 502: read by its code)."""
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or "name" not in body:
        return None
    return error_from(str(body["name"]), str(body.get("message", "")), response.status_code, body)
