"""Fault injection on the Odoo simulator (sandbox.common faults plus Odoo's serialization
failure) and its control API: lost responses, 5xx, resets, timeouts, latency, version switch."""
from __future__ import annotations

import http.client
import time
import xmlrpc.client
from datetime import UTC, datetime
from xml.parsers.expat import ExpatError

import odoorpc
import pytest
import requests

from sandbox.odoo.clients import OdooServer


@pytest.fixture
def odoo():
    with OdooServer(version=19) as server:
        yield server


def faults(odoo, **settings):
    response = requests.put(f"{odoo.url}/_sandbox/faults", json=settings, timeout=5)
    assert response.status_code == 200, response.text


def partners_named(odoo, name):
    return odoo.state.search("res.partner", [("name", "=", name)])


def test_serialization_failure_in_each_protocol_changes_nothing(odoo):
    faults(odoo, serialization_failure=1.0)
    with pytest.raises(xmlrpc.client.Fault) as caught:
        odoo.execute("res.partner", "create", {"name": "Concurrent"})
    assert caught.value.faultCode == 1
    assert caught.value.faultString.rstrip().endswith(
        "psycopg2.errors.SerializationFailure: could not serialize access due to concurrent update")
    error = odoo.call("res.partner", "create", {"name": "Concurrent"})["error"]
    assert error["data"]["name"] == "psycopg2.errors.SerializationFailure" and error["code"] == 0
    response = odoo.json2("res.partner", "create", vals_list=[{"name": "Concurrent"}])
    assert response.status_code == 500 and response.json()["name"] == "psycopg2.errors.SerializationFailure"
    assert partners_named(odoo, "Concurrent") == []  # rolled back every time
    assert odoo.execute("res.partner", "search_count", []) > 0  # reads run on a read-only cursor: unaffected
    assert odoo.state.counters()["faults_injected"]["serialization_failure"] == 3


def test_a_retrying_client_gets_exactly_one_record(odoo):
    faults(odoo, serialization_failure=0.6, seed=4)
    attempts = 0
    while True:
        attempts += 1
        try:
            odoo.execute("res.partner", "create", {"name": "Retried"})
            break
        except xmlrpc.client.Fault as fault:
            assert "SerializationFailure" in fault.faultString
            assert attempts < 50
    assert attempts > 1  # seed 4 fails the first tries
    assert len(partners_named(odoo, "Retried")) == 1
    assert odoo.state.faults.injected["serialization_failure"] == attempts - 1


def test_serialization_failure_can_target_a_model(odoo):
    faults(odoo, serialization_failure=1.0, paths=["account.move"])
    odoo.execute("res.partner", "create", {"name": "Untargeted"})
    with pytest.raises(xmlrpc.client.Fault, match="SerializationFailure"):
        odoo.execute("account.move", "create", {"move_type": "out_invoice", "partner_id": 1})
    assert len(partners_named(odoo, "Untargeted")) == 1


def test_lost_response_the_record_exists_though_the_client_heard_nothing(odoo):
    faults(odoo, lost_response=1.0)
    # headers come, the body never does: xmlrpc.client ends up parsing nothing
    with pytest.raises((http.client.HTTPException, ConnectionError, ExpatError)):
        odoo.execute("res.partner", "create", {"name": "Ghost XML"})
    with pytest.raises(requests.exceptions.RequestException):
        odoo.json2("res.partner", "create", vals_list=[{"name": "Ghost JSON-2"}])
    faults(odoo, lost_response=0.0)
    assert len(partners_named(odoo, "Ghost XML")) == 1
    assert len(partners_named(odoo, "Ghost JSON-2")) == 1
    assert odoo.state.faults.injected["lost_response"] == 2


