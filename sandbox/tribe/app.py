"""``create_app``: the Tribe simulator as a FastAPI app (routes, error shapes, faults, control API)."""
from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox.common import FaultInjectionMiddleware, control_router
from sandbox.tribe.errors import OAuthError, ODataError, odata_error_body
from sandbox.tribe.routes import api_router
from sandbox.tribe.state import TribeState

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def create_app(state: TribeState | None = None, *, plus_is_space: bool = True) -> FastAPI:
    """Build the simulator app for one tenant.

    Args:
        state: The tenant; a fresh ``TribeState()`` (reference data only) when omitted.
        plus_is_space: Decode ``+`` in query strings as a space. Set False to mimic Tribe, which
            appears to take ``+`` literally (clients must encode spaces as ``%20``).

    Returns:
        The FastAPI app; the state is at ``app.state.tribe``.
    """
    state = state or TribeState()
    app = FastAPI(title="Tribe CRM simulator", docs_url="/_sandbox/docs", openapi_url="/_sandbox/openapi.json",
                  redoc_url=None)
    app.state.tribe = state

    @app.exception_handler(ODataError)
    async def odata_error(request: Request, exc: ODataError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(OAuthError)
    async def oauth_error(request: Request, exc: OAuthError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if request.url.path.startswith("/_sandbox"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        return JSONResponse(odata_error_body(exc.status_code, str(exc.detail)), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("tribe simulator bug on %s %s", request.method, request.url.path)
        return JSONResponse(odata_error_body(500, f"Internal error: {type(exc).__name__}: {exc}",
                                             "InternalServerError"), status_code=500)

    app.include_router(api_router(state, plus_is_space))
    app.include_router(control_router(state))
    app.include_router(_tribe_controls(state))
    app.add_middleware(FaultInjectionMiddleware, config=state.faults,
                       problem_body=lambda status, message: odata_error_body(status, message))
    return app


def _tribe_controls(state: TribeState) -> APIRouter:
    """Simulator-only helpers for out-of-process tests (exempt from faults and auth)."""
    router = APIRouter(prefix="/_sandbox/tribe", include_in_schema=False)

    @router.get("/webhook-deliveries")
    def deliveries() -> list[dict[str, Any]]:
        return state.webhooks.deliveries()

    @router.post("/clock")
    def advance_clock(body: dict[str, Any]) -> dict[str, str]:
        state.clock.advance(float(body.get("advance_s", 0)))
        return {"now": state.clock.now().isoformat()}

    return router
