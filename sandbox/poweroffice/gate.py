"""ASGI layers in front of the routes: path normalising, the APIM gate, traffic recording.

* :class:`PathNormalizer` strips a ``/Demo`` prefix and lowercases the path, so routes (all
  registered in lowercase) match case-insensitively as on the real ASP.NET backend.
* :class:`ApiGate` plays Azure APIM plus the backend's auth: subscription key (401, APIM body),
  rate limit per subscription key (429 + ``Retry-After``), bearer token (401), call counters.
* :class:`TrafficRecorder` keeps request/response pairs for the conformance test.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sandbox.poweroffice.problems import apim_body

if TYPE_CHECKING:
    from sandbox.poweroffice.state import PowerOfficeState

__all__ = ["ApiGate", "PathNormalizer", "TrafficRecorder", "is_api_path"]

_RESOURCES = {name.lower(): name for name in (
    "Customers", "Suppliers", "ContactPersons", "Products", "ProductGroups", "VatCodes", "GeneralLedgerAccounts",
    "PaymentTerms", "SalesOrders", "OutgoingInvoices", "Customerledger", "ClientIntegrationInformation")}
_REDACT = {"authorization", "ocp-apim-subscription-key"}


def is_api_path(path: str) -> bool:
    """True for ``/v2/...`` and the token endpoint (any case, with or without ``/Demo``)."""
    lowered = path.lower()
    if lowered.startswith("/demo/"):
        lowered = lowered[5:]
    return lowered.startswith("/v2/") or lowered.rstrip("/") == "/oauth/token"


async def _send_json(send: Any, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    raw = b"" if body is None else json.dumps(body).encode()
    base = [(b"content-length", str(len(raw)).encode())]
    if body is not None:
        base.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": base + (headers or [])})
    await send({"type": "http.response.body", "body": raw})


class PathNormalizer:
    """``/Demo/v2/Customers/`` -> ``/v2/customers`` (original kept in ``scope['po.original_path']``)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/_sandbox"):
            original = scope["path"]
            path, prefix = original, ""
            if path.lower().startswith("/demo/"):
                path, prefix = path[5:], path[:5]
            path = path.rstrip("/") or "/"
            scope = dict(scope, path=path.lower(), raw_path=path.lower().encode())
            scope["po.original_path"] = original
            scope["po.prefix"] = prefix
        await self.app(scope, receive, send)


class ApiGate:
    """Subscription key, rate limit and bearer checks, in APIM's order."""

    def __init__(self, app: Any, state: PowerOfficeState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path.startswith("/v2/") or path == "/oauth/token"):
            await self.app(scope, receive, send)
            return
        state = self.state
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        key = headers.get("ocp-apim-subscription-key")
        if key is None:  # APIM also takes the key as a query parameter
            for part in scope.get("query_string", b"").decode().split("&"):
                if part.startswith("subscription-key="):
                    key = part.split("=", 1)[1]
        if key != state.subscription_key:
            state.count("unauthorized")
            message = ("Access denied due to missing subscription key. Make sure to include subscription key "
                       "when making requests to an API." if not key else
                       "Access denied due to invalid subscription key. Make sure to provide a valid key for an "
                       "active subscription.")
            await _send_json(send, 401, apim_body(401, message))
            return
        allowed, retry_after = state.limiter.check()
        if not allowed:
            state.count("rate_limited")
            await _send_json(send, 429, apim_body(429, f"Rate limit is exceeded. Try again in {retry_after} seconds."),
                             [(b"retry-after", str(retry_after).encode())])
            return
        if path.startswith("/v2/"):
            auth = headers.get("authorization", "")
            token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
            status = state.token_status(token) if token else "missing"
            if status != "ok":
                state.count("unauthorized")
                challenge = {"missing": 'Bearer',
                             "invalid": 'Bearer error="invalid_token"',
                             "expired": 'Bearer error="invalid_token", error_description="The token expired"'}[status]
                await _send_json(send, 401, None, [(b"www-authenticate", challenge.encode())])
                return
            segment = path[4:].split("/", 1)[0]
            state.count("call", scope["method"], _RESOURCES.get(segment, segment))
        await self.app(scope, receive, send)


class TrafficRecorder:
    """Append every API exchange to ``state.traffic`` while ``state.record_traffic`` is on."""

    def __init__(self, app: Any, state: PowerOfficeState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.state.record_traffic or not is_api_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        messages: list[dict] = []
        body = b""
        while True:  # read the whole request body, then replay it to the app
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body"):
                break

        async def replay() -> dict:
            return messages.pop(0) if messages else await receive()

        response: dict[str, Any] = {"status": None, "headers": {}, "body": b""}

        async def capture(message: dict) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                response["headers"] = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
            elif message["type"] == "http.response.body":
                response["body"] += message.get("body", b"")
            await send(message)

        await self.app(scope, replay, capture)
        request_headers = {}
        for raw_key, raw_value in scope["headers"]:
            name, value = raw_key.decode("latin-1").lower(), raw_value.decode("latin-1")
            if name in _REDACT:
                value = (value.split(" ", 1)[0] + " ***") if " " in value else "***"
            request_headers[name] = value
        exchange = {"method": scope["method"], "path": scope["path"],
                    "query": scope.get("query_string", b"").decode(), "request_headers": request_headers,
                    "request_body": body, "status": response["status"],
                    "response_headers": response["headers"], "response_body": response["body"]}
        with self.state.lock:
            self.state.traffic.append(exchange)
