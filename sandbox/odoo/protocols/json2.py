"""JSON-2 (Odoo 19): ``POST /json/2/<model>/<method>`` with ``Authorization: bearer <API key>``,
optional ``X-Odoo-Database``, and a JSON object of named arguments (``ids``, ``context`` and the
method's own parameters). Success is the bare JSON result; errors use HTTP statuses with
``{name, message, arguments, context, debug}``. On 17 and 18 the routes do not exist.
"""
from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from sandbox.odoo.errors import HttpError, OdooError, serialize_exception
from sandbox.odoo.protocols.http import json_response, mimetype, not_found

if TYPE_CHECKING:
    from sandbox.odoo.state import OdooState

__all__ = ["authenticate", "error_response", "router"]

log = logging.getLogger("sandbox.odoo")
_BEARER = re.compile(r"^bearer\s+(.+)$", re.IGNORECASE)
_BAD_INPUT = (ValueError, TypeError, KeyError, IndexError)


def error_response(state: OdooState, exc: BaseException) -> Response:
    """``Json2Dispatcher.handle_error``: UserError → its ``http_status``, HTTP errors → their code,
    anything else → 500 with the same body (odoo/http.py ``Json2Dispatcher``, 19-era). A bad
    domain or an unknown field is a ValueError, not a UserError: Odoo answers it 500."""
    headers = None
    if isinstance(exc, HttpError):
        status = exc.code
        if status == 401:
            headers = {"WWW-Authenticate": 'Bearer realm="Odoo"'}  # [INFER] header value
    elif isinstance(exc, OdooError) and (exc.user_error or (exc.odoo_name.endswith("AccessDenied")
                                                             and state.profile.access_denied_is_user_error)):
        status = exc.http_status
    elif isinstance(exc, OdooError):
        status = 500  # e.g. the serialization failure: not a UserError
    elif isinstance(exc, _BAD_INPUT):
        status = 500  # bad input, so no simulator bug: nothing to log
    else:
        log.exception("odoo simulator bug while serving JSON-2", exc_info=exc)
        status = 500
    return json_response(serialize_exception(exc), status=status, headers=headers)


def router(state: OdooState) -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    @routes.post("/json/2/{model}/{method}")
    async def call(model: str, method: str, request: Request) -> Response:
        if not state.profile.json2:
            return not_found(state, request)
        try:
            uid = authenticate(state, request)
            params = await _params(request)
            ids = params.pop("ids", ())
            context = params.pop("context", {})
            result = state.service.execute_named(uid, model, method, ids, params, context)
        except Exception as exc:
            return error_response(state, exc)
        return json_response(result)

    async def elsewhere(request: Request) -> Response:
        if not state.profile.json2:
            return not_found(state, request)
        return error_response(state, HttpError(404, "Did you mean POST /json/2/<model>/<method>?"))

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    routes.add_api_route("/json/2", elsewhere, methods=methods)
    routes.add_api_route("/json/2/{subpath:path}", elsewhere, methods=methods)
    return routes


def authenticate(state: OdooState, request: Request) -> int:
    """``auth='bearer'``: the uid of the API key in ``Authorization``, else 401."""
    database = request.headers.get("x-odoo-database")
    if database is not None and database != state.db:
        raise HttpError(404, f"database {database!r} not found")  # [INFER] no registry for that name
    match = _BEARER.match(request.headers.get("authorization", ""))
    uid = state.credentials.key_user(match.group(1).strip(), state.now()) if match else None
    if uid is None or not (state.store.get("res.users", uid) or {}).get("active"):
        state.count("access_denied")
        raise HttpError(401, "Invalid apikey")
    return uid


async def _params(request: Request) -> dict[str, Any]:
    body = await request.body()
    if not body:
        return {}
    if mimetype(request) != "application/json":
        raise HttpError(400, f"Request inferred type is compatible with ['http'] but {request.url.path} is "
                             f"type=json2.")  # [INFER] text
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise HttpError(400, f"could not parse the body as json: {exc.args[0]}") from exc
    return dict(data) if isinstance(data, dict) else {}  # a non-object body is ignored, as Odoo does
