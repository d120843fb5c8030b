"""``POST /OAuth/Token``: OAuth2 client credentials (Basic appKey:clientKey), 20-minute tokens.

v2 issues no refresh token; clients renew by asking again. Errors follow RFC 6749 §5.2
(``{"error", "error_description"}`` with status 400), as the vendor's auth spec shows.
"""
from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from sandbox.poweroffice.state import PowerOfficeState

__all__ = ["router"]


def _error(code: str, description: str) -> Response:
    return Response(json.dumps({"error": code, "error_description": description}), status_code=400,
                    media_type="application/json", headers={"Cache-Control": "no-store"})


def router(state: PowerOfficeState) -> APIRouter:
    """The token endpoint bound to ``state`` (reached as ``/OAuth/Token`` or ``/Demo/OAuth/Token``)."""
    r = APIRouter()

    @r.post("/oauth/token")
    async def token(request: Request) -> Response:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/x-www-form-urlencoded":
            return _error("invalid_request", "The request must be sent as application/x-www-form-urlencoded.")
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        grant = form.get("grant_type")
        if not grant:
            return _error("invalid_request", "The mandatory 'grant_type' parameter is missing.")
        app_key, client_key = form.get("client_id"), form.get("client_secret")
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                app_key, _, client_key = base64.b64decode(auth[6:].strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return _error("invalid_client", "The Authorization header is not valid Basic credentials.")
        if not app_key or not client_key:
            return _error("invalid_client", "Client authentication failed: send Authorization: Basic "
                                            "base64(applicationKey:clientKey).")
        if (app_key, client_key) != (state.app_key, state.client_key):
            return _error("invalid_client", "Client integration not found. Please ensure the provided keys are "
                                            "matching the desired environment.")
        if grant != "client_credentials":
            return _error("unsupported_grant_type", f"The grant type '{grant}' is not supported; use "
                                                    "client_credentials.")
        body = {"access_token": state.issue_token(), "token_type": "bearer", "expires_in": state.token_ttl_s}
        return Response(json.dumps(body), media_type="application/json",
                        headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    return r
