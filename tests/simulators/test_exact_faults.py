"""Fault injection on the Exact simulator: 5xx in Exact's envelope, resets, timeouts, lost
responses (the write happens, the answer is lost), each a switch, limited to paths if asked."""
from __future__ import annotations

import pytest
import requests

from sandbox.exact.seed import NL


def faults(exact, **settings):
    response = requests.put(f"{exact.url}/_sandbox/faults", json=settings, timeout=5)
    assert response.status_code == 200, response.text


def _named(exact, name):
    return [a for a in exact.state.store.table(NL, "crm/Accounts").values() if a["Name"] == name]


def test_a_5xx_carries_exacts_error_envelope(exact, token):
    faults(exact, error_5xx=1.0)
    response = exact.get("financial/Journals", token)
    assert response.status_code in (500, 502, 503)
    assert response.json()["error"]["message"]["value"].startswith("A problem has occurred.")
    assert exact.state.counters()["faults_injected"]["error_5xx"] == 1


def test_a_connection_reset(exact, token):
    faults(exact, connection_reset=1.0)
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        exact.get("financial/Journals", token)


def test_a_timeout_ends_in_a_504(exact, token):
    faults(exact, timeout=1.0, timeout_sleep_s=0.2)
    assert exact.get("financial/Journals", token).status_code == 504


def test_a_lost_response_still_writes(exact, token):
    faults(exact, lost_response=1.0)
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        exact.post("crm/Accounts", token, {"Name": "Verloren Antwoord B.V."})
    assert len(_named(exact, "Verloren Antwoord B.V.")) == 1
    assert exact.get("financial/Journals", token).status_code == 200  # reads are not "lost"


def test_faults_can_be_limited_to_paths_and_cleared(exact, token):
    faults(exact, error_5xx=1.0, paths=["crm/Accounts"])
    assert exact.get("crm/Accounts", token, params={"$filter": "Blocked eq false"}).status_code >= 500
    assert exact.get("financial/Journals", token).status_code == 200
    assert requests.delete(f"{exact.url}/_sandbox/faults", timeout=5).status_code == 200
    assert exact.get("crm/Accounts", token, params={"$filter": "Blocked eq false"}).status_code == 200


def test_the_token_endpoint_fails_too(exact):
    code = exact.authorize()
    faults(exact, error_5xx=1.0, paths=["/api/oauth2/token"])
    assert exact.exchange(code).status_code >= 500
    faults(exact, error_5xx=0.0)
    assert exact.exchange(code).status_code == 200  # the failed call never reached the token service
