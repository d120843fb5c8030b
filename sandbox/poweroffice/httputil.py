"""Request parsing for the route modules: bodies by content type, path ids, empty 200s."""
from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox.poweroffice.problems import ApiError

__all__ = ["empty_ok", "int_id", "json_body", "patch_body", "uuid_id"]

_JSON_TYPES = ("application/json", "text/json", "application/json-patch+json")


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def _parse(request: Request, title: str) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise ApiError(400, title, "A non-empty request body is required.")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, title, f"The request body is not valid JSON: {exc}.") from None


async def json_body(request: Request, title: str, optional: bool = False) -> Any:
    """A JSON body (``application/json``, ``text/json`` or ``application/*+json``); 415 otherwise."""
    media = _media_type(request)
    raw_needed = not optional or (await request.body()).strip()
    if not raw_needed:
        return {}
    if media not in _JSON_TYPES and not (media.startswith("application/") and media.endswith("+json")):
        raise ApiError(415, "Unsupported Media Type", f"Content-Type '{media or '(none)'}' is not supported; "
                                                      "send application/json.")
    return await _parse(request, title)


async def patch_body(request: Request, title: str) -> Any:
    """A JSON Patch body: only ``application/json-patch+json`` is accepted (415 otherwise)."""
    media = _media_type(request)
    if media != "application/json-patch+json":
        raise ApiError(415, "Unsupported Media Type", f"Content-Type '{media or '(none)'}' is not supported; "
                                                      "PATCH takes application/json-patch+json (RFC 6902).")
    return await _parse(request, title)


def int_id(raw: str, name: str = "id") -> int:
    """An int64 path parameter (400 when malformed)."""
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, "One or more validation errors occurred.",
                       f"The value '{raw}' is not valid for {name}.") from None


def uuid_id(raw: str, name: str = "id") -> str:
    """A uuid path/query parameter in canonical lowercase form (400 when malformed)."""
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise ApiError(400, "One or more validation errors occurred.",
                       f"The value '{raw}' is not valid for {name}.") from None


def empty_ok() -> Response:
    """DELETE's answer: 200 with no body."""
    return Response(status_code=200)
