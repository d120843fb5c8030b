"""Error bodies: RFC 7807 ProblemDetails (lowercase keys) and the APIM gateway's own shape.

The spec documents ``ProblemDetails`` with PascalCase properties, but every example and the
one live capture use ASP.NET's lowercase keys, so that is what we send. Media type is
``application/json``: that is the only content type the spec declares for error responses.
"""
from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

__all__ = [
    "ApiError",
    "apim_body",
    "bad_request",
    "conflict",
    "not_found",
    "problem",
    "problem_response",
]

_TYPES = {
    400: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
    401: "https://tools.ietf.org/html/rfc9110#section-15.5.2",
    403: "https://tools.ietf.org/html/rfc9110#section-15.5.4",
    404: "https://tools.ietf.org/html/rfc9110#section-15.5.5",
    405: "https://tools.ietf.org/html/rfc9110#section-15.5.6",
    409: "https://tools.ietf.org/html/rfc9110#section-15.5.10",
    415: "https://tools.ietf.org/html/rfc9110#section-15.5.16",
    500: "https://tools.ietf.org/html/rfc9110#section-15.6.1",
    502: "https://tools.ietf.org/html/rfc9110#section-15.6.3",
    503: "https://tools.ietf.org/html/rfc9110#section-15.6.4",
    504: "https://tools.ietf.org/html/rfc9110#section-15.6.5",
}

_DEFAULT_TITLES = {400: "Bad Request", 404: "Object(s) not found", 409: "Conflict",
                   415: "Unsupported Media Type", 500: "Internal Server Error"}


class ApiError(Exception):
    """Raised anywhere in a handler; the app turns it into a ProblemDetails response."""

    def __init__(self, status: int, title: str | None, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title or _DEFAULT_TITLES.get(status, "Error")
        self.detail = detail


def problem(status: int, title: str, detail: str) -> dict[str, Any]:
    """Build a ProblemDetails body."""
    return {"type": _TYPES.get(status, _TYPES[500] if status >= 500 else _TYPES[400]),
            "title": title, "status": status, "detail": detail}


def problem_response(status: int, title: str, detail: str) -> Response:
    """A ready ProblemDetails response."""
    return Response(json.dumps(problem(status, title, detail)), status_code=status,
                    media_type="application/json")


def apim_body(status: int, message: str) -> dict[str, Any]:
    """The Azure APIM gateway's error shape; its 429 carries ``statusCode`` as a string."""
    return {"statusCode": str(status) if status == 429 else status, "message": message}


def not_found(detail: str) -> ApiError:
    """404 "Object(s) not found"."""
    return ApiError(404, "Object(s) not found", detail)


def bad_request(title: str, detail: str) -> ApiError:
    """400 with a resource-specific title such as "Customer validation error(s)"."""
    return ApiError(400, title, detail)


def conflict(label: str, detail: str) -> ApiError:
    """409 "<Label> conflict"."""
    return ApiError(409, f"{label} conflict", detail)
