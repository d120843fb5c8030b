"""PowerOfficeHook against the real PowerOffice simulator over HTTP (traffic checked against
the vendor OpenAPI file by the ``sims`` fixture).

These fail if the simulator stops paging, stops expiring tokens or stops answering 429 —
and if the hook stops coping with any of them.
"""
from __future__ import annotations

import pytest

from tests.fixtures.simulators import connection_env
from tribe_operators.exceptions import ApiClientError, FatalError, NotFoundError
from tribe_operators.systems.poweroffice.hook import PowerOfficeHook


def _hook(sims, monkeypatch, **extra):
    env = connection_env(sims.tribe_url, sims.po_url, po_extra=extra)
    monkeypatch.setenv("AIRFLOW_CONN_POWEROFFICE_DEFAULT", env["AIRFLOW_CONN_POWEROFFICE_DEFAULT"])
    return PowerOfficeHook()


def _customers(sims, n):
    for i in range(n):
        sims.po.insert_customer(Name=f"Kunde {i:03d} AS")


def test_pages_until_the_end(sims, monkeypatch):
    _customers(sims, 120)
    hook = _hook(sims, monkeypatch, page_size=50)
    sims.po.reset_counters()
    pages = list(hook.iter_pages("Customers"))
    assert [len(p) for p in pages] == [50, 50, 20]
    assert len({r["Id"] for p in pages for r in p}) == 120
    assert sims.po.counters()["calls"].get("GET Customers") == 3


def test_an_empty_list_is_204_and_yields_nothing(sims, monkeypatch):
    hook = _hook(sims, monkeypatch)
    assert list(hook.iter_records("Customers", {"externalImportReference": "nobody"})) == []


def test_expired_token_is_renewed(sims, monkeypatch):
    _customers(sims, 3)
    hook = _hook(sims, monkeypatch)
    assert len(list(hook.iter_records("Customers"))) == 3
    sims.po.clock.advance(1300)  # past the 20-minute lifetime, server side
    hook.client.auth._expires_at = float("inf")  # the client still believes its token is fine
    assert len(list(hook.iter_records("Customers"))) == 3
    assert hook.client.auth.tokens_fetched == 2


def test_429_is_retried(sims, monkeypatch):
    hook = _hook(sims, monkeypatch, rate_per_second=1000)  # pacing off: we *want* 429s
    for _ in range(25):
        hook.get("Customers", sims.po.insert_customer(Name="X AS")["Id"])
    assert sims.po.counters()["rate_limited"] >= 1


def test_pacing_stays_under_ten_per_second(sims, monkeypatch):
    customer = sims.po.insert_customer(Name="Pace AS")
    hook = _hook(sims, monkeypatch)
    for _ in range(30):
        hook.get("Customers", customer["Id"])
    assert sims.po.counters()["rate_limited"] <= 1  # unpaced, most of them would be 429s; a stray one is jitter (server and client share a GIL)


def test_create_patch_and_the_servers_own_error_message(sims, monkeypatch):
    hook = _hook(sims, monkeypatch)
    body = {"Name": "Ny Kunde AS", "ExternalImportReference": "tribe:abc",
            "MailAddress": {"AddressLine1": "Storgata 1", "ZipCode": "0155", "City": "Oslo", "CountryCode": "NO"}}
    created = hook.create("Customers", body)
    assert created["Id"] and created["Number"] >= 10000
    patched = hook.patch("Customers", created["Id"], {"Name": "Omdøpt AS", "EmailAddress": "post@omdopt.no"})
    assert (patched["Name"], patched["EmailAddress"]) == ("Omdøpt AS", "post@omdopt.no")
    with pytest.raises(ApiClientError) as info:
        hook.create("Customers", body)
    assert info.value.status == 400 and "ExternalImportReference" in info.value.message
    with pytest.raises(NotFoundError):
        hook.get("Customers", 999999999)


def test_connection_without_subscription_key_is_refused_early(sims, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_POWEROFFICE_DEFAULT",
                       f'{{"conn_type": "poweroffice_go", "host": "{sims.po_url}", "login": "a", "password": "b"}}')
    with pytest.raises(FatalError, match="subscription_api_key"):
        _ = PowerOfficeHook().client


def test_unknown_extras_are_an_error_not_a_header(sims, monkeypatch):
    hook = _hook(sims, monkeypatch, x_custom_header="1")
    with pytest.raises(FatalError, match="unknown extra"):
        _ = hook.client


def test_subscription_key_and_token_are_masked(sims, monkeypatch):
    from airflow.sdk.log import redact

    hook = _hook(sims, monkeypatch)
    token = hook.client.auth.token()
    text = str(redact(f"token={token} key=po-subscription-key client=po-client-key"))
    assert token not in text and "po-subscription-key" not in text and "po-client-key" not in text
