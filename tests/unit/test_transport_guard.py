"""The error-rate guard, in-process, against a real local server: 12 records each refused with
a 400 — at most 6 reach the endpoint within the hour, the rest are held (not sent); after the
hour the endpoint is tried again. Counted per endpoint, whatever form its URL takes."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from tenacity import wait_none

from sandbox.common import ServerThread
from tribe_operators.exceptions import ApiClientError, ErrorBudgetHeldError, NotFoundError, RecordError
from tribe_operators.http.auth import KeyAuth
from tribe_operators.http.client import ApiClient
from tribe_operators.http.guard import ErrorGuard, endpoint_of
from tribe_operators.http.retry import build_retrying

SEEN: Counter[str] = Counter()
BASE = "/api/v1/123"


def _app() -> FastAPI:
    app = FastAPI()

    @app.post(BASE + "/salesentry/SalesEntries")
    async def refuse(request: Request) -> JSONResponse:
        SEEN["SalesEntries"] += 1
        return JSONResponse({"error": {"message": {"value": "Ongeldige btw-code"}}}, 400)

    @app.get(BASE + "/crm/Accounts")
    async def accounts() -> JSONResponse:
        SEEN["Accounts"] += 1
        return JSONResponse({"d": {"results": []}})

    @app.get(BASE + "/crm/Accounts(guid'{key}')")
    async def account(key: str) -> JSONResponse:
        SEEN["Account"] += 1
        return JSONResponse({"error": "gone"}, 404)

    @app.get(BASE + "/status/{code}")
    async def status(code: int) -> JSONResponse:
        SEEN[f"status/{code}"] += 1
        return JSONResponse({}, code)

    return app


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    with ServerThread(_app()) as srv:
        yield srv


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 3, 1, 9, 0, tzinfo=UTC).timestamp()

    def __call__(self) -> float:
        return self.now


def _client(server: Any, guard: ErrorGuard) -> ApiClient:
    SEEN.clear()
    return ApiClient(f"{server.url}{BASE}", KeyAuth("k"), guard=guard,
                     retrying=lambda: build_retrying(wait=wait_none(), max_attempts=3))


def test_twelve_refused_records_send_six_and_hold_six_until_the_hour_is_over(server):
    clock = Clock()
    client = _client(server, ErrorGuard("vendor:app:123", clock=clock))
    outcomes = []
    for n in range(12):
        clock.now += 60  # one record a minute: all twelve inside the hour
        try:
            client.request("POST", "salesentry/SalesEntries", json={"n": n})
        except ErrorBudgetHeldError as exc:
            outcomes.append(("held", exc.retry_at))
        except ApiClientError as exc:
            outcomes.append(("refused", exc.status))
    assert SEEN["SalesEntries"] == 6  # the vendor blocks at 10: it saw 6
    assert outcomes[:6] == [("refused", 400)] * 6
    first_refusal = datetime(2024, 3, 1, 9, 1, tzinfo=UTC)
    assert outcomes[6:] == [("held", first_refusal.replace(hour=10))] * 6  # when the first leaves the hour
    assert isinstance(ErrorBudgetHeldError("x", first_refusal), RecordError)  # the caller quarantines it, held
    assert client.calls["POST salesentry/SalesEntries"] == 6  # held ones were never sent

    assert client.request("GET", "crm/Accounts").status_code == 200  # another endpoint: its own count

    clock.now = first_refusal.replace(hour=10).timestamp() + 1  # the first refusal left the hour
    with pytest.raises(ApiClientError):
        client.request("POST", "salesentry/SalesEntries", json={"n": 12})
    assert SEEN["SalesEntries"] == 7
    with pytest.raises(ErrorBudgetHeldError):  # …and it counted: six again
        client.request("POST", "salesentry/SalesEntries", json={"n": 13})


def test_only_the_vendors_counted_statuses_count(server):
    clock = Clock()
    guard = ErrorGuard("vendor:app:123", limit=2, clock=clock)
    client = _client(server, guard)
    for code in (409, 422, 500, 429):  # not what the vendor counts toward its block
        with pytest.raises(Exception):  # noqa: B017 - each its own typed error; the count is the point
            client.request("GET", f"status/{code}")
    assert guard.errors("status/{id}") == 0
    for code in (401, 403):
        with pytest.raises(ApiClientError):
            client.request("GET", f"status/{code}")
    with pytest.raises(ErrorBudgetHeldError):
        client.request("GET", "status/200")
    assert SEEN["status/200"] == 0


def test_a_get_by_key_and_a_next_link_count_as_their_endpoint(server):
    clock = Clock()
    guard = ErrorGuard("vendor:app:123", limit=3, clock=clock)
    client = _client(server, guard)
    for key in ("6f1c9d2e-0000-0000-0000-000000000001", "6f1c9d2e-0000-0000-0000-000000000002"):
        with pytest.raises(NotFoundError):
            client.request("GET", f"crm/Accounts(guid'{key}')")
    client.request("GET", f"{server.url}{BASE}/crm/Accounts?$skiptoken=guid'x'")  # a 200 counts nothing
    guard.record(endpoint_of(f"{server.url}{BASE}/crm/Accounts?$skiptoken=guid'y'", client.base_url), 404)
    with pytest.raises(ErrorBudgetHeldError, match="crm/Accounts refused 3"):
        client.request("GET", "crm/Accounts")
    assert SEEN["Account"] == 2


@pytest.mark.parametrize("url,expected", [
    ("crm/Accounts", "crm/Accounts"),
    ("/crm/Accounts(guid'6f1c9d2e-0000-0000-0000-000000000001')", "crm/Accounts"),
    ("https://start.example.nl/api/v1/123/crm/Accounts?$skiptoken=guid'x'&$filter=a", "crm/Accounts"),
    ("https://start.example.nl/api/v1/456/crm/Accounts", "api/v1/{id}/crm/Accounts"),  # not under the base
    ("Customers/42", "Customers/{id}"),
    ("crm/Accounts%28guid%27x%27%29/Contacts", "crm/Accounts/Contacts"),
])
def test_endpoint_of(url, expected):
    assert endpoint_of(url, "https://start.example.nl/api/v1/123") == expected
