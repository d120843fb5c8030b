"""``create_app()``: the Exact Online simulator as a FastAPI app (OAuth, REST, control, faults)."""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from sandbox.common import FaultInjectionMiddleware, control_router
from sandbox.exact import control, oauth, resources
from sandbox.exact.errors import ExactError, envelope, error_response
from sandbox.exact.state import ExactState

__all__ = ["create_app"]


def _fault_body(status: int, message: str) -> dict[str, Any]:
    # Exact's 500 text (NET ThrowSpecificException; GC) in its REST envelope
    return envelope("A problem has occurred. The cause of this issue will be investigated as soon as possible."
                    if status >= 500 else message)


def create_app(state: ExactState | None = None) -> FastAPI:
    """Build the app around ``state`` (a fresh, unseeded one when omitted; ``app.state.exact``)."""
    state = state or ExactState()
    app = FastAPI(title="Exact Online simulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.exact = state

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/_sandbox"):
            return Response(f'{{"detail": "{exc.detail}"}}', status_code=exc.status_code, media_type="application/json")
        return error_response(ExactError(exc.status_code, f"Resource not found for the segment '{request.url.path}'."
                                         if exc.status_code == 404 else str(exc.detail)))

    app.include_router(oauth.router(state))
    app.include_router(resources.router(state))
    app.include_router(control.download_router(state))
    app.include_router(control.router(state))
    app.include_router(control_router(state))
    app.add_middleware(FaultInjectionMiddleware, config=state.faults, problem_body=_fault_body)
    return app
