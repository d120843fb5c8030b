"""``create_app()``: the FastAPI app with routes, gate, recorder, faults and control API."""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from sandbox.common import FaultInjectionMiddleware, control_router
from sandbox.poweroffice import auth, routes_contacts, routes_ledger, routes_products, routes_sales
from sandbox.poweroffice.gate import ApiGate, PathNormalizer, TrafficRecorder
from sandbox.poweroffice.problems import ApiError, apim_body, problem, problem_response
from sandbox.poweroffice.state import PowerOfficeState
from sandbox.poweroffice.timefmt import parse_date

__all__ = ["create_app"]


def _fault_body(status: int, message: str) -> dict[str, Any]:
    # Throttling comes from APIM (its own shape); server faults from the backend (ProblemDetails).
    return apim_body(status, message) if status == 429 else problem(status, "Server error", message)


def create_app(state: PowerOfficeState | None = None) -> FastAPI:
    """Build the simulator app.

    Args:
        state: Shared state (a fresh, unseeded one when omitted); exposed as
            ``app.state.poweroffice``.

    Returns:
        A FastAPI app serving ``/OAuth/Token``, ``/v2/...`` (also under ``/Demo``) and ``/_sandbox``.
    """
    state = state or PowerOfficeState()
    app = FastAPI(title="PowerOffice Go v2 simulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.poweroffice = state

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return problem_response(exc.status, exc.title, exc.detail)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/_sandbox"):
            return problem_response(exc.status_code, "Control API error", str(exc.detail))
        titles = {404: "Not Found", 405: "Method Not Allowed"}
        return problem_response(exc.status_code, titles.get(exc.status_code, "Error"),
                                f"No endpoint {request.method} {request.scope.get('po.original_path', request.url.path)}.")

    for module in (auth, routes_contacts, routes_products, routes_sales, routes_ledger):
        app.include_router(module.router(state))
    app.include_router(control_router(state))

    @app.post("/_sandbox/payments", include_in_schema=False)
    def register_payment(body: dict[str, Any]) -> dict[str, Any]:
        """Book a customer payment: ``{"invoice_id": uuid, "amount": 123.45, "date"?: "yyyy-MM-dd"}``."""
        if "invoice_id" not in body or "amount" not in body:
            raise HTTPException(400, "body needs 'invoice_id' and 'amount'")
        try:
            day = parse_date(body["date"]) if body.get("date") else None
            return state.register_payment(body["invoice_id"], float(body["amount"]), payment_date=day)
        except KeyError as exc:
            raise HTTPException(404, str(exc).strip("'\"")) from exc
        except (TypeError, ValueError) as exc:
            raise HTTPException(400, str(exc)) from exc

    # Added innermost first: faults are outermost, so injected failures are never recorded.
    app.add_middleware(ApiGate, state=state)
    app.add_middleware(PathNormalizer)
    app.add_middleware(TrafficRecorder, state=state)
    app.add_middleware(FaultInjectionMiddleware, config=state.faults, problem_body=_fault_body)
    return app