def test_server_errors_resets_timeouts_and_latency(odoo):
    faults(odoo, error_5xx=1.0)
    with pytest.raises(xmlrpc.client.ProtocolError) as caught:
        odoo.execute("res.partner", "search", [])
    assert caught.value.errcode in (500, 502, 503)
    response = odoo.json2("res.partner", "search", domain=[])
    assert response.status_code in (500, 502, 503) and response.json()["name"].startswith("werkzeug.exceptions.")
    assert requests.get(f"{odoo.url}/_sandbox/state", timeout=5).status_code == 200  # control API is exempt
    faults(odoo, error_5xx=0.0, connection_reset=1.0)
    with pytest.raises(requests.exceptions.RequestException):  # ChunkedEncodingError: the connection broke
        odoo.json2("res.partner", "create", vals_list=[{"name": "Never"}])
    faults(odoo, connection_reset=0.0, timeout=1.0, timeout_sleep_s=0.3)
    started = time.monotonic()
    assert odoo.json2("res.partner", "search", domain=[]).status_code == 504
    assert time.monotonic() - started >= 0.3
    faults(odoo, timeout=0.0, too_many_requests=1.0)
    throttled = odoo.json2("res.partner", "search", domain=[])
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
    faults(odoo, too_many_requests=0.0, latency_ms=[150, 150])
    started = time.monotonic()
    assert odoo.json2("res.partner", "search", domain=[]).status_code == 200
    assert time.monotonic() - started >= 0.15
    assert partners_named(odoo, "Never") == []  # a reset before the request reached the server


def test_odoorpc_sees_injected_server_errors(odoo):
    client = odoo.odoorpc()
    faults(odoo, error_5xx=1.0)
    with pytest.raises(Exception) as caught:  # urllib's HTTPError, as OdooRPC does not wrap it
        client.env["res.partner"].search([])
    assert "HTTP Error 50" in str(caught.value)
    assert not isinstance(caught.value, odoorpc.error.RPCError)


def test_control_api_version_clock_keys_users_reset(odoo):
    url = f"{odoo.url}/_sandbox/odoo"
    pid = odoo.execute("res.partner", "create", {"name": "Before reset"})
    assert requests.put(f"{url}/version", json={"version": 16}, timeout=5).status_code == 400
    assert requests.put(f"{url}/version", json={"version": 18}, timeout=5).json()["version"] == 18
    assert odoo.proxy("common").version()["server_version"] == "18.0"
    assert odoo.json2("res.partner", "search", domain=[]).status_code == 404  # no JSON-2 on 18
    assert "mobile" in odoo.execute("res.partner", "fields_get", attributes=["type"])
    assert odoo.execute("res.partner", "search", [("id", "=", pid)]) == []  # a new database
    now = datetime.strptime(requests.post(f"{url}/clock", json={"advance_s": 86400}, timeout=5).json()["now"],
                            "%Y-%m-%d %H:%M:%S")
    assert (now - datetime.now(UTC).replace(tzinfo=None)).total_seconds() > 86000
    made = odoo.execute("res.partner", "create", {"name": "Tomorrow"})
    stamp = odoo.execute("res.partner", "read", [made], fields=["write_date"])[0]["write_date"]
    assert datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S") >= now.replace(microsecond=0)
    key = requests.post(f"{url}/api-keys", json={"login": "admin"}, timeout=5).json()["key"]
    assert odoo.proxy("common").login(odoo.db, "admin", key) == 2
    uid = requests.post(f"{url}/users", json={"login": "clerk", "password": "pw"}, timeout=5).json()["uid"]
    assert odoo.proxy("common").login(odoo.db, "clerk", "pw") == uid
    faults(odoo, error_5xx=0.5)
    assert requests.post(f"{odoo.url}/_sandbox/reset", timeout=5).status_code == 200
    assert odoo.state.faults.error_5xx == 0.0
    assert odoo.execute("res.partner", "search", [("name", "=", "Tomorrow")]) == []
    assert odoo.state.version == 18  # reset keeps the version
    counters = requests.get(f"{odoo.url}/_sandbox/counters", timeout=5).json()
    assert counters["total"] >= 1 and "res.partner.search" in counters["calls"]
