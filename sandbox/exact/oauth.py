"""``/api/oauth2/auth`` and ``/api/oauth2/token``: the authorization-code flow.

The auth page consents at once in test mode (``options.auto_consent``) and redirects to
``redirect_uri?code=…&state=…``; otherwise it shows a one-button consent form. The token endpoint
takes form fields only, with the client's credentials in the body (every Exact client) or as
HTTP Basic (RFC 6749 §2.3.1; whether Exact accepts it is unknown [INFER: accepted]). Every call
counts toward 200 a day; a refusal may count toward the error block (``options.token_errors_counted``).
"""
from __future__ import annotations

import base64
import binascii
import html
import json
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from sandbox.exact.errors import ExactError, OAuthError, error_response, oauth_response
from sandbox.exact.gate import block_check, record_error

if TYPE_CHECKING:
    from sandbox.exact.state import ExactState

__all__ = ["router"]


def _consent_form(params: dict[str, str]) -> HTMLResponse:
    hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in params.items())
    return HTMLResponse("<!doctype html><title>Exact Online (simulator)</title><h1>Toegang verlenen</h1>"
                        f'<form method="post" action="/api/oauth2/auth">{hidden}'
                        '<button type="submit" name="consent" value="yes">Toestaan</button></form>')


def _client(state: ExactState, form: dict[str, str], headers: dict[str, str]) -> str:
    client_id, secret = form.get("client_id"), form.get("client_secret")
    auth = headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(auth[6:].strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError(400, "invalid_client", "The Authorization header is not valid Basic credentials.",
                             counted=False) from None
    if client_id != state.client_id or secret != state.client_secret:
        raise OAuthError(400, "invalid_client", "Client authentication failed.", counted=False)  # [INFER]
    return client_id


def router(state: ExactState) -> APIRouter:
    r = APIRouter()

    def authorize(params: dict[str, str]) -> Response:
        if params.get("client_id") != state.client_id:
            return HTMLResponse("<h1>Unknown client_id</h1>", status_code=400)
        redirect = params.get("redirect_uri", "")
        if not redirect or (state.redirect_uris and redirect not in state.redirect_uris):
            return HTMLResponse("<h1>The redirect_uri does not match the app's registration</h1>", status_code=400)
        if params.get("response_type", "code") != "code":
            return HTMLResponse("<h1>Only response_type=code is simulated</h1>", status_code=400)
        with state.lock:
            scope = frozenset(state.user_divisions if state.consent_divisions is None
                              else state.consent_divisions & set(state.user_divisions))
            code = state.tokens.issue_code(state.client_id, state.user["UserID"], redirect, scope)
        query = {"code": code, **({"state": params["state"]} if "state" in params else {})}
        return RedirectResponse(redirect + ("&" if "?" in redirect else "?") + urlencode(query), status_code=302)

    @r.get("/api/oauth2/auth")
    async def auth_page(request: Request) -> Response:
        params = dict(request.query_params)
        if state.options.auto_consent:
            return authorize(params)
        return _consent_form(params)

    @r.post("/api/oauth2/auth")
    async def auth_consent(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        form.pop("consent", None)
        return authorize(form)

    @r.post("/api/oauth2/token")
    async def token(request: Request) -> Response:
        state.base_url = state.base_url or str(request.base_url).rstrip("/")
        headers = {k.lower(): v for k, v in request.headers.items()}
        raw = await request.body()
        client_id = None
        try:
            media = headers.get("content-type", "").split(";")[0].strip().lower()
            if media != "application/x-www-form-urlencoded":
                raise OAuthError(400, "invalid_request", "The request must be application/x-www-form-urlencoded.",
                                 counted=False)
            form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
            client_id = _client(state, form, headers)
            with state.lock:
                block_check(state, client_id, None, "oauth2/token")
                state.tokens.count_call(client_id)
                grant = form.get("grant_type")
                if grant == "authorization_code":
                    body = state.tokens.exchange_code(client_id, form.get("code", ""), form.get("redirect_uri", ""))
                elif grant == "refresh_token":
                    body = state.tokens.refresh(client_id, form.get("refresh_token", ""))
                else:
                    raise OAuthError(400, "unsupported_grant_type", f"The grant type '{grant}' is not supported.")
            response = Response(json.dumps(body), media_type="application/json",
                                headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
        except OAuthError as exc:
            response = oauth_response(exc)
            counts = exc.counted and (state.options.token_errors_counted == "all" or
                                      exc.headers.get("Reason") == "TooEarlyToRefreshTokens")
            if counts:
                with state.lock:
                    record_error(state, client_id, None, "oauth2/token", exc.status)
        except ExactError as exc:  # a blocked key
            response = error_response(exc)
        with state.lock:
            state.count_request("POST", None, "oauth2/token", response.status_code)
        return response

    return r
