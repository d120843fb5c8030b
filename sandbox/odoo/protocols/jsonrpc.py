"""JSON-RPC: ``/jsonrpc`` (services common / object / db) and the web client's JSON routes that
OdooRPC and similar clients use: ``/web/webclient/version_info`` (version probe),
``/web/session/authenticate`` (cookie ``session_id``), ``/web/session/get_session_info``,
``/web/session/destroy``, ``/web/dataset/call_kw[/<model>/<method>]``, ``/web/database/list``;
on 19 also ``GET /web/version`` and ``/json/version``.

Errors are HTTP 200 with an ``error`` object; a body that is not JSON is a plain 400.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from sandbox.odoo.errors import AccessDenied, SessionExpired
from sandbox.odoo.protocols.http import json_response, jsonrpc_error, jsonrpc_result, not_found, wants_json

if TYPE_CHECKING:
    from sandbox.odoo.state import OdooState

__all__ = ["router"]

SESSION_COOKIE = "session_id"


async def _envelope(request: Request, route: str) -> tuple[Any, Any] | Response:
    """(request id, params) of a JSON-RPC request, or the 400 Odoo answers before dispatching."""
    if not wants_json(request):
        return PlainTextResponse(f"Request inferred type is compatible with ['http'] but {route} is type=json.",
                                 status_code=400)  # [INFER] BadRequest text of a type mismatch
    try:
        data = json.loads(await request.body() or b"null")
    except ValueError:
        return PlainTextResponse("Invalid JSON data", status_code=400)
    if not isinstance(data, dict):
        return PlainTextResponse("Invalid JSON-RPC data", status_code=400)
    return data.get("id"), data.get("params", {})


def session_info(state: OdooState, uid: int, base_url: str) -> dict[str, Any]:
    """What ``/web/session/authenticate`` and ``get_session_info`` return (the fields clients read)."""
    store = state.store
    user = store.get("res.users", uid) or {}
    partner = store.get("res.partner", user.get("partner_id")) or {}
    company_ids = list(user.get("company_ids") or [])
    context = state.service.execute(uid, "res.users", "context_get", [], {}, protocol="web")
    return {
        "uid": uid, "is_system": uid == 2, "is_admin": uid == 2, "user_context": context, "db": state.db,
        "server_version": state.profile.server_version, "server_version_info": state.profile.version_info,
        "name": partner.get("name"), "username": user.get("login"), "partner_display_name": partner.get("name"),
        "partner_id": user.get("partner_id"), "company_id": user.get("company_id"), "web.base.url": base_url,
        "user_companies": {"current_company": user.get("company_id"), "allowed_companies": {
            str(cid): {"id": cid, "name": (store.get("res.company", cid) or {}).get("name")} for cid in company_ids}},
        "currencies": {str(c["id"]): {"symbol": c.get("symbol"), "position": c.get("position"), "digits": [69, 2]}
                       for c in store.rows("res.currency") if c.get("active")},
    }


def router(state: OdooState) -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    async def handle(request: Request, route: str, serve: Any) -> Response:
        parsed = await _envelope(request, route)
        if isinstance(parsed, Response):
            return parsed
        request_id, params = parsed
        try:
            if not isinstance(params, dict):
                raise TypeError(f"params must be an object (JSON-RPC by-name), not {type(params).__name__}")
            return serve(request, request_id, params)
        except Exception as exc:  # Odoo turns every error into the error object
            return jsonrpc_error(state, request_id, exc)

    def session_uid(request: Request) -> tuple[str, dict[str, Any]]:
        sid = request.cookies.get(SESSION_COOKIE)
        session = state.credentials.session(sid)
        if not session:
            raise SessionExpired()
        return sid or "", session

    @routes.api_route("/jsonrpc", methods=["GET", "POST"])
    async def jsonrpc(request: Request) -> Response:
        def serve(request: Request, rid: Any, params: dict[str, Any]) -> Response:
            service, method, args = params.get("service"), params.get("method"), params.get("args", [])
            if not isinstance(args, list):
                raise TypeError(f"args must be a list, not {type(args).__name__}")
            return jsonrpc_result(rid, state.service.dispatch(service, method, args, protocol="jsonrpc"))
        return await handle(request, "/jsonrpc", serve)

    @routes.api_route("/web/webclient/version_info", methods=["GET", "POST"])
    async def version_info(request: Request) -> Response:
        return await handle(request, "/web/webclient/version_info",
                            lambda request, rid, params: jsonrpc_result(rid, state.service.version()))

    @routes.api_route("/web/database/list", methods=["GET", "POST"])
    async def database_list(request: Request) -> Response:
        return await handle(request, "/web/database/list", lambda request, rid, params: jsonrpc_result(rid, [state.db]))

    @routes.api_route("/web/session/authenticate", methods=["GET", "POST"])
    async def authenticate(request: Request) -> Response:
        def serve(request: Request, rid: Any, params: dict[str, Any]) -> Response:
            # A web session takes the password, never an API key (keys are RPC-only).
            uid = state.service.authenticate(params.get("db"), params.get("login"), params.get("password"),
                                             allow_key=False)
            if not uid:
                raise AccessDenied()
            sid = state.credentials.open_session({"uid": uid, "login": params.get("login"), "db": state.db})
            response = jsonrpc_result(rid, session_info(state, uid, str(request.base_url).rstrip("/")))
            response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="lax", path="/", max_age=7 * 86400)
            return response
        return await handle(request, "/web/session/authenticate", serve)

    @routes.api_route("/web/session/get_session_info", methods=["GET", "POST"])
    async def get_session_info(request: Request) -> Response:
        def serve(request: Request, rid: Any, params: dict[str, Any]) -> Response:
            _, session = session_uid(request)
            return jsonrpc_result(rid, session_info(state, session["uid"], str(request.base_url).rstrip("/")))
        return await handle(request, "/web/session/get_session_info", serve)

    @routes.api_route("/web/session/destroy", methods=["GET", "POST"])
    async def destroy(request: Request) -> Response:
        def serve(request: Request, rid: Any, params: dict[str, Any]) -> Response:
            state.credentials.close_session(request.cookies.get(SESSION_COOKIE))
            return jsonrpc_result(rid, None)
        return await handle(request, "/web/session/destroy", serve)

    async def call_kw(request: Request) -> Response:
        def serve(request: Request, rid: Any, params: dict[str, Any]) -> Response:
            _, session = session_uid(request)
            result = state.service.execute(session["uid"], params.get("model"), params.get("method"),
                                           params.get("args", []), params.get("kwargs", {}), protocol="web")
            return jsonrpc_result(rid, result)
        return await handle(request, "/web/dataset/call_kw", serve)

    routes.add_api_route("/web/dataset/call_kw", call_kw, methods=["GET", "POST"])
    routes.add_api_route("/web/dataset/call_kw/{path:path}", call_kw, methods=["GET", "POST"])

    async def web_version(request: Request) -> Response:
        if not state.profile.json2:  # the JSON-2 era's replacement of common.version()
            return not_found(state, request)
        return json_response({"version_info": state.profile.version_info, "version": state.profile.server_version})

    routes.add_api_route("/web/version", web_version, methods=["GET"])
    routes.add_api_route("/json/version", web_version, methods=["GET"])
    return routes
