"""Error types the simulator raises, rendered in Tribe's (Olingo / Hydra) error shapes."""
from __future__ import annotations

from typing import Any

__all__ = ["ODataError", "OAuthError", "odata_error_body"]


def odata_error_body(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    """Build the OData v4 JSON error body Olingo returns.

    Args:
        status: HTTP status, used as the code when none is given.
        message: Human-readable, specific explanation.
        code: Short machine-readable code.

    Returns:
        ``{"error": {"code": ..., "message": ...}}``.
    """
    return {"error": {"code": code or str(status), "message": message}}


class ODataError(Exception):
    """An error on the OData or webhook API; becomes an OData error response."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return odata_error_body(self.status, self.message, self.code)


def bad_request(message: str, code: str = "BadRequest") -> ODataError:
    """Shorthand for the most common error: a 400 with a specific message."""
    return ODataError(400, code, message)


class OAuthError(Exception):
    """An error on the token endpoint; rendered the way ORY Hydra does."""

    def __init__(self, status: int, error: str, description: str, hint: str | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.hint = hint

    def body(self) -> dict[str, Any]:
        body = {"error": self.error, "error_description": self.description}
        if self.hint:
            body["error_hint"] = self.hint
        return body
