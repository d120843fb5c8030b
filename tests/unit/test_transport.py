"""The shared transport over real HTTP (a small local server): idempotency is the call's, errors
inside a 200 are typed, rate-limit headers correct the limiter, a fixed key is not retried."""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from tenacity import wait_none

from sandbox.common import ServerThread
from tribe_operators.exceptions import AmbiguousWriteError, ApiClientError
from tribe_operators.http.auth import KeyAuth
from tribe_operators.http.client import ApiClient
from tribe_operators.http.pacing import RateLimiter, rate_header_reader
from tribe_operators.http.retry import build_retrying

SEEN: Counter[str] = Counter()


def _app() -> FastAPI:
    app = FastAPI()

    @app.post("/rpc")
    async def rpc(request: Request) -> JSONResponse:
        body = await request.json()
        SEEN[body["method"]] += 1
        if request.headers.get("Authorization") != "bearer k3y":
            return JSONResponse({"detail": "bad key"}, status_code=401)
        if body["method"] in {"search_read", "create"} and SEEN[body["method"]] == 1:
            return JSONResponse({"detail": "busy"}, status_code=503)  # the first of each meets a 5xx
        if body["method"] == "fail":  # JSON-RPC reports errors inside a 200
            return JSONResponse({"jsonrpc": "2.0", "id": 1, "error": {"code": 200, "message": "Odoo Server Error",
                                 "data": {"name": "odoo.exceptions.ValidationError", "message": "VAT is invalid"}}})
        headers = {"X-RateLimit-Minutely-Remaining": str(body.get("left", 50)),
                   "X-RateLimit-Minutely-Reset": str(int((time.time() + 30) * 1000))}
        return JSONResponse({"jsonrpc": "2.0", "id": 1, "result": [1]}, headers=headers)

    return app


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    with ServerThread(_app()) as srv:
        yield srv


def _body_error(response: requests.Response) -> Exception | None:
    error = response.json().get("error") if response.headers.get("content-type", "").startswith("application/json") \
        else None
    if error is None:
        return None
    return ApiClientError(422, f"{error['data']['name']}: {error['data']['message']}", error)


def _client(server: Any, key: str = "k3y", limiter: RateLimiter | None = None) -> ApiClient:
    SEEN.clear()
    return ApiClient(server.url, KeyAuth(key), limiter=limiter, body_error=_body_error,
                     retrying=lambda: build_retrying(wait=wait_none(), max_attempts=3),
                     rate_headers=rate_header_reader("X-RateLimit-Minutely-Remaining", "X-RateLimit-Minutely-Reset"))


def test_an_rpc_read_that_meets_a_5xx_is_retried(server):
    client = _client(server)
    assert client.request("POST", "/rpc", json={"method": "search_read"}, idempotent=True).json()["result"] == [1]
    assert SEEN["search_read"] == 2


def test_an_rpc_create_that_meets_a_5xx_is_not_repeated(server):
    client = _client(server)
    with pytest.raises(AmbiguousWriteError):
        client.request("POST", "/rpc", json={"method": "create"})
    assert SEEN["create"] == 1


def test_an_error_inside_a_200_is_raised_typed_and_not_retried(server):
    client = _client(server)
    with pytest.raises(ApiClientError, match="ValidationError: VAT is invalid"):
        client.request("POST", "/rpc", json={"method": "fail"}, idempotent=True)
    assert SEEN["fail"] == 1


def test_a_refused_fixed_key_fails_at_once(server):
    client = _client(server, key="wrong")
    with pytest.raises(ApiClientError, match="401"):
        client.request("POST", "/rpc", json={"method": "search_read"}, idempotent=True)
    assert SEEN["search_read"] == 1


def test_the_servers_remaining_budget_corrects_the_limiter(server):
    limiter = RateLimiter(60, 60.0)
    client = _client(server, limiter=limiter)
    client.request("POST", "/rpc", json={"method": "read", "left": 5}, idempotent=True)
    # We sent 1 of 60; the server says 5 are left (other workers spent the rest): 5 more fit in
    # the window, where our own count alone would have let 59 go.
    assert limiter.limit - len(limiter._sent) == 5
    client.request("POST", "/rpc", json={"method": "read", "left": 50}, idempotent=True)
    assert limiter.limit - len(limiter._sent) == 4  # more left than we think changes nothing


def test_none_left_holds_every_request_until_the_reset(server):
    limiter = RateLimiter(60, 60.0)
    client = _client(server, limiter=limiter)
    client.request("POST", "/rpc", json={"method": "read", "left": 0}, idempotent=True)
    assert limiter._hold_until - time.monotonic() > 25  # the reset is 30 s away


def test_garbled_rate_headers_change_nothing():
    read = rate_header_reader("X-Left", "X-Reset", reset_is="seconds")
    response = requests.Response()
    response.headers.update({"X-Left": "many", "X-Reset": "soon"})
    assert read(response) is None
    response.headers.update({"X-Left": "3", "X-Reset": "2.5"})
    assert read(response) == (3, 2.5)


def test_decimal_amounts_go_on_the_wire_as_their_own_digits():
    import json
    from decimal import Decimal

    from tribe_operators.http.client import json_numbers

    body = {"Lines": [{"Quantity": Decimal("2"), "Price": Decimal("19.99"), "Allowance": Decimal("0.1")}]}
    assert json.dumps(json_numbers(body)) == '{"Lines": [{"Quantity": 2, "Price": 19.99, "Allowance": 0.1}]}'
    assert json_numbers({"a": Decimal("0.30") - Decimal("0.1") - Decimal("0.2")}) == {"a": 0}
