"""TribeCrmHook against the real Tribe simulator over HTTP.

These fail if the simulator stops paging, stops expiring tokens or stops answering 429 —
and if the hook stops coping with any of them.
"""
from __future__ import annotations

import pytest

from tests.fixtures.simulators import connection_env
from tribe_operators.exceptions import AmbiguousWriteError, ApiClientError, NotFoundError
from tribe_operators.systems.tribe.hook import TribeCrmHook, odata_literal


@pytest.fixture
def tribe(tribe_alone):
    return tribe_alone


def _orgs(state, n):
    for i in range(n):
        state.insert("Relation_Organization", {"Name": f"Org {i:04d}", "DebtorNumber": str(10000 + i)})


def test_reads_every_page_lazily(tribe):
    state, _ = tribe
    _orgs(state, 250 - len(state.all("Relation_Organization")))  # the identity org is one too
    hook = TribeCrmHook()
    state.reset_counters()
    pages = list(hook.iter_pages("Relation_Organization", select=["ID", "Name"]))
    assert [len(p) for p in pages] == [100, 100, 50]
    assert len({r["ID"] for p in pages for r in p}) == 250
    assert state.counters()["calls"].get("GET Relation_Organization") == 3


def test_server_caps_pages_at_100(tribe):
    state, _ = tribe
    _orgs(state, 150)
    client = TribeCrmHook().client
    body = client.request("GET", "Relation_Organization", params={"$top": 500}).json()
    assert len(body["value"]) == 100 and "@odata.nextLink" in body


def test_expired_token_is_renewed_and_the_call_succeeds(tribe):
    state, _ = tribe
    hook = TribeCrmHook()
    assert list(hook.iter_records("Datastore_Country", select=["ID"]))
    state.clock.advance(4000)  # past the 3600 s lifetime, server side
    hook.client.auth._expires_at = float("inf")  # the client still believes its token is fine
    assert list(hook.iter_records("Datastore_Country", select=["ID"]))
    assert hook.client.auth.tokens_fetched == 2
    assert state.counters()["tokens_issued"] == 2


def test_429_is_retried_after_the_servers_hint(tribe, monkeypatch):
    state, server = tribe
    state.rate_limit, state.rate_window_s = 5, 1.0
    state._limiters.clear()
    env = connection_env(server.url, "http://127.0.0.1:9", tribe_extra={"rate_limit": 100000, "rate_window_s": 1})
    monkeypatch.setenv("AIRFLOW_CONN_TRIBE_DEFAULT", env["AIRFLOW_CONN_TRIBE_DEFAULT"])
    hook = TribeCrmHook()
    for _ in range(12):
        hook.get("Datastore_Country", state.all("Datastore_Country")[0]["ID"])
    assert state.counters()["rate_limited"] >= 1


def test_client_side_pacing_avoids_429_at_the_published_rate(tribe, monkeypatch):
    state, server = tribe
    state.rate_limit, state.rate_window_s = 10, 1.0
    state._limiters.clear()
    env = connection_env(server.url, "http://127.0.0.1:9", tribe_extra={"rate_limit": 10, "rate_window_s": 1})
    monkeypatch.setenv("AIRFLOW_CONN_TRIBE_DEFAULT", env["AIRFLOW_CONN_TRIBE_DEFAULT"])
    hook = TribeCrmHook()
    country = state.all("Datastore_Country")[0]["ID"]
    for _ in range(25):
        hook.get("Datastore_Country", country)
    assert state.counters()["rate_limited"] <= 1  # unpaced, most of them would be 429s; a stray one is jitter (server and client share a GIL)


def test_4xx_is_fatal_and_carries_the_servers_message(tribe):
    hook = TribeCrmHook()
    with pytest.raises(ApiClientError) as info:
        hook.create("Relation_Organization", {"Website": "https://x.example"})
    assert info.value.status == 400 and "Name" in info.value.message
    with pytest.raises(NotFoundError):
        hook.get("Relation_Organization", "00000000-0000-0000-0000-000000000000")


def test_5xx_on_reads_is_retried(tribe, monkeypatch):
    from functools import partial

    from tenacity import wait_none

    from tribe_operators.http.retry import build_retrying
    from tribe_operators.systems.tribe import hook as tribe_hook_module

    state, _ = tribe
    # The retries happen as configured; the back-off between them is not under test here.
    monkeypatch.setattr(tribe_hook_module, "build_retrying", partial(build_retrying, wait=wait_none()))
    state.faults.update({"error_5xx": 0.5, "seed": 7})
    hook = TribeCrmHook()
    rows = [r for _ in range(10) for r in hook.iter_records("Datastore_Country", select=["ID"])]
    assert rows and state.faults.injected.get("error_5xx", 0) > 0


def test_a_lost_create_response_is_ambiguous_not_retried(tribe):
    state, _ = tribe
    hook = TribeCrmHook()
    hook.client.auth.token()
    state.faults.update({"lost_response": 1.0, "paths": ["Relation_Organization"]})
    with pytest.raises(AmbiguousWriteError):
        hook.create("Relation_Organization", {"Name": "Maybe BV", "ImportId": "x:1"})
    state.faults.clear()
    assert [o["Name"] for o in state.all("Relation_Organization")].count("Maybe BV") == 1  # it landed, once
    found = hook.find_by("Relation_Organization", "ImportId", ["x:1"])
    assert len(found) == 1


def test_find_by_chains_or_filters_and_quotes_literals(tribe):
    state, _ = tribe
    _orgs(state, 60)
    state.insert("Relation_Organization", {"Name": "O'Neill & Zn", "DebtorNumber": "x'1"})
    hook = TribeCrmHook()
    found = hook.find_by("Relation_Organization", "DebtorNumber", [str(10000 + i) for i in range(50)] + ["x'1"])
    assert len(found) == 51
    assert odata_literal("O'Neill") == "'O''Neill'"


def test_token_is_masked_for_airflow_logs(tribe):
    from airflow.sdk.log import redact

    hook = TribeCrmHook()
    token = hook.client.auth.token()
    assert token not in str(redact(f"Authorization: Bearer {token}"))
    assert "tribe-secret" not in str(redact("secret is tribe-secret"))
