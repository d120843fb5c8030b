"""What every REST call passes before and after its handler, in Exact's order:

bearer token (401) -> account-wide 403 reasons -> error-rate block -> division (403) ->
budgets per app × division (429, headers of the spent window only) -> handler -> the six
``X-RateLimit-*`` headers -> a 400/401/403/404 answer counts toward the error block.
Calls without a division (``current/Me``) need a token but spend no budget and get no headers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC
from typing import TYPE_CHECKING, Any

from sandbox.exact.errors import KEY_BLOCKED, OUT_OF_SCOPE, RATE_LIMITED, WRONG_DIVISION, ExactError

if TYPE_CHECKING:
    from sandbox.exact.state import ExactState
    from sandbox.exact.tokens import AccessToken

__all__ = ["CallContext", "admit", "block_check", "finish", "rate_headers", "record_error"]

COUNTED = {400, 401, 403, 404}


@dataclass
class CallContext:
    state: ExactState
    method: str
    endpoint: str                 # "crm/accounts": what the error block counts per
    division: int | None
    access: AccessToken | None = None
    headers: dict[str, str] = field(default_factory=dict)  # added to the answer

    @property
    def client_id(self) -> str | None:
        return self.access.grant.client_id if self.access else None


def rate_headers(windows: dict[str, Any], only: str | None = None) -> dict[str, str]:
    out = {}
    for name, prefix in (("daily", "X-RateLimit-"), ("minutely", "X-RateLimit-Minutely-")):
        if only and name != only:
            continue
        w = windows[name]
        out.update({f"{prefix}Limit": str(w.limit), f"{prefix}Remaining": str(w.remaining),
                    f"{prefix}Reset": str(w.reset_ms)})
    return out


def _block_key(state: ExactState, client_id: str, division: int | None, endpoint: str) -> Any:
    scope = state.options.block_scope
    return client_id if scope == "key" else (client_id, division) if scope == "division" else (
        client_id, division, endpoint)


def block_check(state: ExactState, client_id: str, division: int | None, endpoint: str) -> None:
    until = state.blocker.blocked_until(_block_key(state, client_id, division, endpoint))
    if until is None:
        return
    state.count("blocked_requests")
    text = KEY_BLOCKED.format(until=until.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"))
    if state.options.blocked_status == 403:
        raise ExactError(403, text, reason="ApiKeyBlocked")  # [INFER] the Reason value
    raise ExactError(state.options.blocked_status, text)


def record_error(state: ExactState, client_id: str | None, division: int | None, endpoint: str, status: int) -> None:
    if client_id is None or status not in COUNTED:
        return
    state.sync_limits()
    if state.blocker.record((client_id, division, endpoint), _block_key(state, client_id, division, endpoint)):
        state.count("blocks_started")


def _bearer(headers: dict[str, str]) -> str:
    auth = headers.get("authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else ""


def admit(ctx: CallContext, request_headers: dict[str, str]) -> None:
    """Run the checks before the handler; raises ``ExactError`` with the refusal."""
    state = ctx.state
    status, access = state.tokens.check(_bearer(request_headers))
    ctx.access = access
    if status != "ok":
        challenge = {"expired": 'Bearer error="invalid_token", error_description="access token expired"',
                     "revoked": 'Bearer error="invalid_token", error_description="access token revoked"'}
        raise ExactError(401, "Unauthorized", headers={
            "WWW-Authenticate": challenge.get(status, 'Bearer error="invalid_token"')})
    if state.forbid_reason:
        raise ExactError(403, "Forbidden", reason=state.forbid_reason)
    block_check(state, access.grant.client_id, ctx.division, ctx.endpoint)
    if ctx.division is None:
        return
    division = state.divisions.get(ctx.division)
    if division is None or ctx.division not in state.user_divisions:
        raise ExactError(403, WRONG_DIVISION, reason="NoDivisionAccess")
    if division.get("Blocked"):
        raise ExactError(403, "Forbidden", reason="DivisionBlocked")
    if ctx.division not in access.grant.divisions:
        raise ExactError(403, OUT_OF_SCOPE.format(division=ctx.division))
    state.sync_limits()
    decision = state.budgets.take((access.grant.client_id, ctx.division))
    if not decision.allowed:
        state.count(f"rate_limited_{decision.exceeded}")
        # Only the spent window's headers on a 429 (picqer#646); no Retry-After [INFER: none known]
        raise ExactError(429, RATE_LIMITED.format(window=decision.exceeded),
                         headers=rate_headers(decision.windows, only=decision.exceeded))
    ctx.headers.update(rate_headers(decision.windows))
    state.current_division = ctx.division  # "the division last used" (Me.CurrentDivision)


def finish(ctx: CallContext, status: int) -> None:
    """After the answer is known: count the request, and an error toward the block."""
    ctx.state.count_request(ctx.method, ctx.division, ctx.endpoint, status)
    record_error(ctx.state, ctx.client_id, ctx.division, ctx.endpoint, status)
