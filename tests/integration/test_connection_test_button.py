"""The connections list's **Test** button, without a browser: Airflow's own API server app (in this
process, its plugins loaded as the API server loads them, a real token) gets exactly the requests
Airflow 3.3.2's UI sends — a connection saved as the Add form saves it (no port: the field is
hidden), then Test as the list row posts it (``port: Number(connection.port)``, which is ``0``
for a null port; the secrets as the API answered them, masked ``***``) — against the simulators.

Before the fix every one of these answered 400 "The host or port to test differs from the stored
connection" while the same test with the real secrets in the body (the REST API's way) passed.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.odoo.clients import OdooServer
from tests.fixtures.airflow_env import api_server_client
from sandbox.odoo.state import ADMIN_LOGIN, DEFAULT_API_KEY
from tribe_operators.provider import connection_types

pytestmark = [pytest.mark.airflow]
PASSWORD = "admin-pw-1"


@pytest.fixture(scope="module")
def airflow_app(airflow_db, tmp_path_factory) -> Iterator[Any]:
    """Airflow's API server app, Test enabled as in the compose file, with an Admin ``admin``."""
    with api_server_client(tmp_path_factory.mktemp("auth"), {"admin": ("admin", PASSWORD)},
                           AIRFLOW__CORE__TEST_CONNECTION="Enabled") as client:
        answer = client.post("/auth/token", json={"username": "admin", "password": PASSWORD})
        assert answer.status_code == 201, answer.text
        client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        yield client


@pytest.fixture
def systems(sims) -> Iterator[dict[str, tuple[str, str, str, dict[str, Any]]]]:
    """``{conn_type: (host, login, secret, extras)}`` of each simulator (Exact: its own test below)."""
    with OdooServer(version=18) as odoo:
        yield {"tribe_crm": (sims.tribe_url, "tribe-sync", "tribe-secret", {}),
               "poweroffice_go": (sims.po_url, "po-app-key", "po-client-key",
                                  {"subscription_api_key": "po-subscription-key"}),
               "odoo": (odoo.url, ADMIN_LOGIN, DEFAULT_API_KEY, {"database": odoo.db})}


def save_as_the_add_form(client: Any, conn_id: str, conn_type: str, host: str, login: str, secret: str,
                         extras: dict[str, Any]) -> None:
    """``POST /connections`` as the Add dialog sends it: empty fields left out (port and schema are
    hidden), every extra field of the form with its default or null."""
    fields = connection_types()[conn_type]["conn-fields"]
    extra = {name: spec["schema"].get("default") for name, spec in fields.items()} | extras
    answer = client.post("/api/v2/connections", json={
        "connection_id": conn_id, "conn_type": conn_type, "host": host, "login": login, "password": secret,
        "extra": json.dumps(extra)})
    assert answer.status_code == 201, answer.text


def press_test(client: Any, conn_id: str) -> Any:
    """What the row's Test button posts (Airflow 3.3.2, ``TestConnectionButton``): the connection as
    the list answered it (secrets masked), ``?? ""`` for null texts and ``Number(port)`` for the port."""
    rows = client.get("/api/v2/connections", params={"connection_id_pattern": conn_id}).json()["connections"]
    saved = next(row for row in rows if row["connection_id"] == conn_id)
    assert saved["port"] is None and saved["password"] == "***"
    body = {"conn_type": saved["conn_type"], "connection_id": conn_id,
            "description": saved["description"] if saved["description"] is not None else "",
            "extra": saved["extra"] if saved["extra"] not in ("", None) else "{}",
            "host": saved["host"] or "", "login": saved["login"] or "", "password": saved["password"] or "",
            "port": 0,  # Number(null)
            "schema": saved["schema"] or ""}
    return client.post("/api/v2/connections/test", json=body)


@pytest.fixture
def saved(airflow_app) -> Iterator[list[str]]:
    """Connection ids to delete after the test."""
    ids: list[str] = []
    yield ids
    for conn_id in ids:
        airflow_app.delete(f"/api/v2/connections/{conn_id}")


SUCCESS = {"tribe_crm": "token obtained for client id 'tribe-sync'",
           "poweroffice_go": "token obtained for application key 'po-app-key'",
           "odoo": "logged in, "}
