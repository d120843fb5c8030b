"""Exact's error shapes: the REST envelope and the OAuth-style token errors.

REST: ``{"error":{"code":"","message":{"lang":"","value":"…"}}}`` (code normally empty). Token
endpoint: ``{"error":"…","error_description":"…"}`` (RFC 6749 §5.2 style). A ``Reason`` response
header carries the 403/too-early reasons (picqer PR #451, websmurf#31).
"""
from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

__all__ = ["ExactError", "OAuthError", "envelope", "error_response", "oauth_response"]


def envelope(message: str, code: str = "") -> dict[str, Any]:
    return {"error": {"code": code, "message": {"lang": "", "value": message}}}


class ExactError(Exception):
    """A REST error: ``raise ExactError(400, "…")`` from any handler."""

    def __init__(self, status: int, message: str, *, reason: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        if reason:
            self.headers["Reason"] = reason


class OAuthError(Exception):
    """A token-endpoint refusal."""

    def __init__(self, status: int, error: str, description: str, *, reason: str | None = None,
                 counted: bool = True) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.headers = {"Reason": reason} if reason else {}
        self.counted = counted  # may count toward the error block (see options.token_errors_counted)


def error_response(exc: ExactError) -> Response:
    return Response(json.dumps(envelope(exc.message), separators=(",", ":")), status_code=exc.status,
                    media_type="application/json; charset=utf-8", headers=exc.headers)


def oauth_response(exc: OAuthError) -> Response:
    body = {"error": exc.error, "error_description": exc.description}
    return Response(json.dumps(body), status_code=exc.status, media_type="application/json",
                    headers={"Cache-Control": "no-store", **exc.headers})


# Messages in one place. Those marked [INFER] were not found in any source.
MANDATORY_FILTER = ("This endpoint has mandatory filtering applied. A GET request for this endpoint must have a "
                    "$filter parameter with one of the following fields in the url:{fields}.")
SELECT_REQUIRED = "$select is mandatory for this endpoint. Please add a $select statement to the query string."  # [INFER]
OUT_OF_SCOPE = "Forbidden - User division is not within division scope (division {division})"
WRONG_DIVISION = "Forbidden - WrongDivision"
INVALID_REFERENCE = "Ongeldige referentie: {what}"
ATTACHMENT_NOT_BASE64 = ("Error processing request stream. Error encountered in converting the value from request "
                         "payload for property 'Attachment' to type 'Byte[]', which is the property's type.")
NOT_FOUND = "Object not found"  # [INFER] the 404 text
NO_UPDATE = "You're not allowed to Update()"  # dotnet-client PR #63 (status [INFER] 400)
KEY_BLOCKED = ("API key blocked: too many errors (400/401/403/404) on this endpoint in the last hour. "
               "Blocked until {until} UTC.")  # [INFER] the text and status of a blocked key
RATE_LIMITED = "API rate limit exceeded ({window})."  # [INFER] 429 body; no Retry-After is sent
