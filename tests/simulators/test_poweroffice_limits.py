"""PowerOffice simulator over real HTTP: 10 req/s throttling, fault injection, control API."""
from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from sandbox.common import ServerThread, SlidingWindowLimiter
from sandbox.poweroffice import PowerOfficeState, create_app, seed
from tests.simulators.test_poweroffice_support import Api, problem

# A dropped connection surfaces as either, depending on how far the response got.
BROKEN = (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[PowerOfficeState, str]]:
    state = PowerOfficeState()  # the default limiter: 10 requests per second per subscription key
    seed(state, customers=30, suppliers=5, persons=5, products=5, invoices=2, rng_seed=3)
    with ServerThread(create_app(state)) as srv:
        yield state, srv.url


@pytest.fixture
def client(server) -> Api:
    server[0].limiter.reset()  # start every test with an empty rate window
    server[0].faults.clear()
    return Api(server[1])


def test_default_limit_is_ten_per_second(server):
    state = server[0]
    assert (state.limiter.limit, state.limiter.window_s) == (10, 1.0)


def test_rate_limit_429_with_retry_after(server, client):
    state = server[0]
    before = state.counters()["rate_limited"]
    responses = [client.get("Customers", PageSize=1) for _ in range(30)]
    codes = [r.status_code for r in responses]
    throttled = [r for r in responses if r.status_code == 429]
    assert set(codes) == {200, 429} and codes.count(200) <= 9  # the token call used one slot
    assert codes.index(429) == codes.count(200)  # all successes first, then throttled
    sample = throttled[0]
    assert sample.headers["Retry-After"] == "1"
    assert sample.json() == {"statusCode": "429", "message": "Rate limit is exceeded. Try again in 1 seconds."}
    assert state.counters()["rate_limited"] - before == len(throttled)
    time.sleep(1.1)
    assert client.get("Customers", PageSize=1).status_code == 200


def test_limit_is_configurable(server, client):
    state = server[0]
    original = state.limiter
    state.limiter = SlidingWindowLimiter(3, 1.0)
    try:
        codes = [client.get("VatCodes").status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
    finally:
        state.limiter = original
    assert PowerOfficeState(rate_limit=0).limiter.check() == (True, 0)


def test_injected_server_errors_use_problem_details(server, client):
    url = server[1]
    put = requests.put(f"{url}/_sandbox/faults", json={"error_5xx": 1.0, "paths": ["/v2/Customers"]}, timeout=5)
    assert put.status_code == 200
    failed = client.get("Customers")
    assert failed.status_code in (500, 502, 503)
    assert failed.json()["status"] == failed.status_code and failed.json()["title"]
    assert client.get("VatCodes").status_code == 200  # other paths untouched
    assert server[0].counters()["faults_injected"]["error_5xx"] >= 1
    requests.delete(f"{url}/_sandbox/faults", timeout=5)
    assert client.get("Customers", PageSize=1).status_code == 200


def test_injected_throttling_reset_and_latency(server, client):
    url = server[1]
    requests.put(f"{url}/_sandbox/faults", json={"too_many_requests": 1.0}, timeout=5)
    throttled = client.get("Products")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
    assert throttled.json()["statusCode"] == "429"
    requests.put(f"{url}/_sandbox/faults", json={"too_many_requests": 0.0, "connection_reset": 1.0}, timeout=5)
    with pytest.raises(BROKEN):
        client.get("Products")
    requests.put(f"{url}/_sandbox/faults", json={"connection_reset": 0.0, "latency_ms": [250, 250]}, timeout=5)
    started = time.monotonic()
    assert client.get("VatCodes").status_code == 200
    assert time.monotonic() - started >= 0.25
    requests.delete(f"{url}/_sandbox/faults", timeout=5)


def test_lost_response_still_writes(server, client):
    state, url = server
    requests.put(f"{url}/_sandbox/faults", json={"lost_response": 1.0, "paths": ["/v2/Customers"]}, timeout=5)
    with pytest.raises(BROKEN):
        client.post("Customers", {"Name": "Tapt Svar AS", "ExternalImportReference": "LOST-1"})
    requests.delete(f"{url}/_sandbox/faults", timeout=5)
    found = client.rows("Customers", externalImportReference="LOST-1")
    assert [c["Name"] for c in found] == ["Tapt Svar AS"]  # the write happened; a retry must look it up first
    body = problem(client.post("Customers", {"Name": "Tapt Svar AS", "ExternalImportReference": "LOST-1"}), 400)
    assert "already in use" in body["detail"]
    assert state.get("customers", found[0]["Id"])["ExternalImportReference"] == "LOST-1"


def test_control_api_state_counters_reset(server, client):
    state, url = server
    state.reset_counters()
    client.get("Customers", PageSize=1)
    client.get("Customers", PageSize=1)
    client.get("VatCodes")
    counters = requests.get(f"{url}/_sandbox/counters", timeout=5).json()
    assert counters["calls"] == {"GET Customers": 2, "GET VatCodes": 1} and counters["total"] == 3
    snapshot = requests.get(f"{url}/_sandbox/state", timeout=5).json()
    assert snapshot["customers"] == len(state.all("customers")) and snapshot["vat_codes"] == 12
    client.post("Customers", {"Name": "Før Reset AS"})
    assert requests.post(f"{url}/_sandbox/reset", timeout=5).json() == {"status": "reset"}
    after = requests.get(f"{url}/_sandbox/state", timeout=5).json()
    assert after["customers"] == 30 and after["outgoing_invoices"] == 2  # re-seeded, the extra customer is gone
    assert not [c for c in state.all("customers") if c["Name"] == "Før Reset AS"]
    assert client.get("Customers", PageSize=1).status_code == 401  # tokens do not survive a reset