REFUSED = {"tribe_crm": "Tribe CRM refused the Client ID or Client secret: token request refused (401)",
           "poweroffice_go": "PowerOffice Go refused the Application key, Client key or Subscription key: "
                             "token request refused (400): Client integration not found",
           "odoo": "Odoo refused 'admin' on database"}


@pytest.mark.parametrize("conn_type", list(SUCCESS))
def test_test_on_a_saved_connection_talks_to_the_vendor(airflow_app, systems, saved, conn_type):
    host, login, secret, extras = systems[conn_type]
    conn_id = f"button_{conn_type}"
    save_as_the_add_form(airflow_app, conn_id, conn_type, host, login, secret, extras)
    saved.append(conn_id)
    answer = press_test(airflow_app, conn_id)
    assert answer.status_code == 200, answer.text  # was 400: port 0 taken for another endpoint
    assert answer.json()["status"] is True and SUCCESS[conn_type] in answer.json()["message"], answer.json()

    # A wrong secret saved (the Edit dialog's PATCH of the password only): Test fails, saying which.
    patched = airflow_app.patch(f"/api/v2/connections/{conn_id}", params={"update_mask": "password"},
                                json={"connection_id": conn_id, "conn_type": conn_type, "password": "not-the-secret"})
    assert patched.status_code == 200, patched.text
    answer = press_test(airflow_app, conn_id)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] is False and answer.json()["message"].startswith(REFUSED[conn_type]), answer.json()


@pytest.mark.postgres
def test_exact_online_asks_current_me_with_the_stored_token_and_never_renews(airflow_app, saved, link_db,
                                                                            monkeypatch):
    """Before the one-time authorization Test says so; after it, Test signs in with the stored
    token through ``current/Me`` (not rate-counted) and spends no token call (Exact allows a new
    token only every 570 s: a Test that renewed would make the next task wait)."""
    import requests
    from cryptography.fernet import Fernet

    from sandbox.exact.clients import REDIRECT_URI, ExactServer
    from tribe_operators.systems.exact.authorize import ExactAuthorization
    from tribe_operators.systems.exact.hook import ExactOnlineHook

    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", Fernet.generate_key().decode())
    with ExactServer() as exact:
        save_as_the_add_form(airflow_app, "button_exact", "exact_online", exact.url, exact.state.client_id,
                             exact.state.client_secret, {"redirect_uri": REDIRECT_URI})
        saved.append("button_exact")
        before = press_test(airflow_app, "button_exact").json()
        assert before["status"] is False and "authorize the app first" in before["message"], before
        monkeypatch.setenv("AIRFLOW_CONN_BUTTON_EXACT", json.dumps({  # for this process's own hook
            "conn_type": "exact_online", "host": exact.url, "login": exact.state.client_id,
            "password": exact.state.client_secret, "extra": {"redirect_uri": REDIRECT_URI}}))
        flow = ExactAuthorization(ExactOnlineHook("button_exact"))
        landed = requests.get(flow.url(), allow_redirects=False, timeout=10).headers["Location"]
        flow.complete(landed)
        calls = exact.state.counters()["token_calls"]
        answer = press_test(airflow_app, "button_exact")
        assert answer.json() == {"status": True, "message": "signed in as Tribe Sync, division 100001"}, answer.json()
        assert exact.state.counters()["token_calls"] == calls  # no renewal


def test_stored_secrets_still_go_only_to_the_stored_endpoint(airflow_app, systems, saved):
    """The fix reads port 0 as no port, nothing more: Airflow still refuses to send the stored
    (masked) secrets to another host, or to a port the connection does not have."""
    host, login, secret, extras = systems["tribe_crm"]
    save_as_the_add_form(airflow_app, "button_elsewhere", "tribe_crm", host, login, secret, extras)
    saved.append("button_elsewhere")
    body = {"connection_id": "button_elsewhere", "conn_type": "tribe_crm", "login": login, "password": "***",
            "extra": "{}"}
    for changed in ({"host": "http://attacker.test", "port": 0}, {"host": host, "port": 8443}):
        answer = airflow_app.post("/api/v2/connections/test", json={**body, **changed})
        assert answer.status_code == 400, (changed, answer.text)
        assert "differs from the stored connection" in answer.text
