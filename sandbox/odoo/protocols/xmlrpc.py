"""XML-RPC: ``/xmlrpc/2/<service>`` (integer faultCodes) and legacy ``/xmlrpc/<service>`` (string
faultCodes), marshalled with the standard library like Odoo's server does.

The server marshals with ``allow_none=False``: a method returning None (``button_draft``...)
becomes a fault although the call went through. Strings lose XML-illegal control characters;
dates and datetimes travel as strings.
"""
from __future__ import annotations

import base64
import re
import xmlrpc.client
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from sandbox.odoo.errors import xmlrpc_fault

if TYPE_CHECKING:
    from sandbox.odoo.state import OdooState

__all__ = ["router"]

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _clean(value: Any) -> Any:
    """What Odoo's marshaller sends: no control characters, dates as strings, bytes as base64."""
    if isinstance(value, str):
        return _ILLEGAL.sub("", value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def answer(state: OdooState, service: str, body: bytes, *, legacy: bool) -> Response:
    try:
        params, method = xmlrpc.client.loads(body, use_datetime=True)
        if method is None:
            raise ValueError("not an XML-RPC method call")
        result = state.service.dispatch(service, method, list(params), protocol="xmlrpc")
        payload = xmlrpc.client.dumps((_clean(result),), methodresponse=True, allow_none=False)
    except Exception as exc:  # every failure is a Fault in HTTP 200, as Odoo answers
        payload = xmlrpc.client.dumps(xmlrpc_fault(exc, legacy=legacy), methodresponse=True, allow_none=False)
    return Response(payload, media_type="text/xml")


def router(state: OdooState) -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    @routes.post("/xmlrpc/2/{service}")
    async def xmlrpc_2(service: str, request: Request) -> Response:
        return answer(state, service, await request.body(), legacy=False)

    @routes.post("/xmlrpc/{service}")
    async def xmlrpc_legacy(service: str, request: Request) -> Response:
        return answer(state, service, await request.body(), legacy=True)

    return routes
