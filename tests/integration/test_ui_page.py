"""The tribe-sync page and its actions, through Airflow's own API server app (in this process):
its real simple auth manager, tokens from its ``/auth/token``, the plugin mounted as Airflow
mounts it; the link database is real PostgreSQL, runs are really started in the metadata DB."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tribe_operators.store.ledger import ExportLedger
from tribe_operators.store.outcomes import record_outcome
from tribe_operators.store.quarantine import Quarantine
from tribe_operators.store.runs import record_step
from tribe_operators.store.watermarks import Watermarks

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
PASSWORDS = {"admin": "admin-pw-1", "viewer": "viewer-pw-1"}


@pytest.fixture(scope="module")
def airflow_app(airflow_db, serialized_dags, tmp_path_factory):
    """Airflow's API server app with users ``admin`` (Admin) and ``viewer`` (Viewer)."""
    passwords = tmp_path_factory.mktemp("auth") / "passwords.json"
    passwords.write_text(json.dumps(PASSWORDS))
    patch = pytest.MonkeyPatch()
    for key, value in {"AIRFLOW__CORE__AUTH_MANAGER":
                       "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
                       "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,viewer:viewer",
                       "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
                       "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords)}.items():
        patch.setenv(key, value)
    from airflow.api_fastapi import app as api_app
    from fastapi.testclient import TestClient

    api_app.purge_cached_app()
    with TestClient(api_app.create_app(), base_url="http://airflow.test") as client:
        yield client
    api_app.purge_cached_app()
    patch.undo()


def token(client, user):
    response = client.post("/auth/token", json={"username": user, "password": PASSWORDS[user]})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def recorded(link_db):
    """What two runs of poweroffice_to_tribe and one invoice run leave in the link database."""
    now = datetime.now(UTC)
    for i, run_id in enumerate(("scheduled__1", "scheduled__2")):
        at = now - timedelta(minutes=30 - 15 * i)
        record_step(link_db, run_id=run_id, dag_id="poweroffice_to_tribe", integration="poweroffice",
                    stream="customers", step="extract", counts={"extracted": 40 + i}, started_at=at)
        record_step(link_db, run_id=run_id, dag_id="poweroffice_to_tribe", integration="poweroffice",
                    stream="customers", step="map", counts={"mapped": 38, "quarantined": 2}, started_at=at)
        record_step(link_db, run_id=run_id, dag_id="poweroffice_to_tribe", integration="poweroffice",
                    stream="customers", step="load", counts={"created": 30 - 20 * i, "updated": 8}, started_at=at)
    Quarantine(link_db, "poweroffice").add(
        [{"record_id": "10023", "field": "CountryCode", "reason": "country 'XX' is not one of Tribe's",
          "payload": {"Name": "Fjord Consulting AS"}},
         {"record_id": "10024", "field": "EmailAddress", "reason": "not an e-mail address: 'post@'"}],
        system="poweroffice", stream="customers", run_id="scheduled__2")
    ledger = ExportLedger(link_db, "poweroffice")
    ledger.claim("inv-1", "tribe:inv-1", "2026000007")
    ledger.mark_created("inv-1", "8812")
    record_outcome(link_db, run_id="manual__3", dag_id="tribe_invoices_to_poweroffice", integration="poweroffice",
                   scope="default", tribe_id="inv-1", status="draft", number="2026000007",
                   customer="Nordlys Regnskap AS", amount="1250.00", currency="NOK", external_id="8812")
    Watermarks(link_db, "poweroffice").advance("customers", "import", now - timedelta(minutes=15), "scheduled__2")
    return {q["record_id"]: q["id"] for q in Quarantine(link_db, "poweroffice").open("customers")}


def test_no_data_without_a_login(airflow_app, recorded):
    for method, path in (("GET", "/tribe-sync/ui/"), ("GET", "/tribe-sync/ui/api/poweroffice"),
                         ("POST", f"/tribe-sync/ui/api/quarantine/{recorded['10023']}/retry"),
                         ("POST", f"/tribe-sync/ui/api/quarantine/{recorded['10023']}/dismiss")):
        response = airflow_app.request(method, path, json={})
        assert response.status_code == 401, (method, path, response.status_code)
        forged = airflow_app.request(method, path, json={}, headers={"Authorization": "Bearer not-a-token"})
        assert forged.status_code in (401, 403), (method, path, forged.status_code)
    assert airflow_app.get("/tribe-sync/ui/static/icon.svg").status_code == 200  # the nav icon only


def test_the_page_shows_runs_quarantine_ledger_watermarks_and_settings(airflow_app, recorded):
    page = airflow_app.get("/tribe-sync/ui/?integration=poweroffice", headers=token(airflow_app, "viewer"))
    assert page.status_code == 200
    html = page.text
    assert html.count('<g class="run"') == 3  # two import runs and the invoice run, as bars
    assert 'data-quarantine="' in html and "country &#39;XX&#39; is not one of Tribe&#39;s" in html
    assert "Fjord Consulting AS" in html and "Nordlys Regnskap AS" in html and "1,250.00 NOK" in html
    assert "scheduled__2" in html and '"invoice_mode"' in html  # watermark by run; effective settings
    data = airflow_app.get("/tribe-sync/ui/api/poweroffice", headers=token(airflow_app, "viewer")).json()
    last = data["runs"][1]
    assert last["counts"] == {"extracted": 41, "created": 10, "updated": 8, "quarantined": 2}
    assert {q["record_id"] for q in data["quarantine"]} == {"10023", "10024"}
    assert data["ledger"][0]["customer"] == "Nordlys Regnskap AS"
    assert airflow_app.get("/tribe-sync/ui/api/exact", headers=token(airflow_app, "viewer")).status_code == 404


def test_retry_now_starts_a_run_that_reads_the_record_first(airflow_app, recorded, link_db):
    from airflow.models import DagRun
    from airflow.utils.session import create_session

    viewer = airflow_app.post(f"/tribe-sync/ui/api/quarantine/{recorded['10023']}/retry", json={},
                              headers=token(airflow_app, "viewer"))
    assert viewer.status_code == 403  # a Viewer may look, not start runs
    form = airflow_app.post(f"/tribe-sync/ui/api/quarantine/{recorded['10023']}/retry", data={"x": "1"},
                            headers=token(airflow_app, "admin"))
    assert form.status_code == 422  # only a JSON body: a cross-site form cannot act with the cookie
    response = airflow_app.post(f"/tribe-sync/ui/api/quarantine/{recorded['10023']}/retry", json={},
                                headers=token(airflow_app, "admin"))
    assert response.status_code == 200, response.text
    started = response.json()
    assert started["dag_id"] == "poweroffice_to_tribe"
    with create_session() as session:
        run = session.query(DagRun).filter_by(dag_id="poweroffice_to_tribe", run_id=started["run_id"]).one()
        assert run.conf["retry_records"] == {"customers": ["10023"]} and run.triggering_user_name == "admin"
        session.delete(run)


def test_dismiss_stops_the_retries_and_says_who(airflow_app, recorded, link_db):
    headers = token(airflow_app, "admin")
    response = airflow_app.post(f"/tribe-sync/ui/api/quarantine/{recorded['10024']}/dismiss", json={},
                                headers=headers)
    assert response.json() == {"status": "dismissed", "record_id": "10024", "dismissed_by": "admin"}
    open_now = {q["record_id"] for q in Quarantine(link_db, "poweroffice").open("customers")}
    assert open_now == {"10023"}  # the extract step retries open rows only: this one is no longer retried
    again = airflow_app.post(f"/tribe-sync/ui/api/quarantine/{recorded['10024']}/dismiss", json={}, headers=headers)
    assert again.json()["status"] == "already closed"


def test_a_row_of_no_recorded_run_is_acted_on_only_by_who_may_start_any_run(airflow_app, recorded, link_db):
    """Its DAG is unknown, so no DAG's permission can be asked: a Viewer is refused, an Admin may
    dismiss it (Retry now has no DAG to start and says so)."""
    Quarantine(link_db, "poweroffice").add([{"record_id": "10031", "field": "Name", "reason": "is empty"}],
                                           system="poweroffice", stream="customers", run_id="gone__1")
    row_id = {q["record_id"]: q["id"] for q in Quarantine(link_db, "poweroffice").open("customers")}["10031"]
    url = f"/tribe-sync/ui/api/quarantine/{row_id}"
    assert airflow_app.post(f"{url}/dismiss", json={}, headers=token(airflow_app, "viewer")).status_code == 403
    retry = airflow_app.post(f"{url}/retry", json={}, headers=token(airflow_app, "admin"))
    assert retry.status_code == 409 and "unknown" in retry.json()["detail"]
    dismissed = airflow_app.post(f"{url}/dismiss", json={}, headers=token(airflow_app, "admin"))
    assert dismissed.json()["status"] == "dismissed"


def test_counts_are_the_whole_even_when_the_page_lists_the_latest_only(airflow_app, recorded, link_db):
    from tribe_operators.ui.data import QUARANTINE_SHOWN

    many = QUARANTINE_SHOWN + 5
    Quarantine(link_db, "poweroffice").add(
        [{"record_id": str(20000 + i), "field": "Name", "reason": "is empty"} for i in range(many)],
        system="poweroffice", stream="suppliers", run_id="scheduled__2")
    total = many + 2  # and the fixture's two customers
    page = airflow_app.get("/tribe-sync/ui/?integration=poweroffice", headers=token(airflow_app, "viewer")).text
    assert page.count("<tr data-quarantine=") == QUARANTINE_SHOWN
    assert f"<b>{total}</b>open in quarantine" in page
    assert f"({total} open; the latest {QUARANTINE_SHOWN} listed)" in page
    data = airflow_app.get("/tribe-sync/ui/api/poweroffice", headers=token(airflow_app, "viewer")).json()
    assert data["totals"] == {"quarantine_open": total, "ledger": 1} and len(data["quarantine"]) == QUARANTINE_SHOWN
