"""``create_app``: the Odoo simulator as one FastAPI app (XML-RPC, JSON-RPC, JSON-2, faults and
the ``/_sandbox`` control API)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.common import FaultInjectionMiddleware, control_router
from sandbox.odoo.errors import OdooError
from sandbox.odoo.protocols import apidoc, json2, jsonrpc, xmlrpc
from sandbox.odoo.protocols.http import html_error, not_found
from sandbox.odoo.state import OdooState

__all__ = ["create_app"]

_WERKZEUG = {500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout",
             429: "TooManyRequests"}


def _fault_body(status: int, message: str) -> dict[str, Any]:
    # An injected 5xx as werkzeug/Odoo would serialise an HTTPException (what JSON-2 clients parse).
    return {"name": f"werkzeug.exceptions.{_WERKZEUG.get(status, 'HTTPException')}", "message": message,
            "arguments": [message, status], "context": {}, "debug": ""}


def create_app(state: OdooState | None = None) -> FastAPI:
    """Build the simulator app.

    Args:
        state: The server (a fresh ``OdooState()``, version 17, when omitted); exposed as
            ``app.state.odoo``.

    Returns:
        A FastAPI app serving ``/xmlrpc/2/*``, ``/jsonrpc``, ``/web/*``, ``/json/2/*`` and
            ``/doc-bearer/*`` (19) and ``/_sandbox``.
    """
    state = state or OdooState()
    app = FastAPI(title="Odoo simulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.odoo = state

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/_sandbox"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        if exc.status_code == 404:
            return not_found(state, request)
        if exc.status_code == 405:
            return html_error(405, "Method Not Allowed", "The method is not allowed for the requested URL.")
        return html_error(exc.status_code, "Error", str(exc.detail))

    for module in (xmlrpc, jsonrpc, json2, apidoc):
        app.include_router(module.router(state))
    app.include_router(control_router(state))
    app.include_router(_odoo_controls(state))
    app.add_middleware(FaultInjectionMiddleware, config=state.faults, problem_body=_fault_body)
    return app


def _odoo_controls(state: OdooState) -> APIRouter:
    """Simulator-only helpers for out-of-process tests (exempt from faults and auth)."""
    router = APIRouter(prefix="/_sandbox/odoo", include_in_schema=False)

    @router.post("/clock")
    def advance_clock(body: dict[str, Any]) -> dict[str, str]:
        state.clock.advance(float(body.get("advance_s", 0)))
        return {"now": state.now().strftime("%Y-%m-%d %H:%M:%S")}

    @router.get("/version")
    def get_version() -> dict[str, Any]:
        return {"version": state.version, "db": state.db}

    @router.put("/version")
    def put_version(body: dict[str, Any]) -> dict[str, Any]:
        try:
            state.set_version(body.get("version"))
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc
        return {"version": state.version, "db": state.db}

    @router.post("/payments")
    def register_payment(body: dict[str, Any]) -> dict[str, Any]:
        """``{"move_id": 7, "amount"?: 100.0, "date"?: "2026-01-31", "journal_id"?: 3}`` through the wizard."""
        if not isinstance(body.get("move_id"), int):
            raise HTTPException(400, "body needs an integer 'move_id'")
        try:
            payment = state.register_payment(body["move_id"], body.get("amount"), date=body.get("date"),
                                             journal_id=body.get("journal_id"))
        except (OdooError, ValueError, TypeError) as exc:
            raise HTTPException(400, str(exc)) from exc
        move = state.read("account.move", body["move_id"], ["payment_state", "amount_residual"])
        return {"payment_id": payment, **move}

    @router.post("/payments/{payment_id}/match")
    def match(payment_id: int) -> dict[str, Any]:
        """The bank statement matched the payment (invoices ``in_payment`` → ``paid``)."""
        try:
            state.match_payment(payment_id)
        except KeyError as exc:
            raise HTTPException(404, f"no payment {payment_id}") from exc
        return {"payment_id": payment_id, "matched": True}

    @router.post("/api-keys")
    def api_key(body: dict[str, Any]) -> dict[str, Any]:
        """``{"login"?: "admin", "name"?: "...", "expires_in_s"?: 3600}`` → a new key (shown once)."""
        uid = state.service.find_login(body.get("login", "admin"))
        if uid is None:
            raise HTTPException(404, f"no active user {body.get('login')!r}")
        return {"uid": uid, "key": state.add_api_key(uid, body.get("name", "tribe-sync"),
                                                     expires_in_s=body.get("expires_in_s"))}

    @router.post("/users")
    def add_user(body: dict[str, Any]) -> dict[str, Any]:
        """``{"login", "password"?, "company_ids"?, "readonly"?, "totp"?}`` → the new uid."""
        if not isinstance(body.get("login"), str):
            raise HTTPException(400, "body needs a 'login'")
        try:
            uid = state.add_user(body["login"], body.get("password"), company_ids=body.get("company_ids"),
                                 readonly=bool(body.get("readonly")), totp=bool(body.get("totp")))
        except (OdooError, ValueError) as exc:
            raise HTTPException(400, str(exc)) from exc
        return {"uid": uid}

    return router
