"""Exact-only control routes under ``/_sandbox`` (beside the common faults/state/counters/reset):
options, the clock, revoking the live access token, payments, touching rows (sync ties, webhook
events), lifting blocks; and the attachment download ``/docs/SysAttachment.aspx``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException
from starlette.requests import Request
from starlette.responses import Response

from sandbox.exact.documents import attachment_bytes
from sandbox.exact.entities import find_spec
from sandbox.exact.rules import Ctx
from sandbox.exact.salesentry import register_payment

if TYPE_CHECKING:
    from sandbox.exact.state import ExactState

__all__ = ["router"]


def _ctx(state: ExactState, division: Any) -> Ctx:
    try:
        code = int(division)
    except (TypeError, ValueError):
        raise HTTPException(400, "body needs a numeric 'division'") from None
    if code not in state.divisions:
        raise HTTPException(404, f"no division {code}")
    return Ctx(state, code, f"{state.base_url}/api/v1/{code}", {})


def router(state: ExactState) -> APIRouter:
    r = APIRouter(prefix="/_sandbox", include_in_schema=False)

    @r.get("/options")
    def get_options() -> dict[str, Any]:
        return state.options.as_dict()

    @r.put("/options")
    def put_options(body: dict[str, Any]) -> dict[str, Any]:
        try:
            state.options.update(body)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc
        return state.options.as_dict()

    @r.post("/clock/advance")
    def advance(body: dict[str, Any]) -> dict[str, str]:
        state.advance(float(body.get("seconds", 0)))
        return {"now": state.now().isoformat()}

    @r.post("/tokens/revoke")
    def revoke(body: dict[str, Any] | None = None) -> dict[str, int]:
        return {"revoked": state.tokens.revoke((body or {}).get("token"))}

    @r.post("/unblock")
    def unblock() -> dict[str, str]:
        state.blocker.unblock()
        return {"status": "unblocked"}

    @r.post("/payments")
    def pay(body: dict[str, Any]) -> dict[str, Any]:
        ctx = _ctx(state, body.get("division"))
        with state.lock:
            try:
                row = register_payment(ctx, str(body["entry_id"]).lower(), float(body["amount"]))
            except KeyError as exc:
                raise HTTPException(404, f"no receivable for {exc}") from exc
            return {"IsFullyPaid": row["IsFullyPaid"], "paid": row["_paid"]}

    @r.post("/touch")
    def touch(body: dict[str, Any]) -> dict[str, int]:
        ctx = _ctx(state, body.get("division"))
        spec = find_spec(str(body.get("entity", "")))
        if spec is None:
            raise HTTPException(404, "unknown entity")
        with state.lock:
            keys = body.get("keys") or list(state.store.table(ctx.division, spec))
            return {"timestamp": state.store.touch(ctx.division, spec, keys,
                                                   same_timestamp=bool(body.get("same_timestamp")))}

    @r.get("/webhooks")
    def deliveries() -> list[dict[str, Any]]:
        return [{k: v for k, v in d.items() if k != "body"} for d in state.webhooks.deliveries]

    return r


def download_router(state: ExactState) -> APIRouter:
    r = APIRouter()

    @r.get("/docs/SysAttachment.aspx")
    async def download(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        status, _ = state.tokens.check(auth[7:].strip() if auth.lower().startswith("bearer ") else "")
        if status != "ok":
            return Response(status_code=401)
        ctx = _ctx(state, request.query_params.get("_Division_"))
        with state.lock:
            found = attachment_bytes(ctx, request.query_params.get("ID", ""))
        if found is None:
            return Response(status_code=404)
        name, data = found
        return Response(data, media_type="application/octet-stream",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    return r
