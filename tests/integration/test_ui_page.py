"""The tribe-sync page and its actions, through Airflow's own API server app (in this process):
its real simple auth manager, tokens from its ``/auth/token``, the plugin mounted as Airflow
mounts it; the link database is real PostgreSQL, runs are really started in the metadata DB."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.fixtures.airflow_env import api_server_client
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
    # _AIRFLOW_PROCESS_CONTEXT: what the API server's entry point (airflow.api_fastapi.main) sets:
    # Variables are read from the metadata DB here, as in the real server.
    users = {"admin": ("admin", PASSWORDS["admin"]), "viewer": ("viewer", PASSWORDS["viewer"])}
    with api_server_client(tmp_path_factory.mktemp("auth"), users, _AIRFLOW_PROCESS_CONTEXT="server") as client:
        yield client


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
    for method, path in (("GET", "/tribe-sync/"), ("GET", "/tribe-sync/api/poweroffice"),
                         ("POST", f"/tribe-sync/api/quarantine/{recorded['10023']}/retry"),
                         ("POST", f"/tribe-sync/api/quarantine/{recorded['10023']}/dismiss")):
        response = airflow_app.request(method, path, json={})
        assert response.status_code == 401, (method, path, response.status_code)
        forged = airflow_app.request(method, path, json={}, headers={"Authorization": "Bearer not-a-token"})
        assert forged.status_code in (401, 403), (method, path, forged.status_code)
    assert airflow_app.get("/tribe-sync/static/icon.svg").status_code == 200  # the nav icon only


def test_the_page_shows_runs_quarantine_ledger_watermarks_and_settings(airflow_app, recorded):
    page = airflow_app.get("/tribe-sync/?integration=poweroffice", headers=token(airflow_app, "viewer"))
    assert page.status_code == 200
    html = page.text
    assert html.count('<g class="run"') == 3  # two import runs and the invoice run, as bars
    assert 'data-quarantine="' in html and "country &#39;XX&#39; is not one of Tribe&#39;s" in html
    assert "Fjord Consulting AS" in html and "Nordlys Regnskap AS" in html and "1,250.00 NOK" in html
    assert "scheduled__2" in html and 'data-setting="invoice_mode" data-source="file"' in html  # watermark; settings
    data = airflow_app.get("/tribe-sync/api/poweroffice", headers=token(airflow_app, "viewer")).json()
    last = data["runs"][1]
    assert last["counts"] == {"extracted": 41, "created": 10, "updated": 8, "quarantined": 2}
    assert {q["record_id"] for q in data["quarantine"]} == {"10023", "10024"}
    assert data["ledger"][0]["customer"] == "Nordlys Regnskap AS"
    assert airflow_app.get("/tribe-sync/api/no_such_system", headers=token(airflow_app, "viewer")).status_code == 404


def test_retry_now_starts_a_run_that_reads_the_record_first(airflow_app, recorded, link_db):
    from airflow.models import DagRun
    from airflow.utils.session import create_session

    viewer = airflow_app.post(f"/tribe-sync/api/quarantine/{recorded['10023']}/retry", json={},
                              headers=token(airflow_app, "viewer"))
    assert viewer.status_code == 403  # a Viewer may look, not start runs
    form = airflow_app.post(f"/tribe-sync/api/quarantine/{recorded['10023']}/retry", data={"x": "1"},
                            headers=token(airflow_app, "admin"))
    assert form.status_code == 422  # only a JSON body: a cross-site form cannot act with the cookie
    response = airflow_app.post(f"/tribe-sync/api/quarantine/{recorded['10023']}/retry", json={},
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
    response = airflow_app.post(f"/tribe-sync/api/quarantine/{recorded['10024']}/dismiss", json={},
                                headers=headers)
    assert response.json() == {"status": "dismissed", "record_id": "10024", "dismissed_by": "admin"}
    open_now = {q["record_id"] for q in Quarantine(link_db, "poweroffice").open("customers")}
    assert open_now == {"10023"}  # the extract step retries open rows only: this one is no longer retried
    again = airflow_app.post(f"/tribe-sync/api/quarantine/{recorded['10024']}/dismiss", json={}, headers=headers)
    assert again.json()["status"] == "already closed"


def test_a_row_of_no_recorded_run_is_acted_on_only_by_who_may_start_any_run(airflow_app, recorded, link_db):
    """Its DAG is unknown, so no DAG's permission can be asked: a Viewer is refused, an Admin may
    dismiss it (Retry now has no DAG to start and says so)."""
    Quarantine(link_db, "poweroffice").add([{"record_id": "10031", "field": "Name", "reason": "is empty"}],
                                           system="poweroffice", stream="customers", run_id="gone__1")
    row_id = {q["record_id"]: q["id"] for q in Quarantine(link_db, "poweroffice").open("customers")}["10031"]
    url = f"/tribe-sync/api/quarantine/{row_id}"
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
    page = airflow_app.get("/tribe-sync/?integration=poweroffice", headers=token(airflow_app, "viewer")).text
    assert page.count(' data-quarantine="') == QUARANTINE_SHOWN  # a line per record listed (in its group)
    assert f"<b>{total}</b>open in quarantine" in page
    assert f"({total} open; the latest {QUARANTINE_SHOWN} listed)" in page
    data = airflow_app.get("/tribe-sync/api/poweroffice", headers=token(airflow_app, "viewer")).json()
    assert data["totals"] == {"quarantine_open": total, "ledger": 1} and len(data["quarantine"]) == QUARANTINE_SHOWN


# --- issue 23: the page a newcomer understands (item 6) and its decisions (items 1, 2) ---------

UNIT = "PowerOffice unit 'MON' is not mapped; add it to 'unit_map' in the settings"


def groups_in(html):
    """``data-group`` → that group's HTML (one ``<tbody class="group">`` each)."""
    import re

    return dict(re.findall(r'<tbody class="group" data-group="(\w+)".*?>(.*?)</tbody>', html, re.S))


def test_the_page_lives_at_one_clean_address(airflow_app, recorded):
    viewer = token(airflow_app, "viewer")
    assert airflow_app.get("/tribe-sync/", headers=viewer).status_code == 200
    assert airflow_app.get("/tribe-sync/ui/", headers=viewer).status_code == 404  # the old address is gone
    # Airflow's navigation links the page itself (no url_route: nothing embeds it under /plugin/…)
    plugins = airflow_app.get("/api/v2/plugins", headers=token(airflow_app, "admin")).json()["plugins"]
    (view,) = next(p for p in plugins if p["name"] == "tribe_sync")["external_views"]
    assert view["href"] == "/tribe-sync/" and view.get("url_route") is None and view["destination"] == "nav"
    # The webhook receiver keeps its address under it (its app answers there, not the page's).
    assert airflow_app.get("/tribe-sync/webhooks/tribe").status_code == 405
    assert airflow_app.post("/tribe-sync/webhooks/nothing").status_code == 404  # no such sender


def test_the_dag_list_shows_each_schedule_in_words_with_its_timezone(airflow_app):
    """What Airflow's DAG list reads (``timetable_summary``, tooltip ``timetable_description``)."""
    admin = token(airflow_app, "admin")
    odoo = airflow_app.get("/api/v2/dags/odoo_to_tribe/details", headers=admin).json()
    assert odoo["timetable_summary"] == "At 02:00, Europe/Amsterdam"
    assert odoo["timetable_description"] == "At 02:00, Europe/Amsterdam time (cron 0 2 * * *, data intervals)"
    assert odoo["description"].startswith("Odoo → Tribe, nightly: customer / supplier companies → organisations")
    dags = airflow_app.get("/api/v2/dags", params={"tags": "tribe-sync", "limit": 50}, headers=admin).json()["dags"]
    assert all(d["description"] and d["timetable_summary"].endswith((", UTC", ", Europe/Amsterdam")) for d in dags)


def test_the_page_opens_on_the_integration_that_ran_last_and_counts_its_invoices(airflow_app, recorded, link_db):
    """An invoice run writes export_outcome rows, no sync_run: it still is the last run."""
    record_step(link_db, run_id="scheduled__o1", dag_id="odoo_to_tribe", integration="odoo", stream="customers",
                step="load", counts={"created": 3}, started_at=datetime.now(UTC))
    for tribe_id, status in (("inv-2", "booked"), ("inv-3", "draft"), ("inv-4", "failed")):
        record_outcome(link_db, run_id="manual__4", dag_id="tribe_invoices_to_poweroffice", integration="poweroffice",
                       scope="default", tribe_id=tribe_id, status=status, number=tribe_id)
    html = airflow_app.get("/tribe-sync/", headers=token(airflow_app, "viewer")).text
    assert 'class="on" data-integration="poweroffice"' in html  # not odoo, whose sync step came later
    tile = html.split('data-tile="last"', 1)[1].split("</div></div>", 1)[0]
    assert '<b>2 / 1</b>invoices exported / failed, last run' in tile
    assert 'href="/dags/tribe_invoices_to_poweroffice/runs/manual__4"' in tile
    record_step(link_db, run_id="scheduled__o2", dag_id="odoo_to_tribe", integration="odoo", stream="customers",
                step="load", counts={"created": 4, "updated": 1}, started_at=datetime.now(UTC))
    html = airflow_app.get("/tribe-sync/", headers=token(airflow_app, "viewer")).text
    assert 'class="on" data-integration="odoo"' in html and "<b>4 / 1</b>created / updated, last run" in html


def test_open_quarantine_is_grouped_by_reason_with_a_count(airflow_app, recorded, link_db):
    action = {"kind": "unmapped_code", "setting": "unit_map", "code": "MON",
              "variable": "tribe_sync_poweroffice_settings"}
    Quarantine(link_db, "poweroffice").add(
        [{"record_id": str(3000000 + i), "field": "UnitOfMeasureCode", "reason": UNIT, "action": action}
         for i in range(15)], system="poweroffice", stream="products", run_id="scheduled__2")
    html = airflow_app.get("/tribe-sync/?integration=poweroffice", headers=token(airflow_app, "viewer")).text
    groups = groups_in(html)
    assert len(groups) == 3  # 15 products for one reason, two customers for two reasons
    (units,) = [g for g in groups.values() if "UnitOfMeasureCode" in g]
    assert units.count('class="group-head"') == 1 and '<b class="count">15</b> records' in units
    assert units.count('<tr class="record" data-quarantine=') == 15 and units.count(" hidden>") == 15
    assert units.count("Retry now") == 15 and "Retry all" in units and "Dismiss all" in units
    assert 'data-setting="unit_map" data-code="MON"' in units and "Map it" in units
    data = airflow_app.get("/tribe-sync/api/poweroffice", headers=token(airflow_app, "viewer")).json()
    (group,) = [g for g in data["quarantine_groups"] if g["stream"] == "products"]
    assert group["count"] == 15 and len(group["rows"]) == 15 and group["action"] == action
    assert {r["record_id"] for r in group["rows"]} == {str(3000000 + i) for i in range(15)}


def test_a_held_record_is_shown_as_coming_from_its_own_system(airflow_app, recorded, link_db):
    """A PowerOffice customer held back by duplicates in Tribe: from poweroffice, fix it in tribe."""
    Quarantine(link_db, "poweroffice").add(
        [{"record_id": "5000203", "field": "DebtorNumber", "action": {"kind": "held", "at_fault": "tribe"},
          "reason": "DebtorNumber 10202 matches 2 Relation_Organization records; merge the duplicates in tribe"}],
        system="poweroffice", stream="customers", run_id="scheduled__2")
    html = airflow_app.get("/tribe-sync/?integration=poweroffice", headers=token(airflow_app, "viewer")).text
    (held,) = [g for g in groups_in(html).values() if "5000203" in g]
    assert '<span class="system" data-system="poweroffice">poweroffice</span> · customers' in held
    assert "held: fix it in tribe" in held and 'data-system="tribe"' not in held


def test_retry_now_answers_with_a_link_to_the_run_in_airflow(airflow_app, recorded):
    from urllib.parse import quote

    admin = token(airflow_app, "admin")
    started = airflow_app.post(f"/tribe-sync/api/quarantine/{recorded['10023']}/retry", json={}, headers=admin).json()
    assert started["url"] == f"/dags/poweroffice_to_tribe/runs/{quote(started['run_id'], safe='')}"
    run = airflow_app.get(f"/api/v2/dags/poweroffice_to_tribe/dagRuns/{quote(started['run_id'], safe='')}",
                          headers=admin)
    assert run.status_code == 200 and run.json()["conf"]["retry_records"] == {"customers": ["10023"]}
    assert airflow_app.delete(f"/api/v2/dags/poweroffice_to_tribe/dagRuns/{quote(started['run_id'], safe='')}",
                              headers=admin).status_code == 204


def test_the_settings_say_where_each_value_comes_from(airflow_app, recorded, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_POWEROFFICE_SETTINGS", json.dumps({"vat_map": {"NO12": "31"}}))
    html = airflow_app.get("/tribe-sync/?integration=poweroffice", headers=token(airflow_app, "viewer")).text
    assert 'data-setting="vat_map.NO12" data-source="variable"' in html
    assert 'data-setting="vat_map.NO25" data-source="file"' in html  # the Variable added a key, kept the rest
    assert "Variable tribe_sync_poweroffice_settings" in html
    data = airflow_app.get("/tribe-sync/api/poweroffice", headers=token(airflow_app, "viewer")).json()
    assert {"path": "vat_map.NO12", "value": "31", "source": "variable"} in data["settings"]
    assert {s["source"] for s in data["settings"]} >= {"file", "variable", "default"}


def test_retry_now_starts_a_run_that_lands_the_fixed_record_and_closes_its_row(airflow_app, sims, link_db):
    """Retry now, then the run it started run to its end: the record fixed at the source lands in
    Tribe and its quarantine row closes (checking the started run's conf alone proves neither)."""
    from pathlib import Path

    from airflow.dag_processing.dagbag import DagBag
    from airflow.models import DagRun
    from airflow.utils.session import create_session

    from tests.fixtures.records import OSLO, poweroffice_change

    dag_file = Path(__file__).resolve().parents[2] / "dags" / "poweroffice_to_tribe.py"
    dag = DagBag(dag_folder=str(dag_file)).dags["poweroffice_to_tribe"]
    customer = sims.po.insert_customer(Name="Epost Feil AS", MailAddress=OSLO, EmailAddress="post(at)epostfeil.no")
    assert str(dag.test(logical_date=datetime.now(UTC)).state).endswith("success")
    (row,) = Quarantine(link_db, "poweroffice").open("customers")
    assert row["record_id"] == str(customer["Id"]) and row["field"] == "EmailAddress"

    poweroffice_change(sims.po_url, "PATCH", f"Customers/{customer['Id']}",
                       [{"op": "replace", "path": "/EmailAddress", "value": "post@epostfeil.no"}])
    response = airflow_app.post(f"/tribe-sync/api/quarantine/{row['id']}/retry", json={},
                                headers=token(airflow_app, "admin"))
    assert response.status_code == 200, response.text
    started = response.json()
    with create_session() as session:  # the run the action started, as the scheduler would find it
        run = session.query(DagRun).filter_by(dag_id=started["dag_id"], run_id=started["run_id"]).one()
        conf = dict(run.conf)
        session.delete(run)  # dag.test() below runs it in this process, under a run id of its own
    assert started["dag_id"] == dag.dag_id
    retried = dag.test(logical_date=datetime.now(UTC), run_conf=conf)
    assert str(retried.state).endswith("success")
    assert Quarantine(link_db, "poweroffice").open("customers") == []
    (org,) = [o for o in sims.tribe.all("Relation_Organization") if o.get("Name") == "Epost Feil AS"]
    assert org.get("EmailAddress") == "post@epostfeil.no"


def _started(dag_id, run_id):
    """The run as Airflow's metadata DB has it (deleted: the next test starts clean)."""
    from airflow.models import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.query(DagRun).filter_by(dag_id=dag_id, run_id=run_id).one()
        found = {"conf": dict(run.conf), "user": run.triggering_user_name}
        session.delete(run)
    return found


def test_map_it_adds_one_key_to_the_variable_and_retries_every_record_held_for_it(airflow_app, recorded, link_db,
                                                                                    monkeypatch):
    from airflow.models.variable import Variable  # the metadata DB's, as the page's map it writes it

    monkeypatch.delenv("AIRFLOW_VAR_TRIBE_SYNC_POWEROFFICE_SETTINGS", raising=False)
    Variable.delete("tribe_sync_poweroffice_settings")  # the metadata DB outlives a session
    action = {"kind": "unmapped_code", "setting": "unit_map", "code": "MON", "reverse": False,
              "variable": "tribe_sync_poweroffice_settings"}
    products = [str(3000000 + i) for i in range(15)]
    Quarantine(link_db, "poweroffice").add(
        [{"record_id": p, "field": "UnitOfMeasureCode", "reason": UNIT, "action": action} for p in products],
        system="poweroffice", stream="products", run_id="scheduled__2")
    url, admin = "/tribe-sync/api/poweroffice/map-code", token(airflow_app, "admin")
    html = airflow_app.get("/tribe-sync/?integration=poweroffice", headers=admin).text
    choices = html.split('<datalist id="choices-', 1)[1].split("</datalist>", 1)[0]
    assert '<option value="EA">' in choices  # what unit_map already maps to, to pick from
    body = {"setting": "unit_map", "code": "MON", "target": "EA"}
    assert airflow_app.post(url, json=body, headers=token(airflow_app, "viewer")).status_code == 403
    assert airflow_app.post(url, data=body, headers=admin).status_code == 422  # a form: refused
    assert airflow_app.post(url, json={**body, "extra": 1}, headers=admin).status_code == 422
    assert airflow_app.post(url, json={"setting": "unit_map", "code": "MON"}, headers=admin).status_code == 422
    assert airflow_app.post(url, json={**body, "target": " "}, headers=admin).status_code == 409
    assert airflow_app.post(url, json={**body, "code": "XYZ"}, headers=admin).status_code == 409  # nothing held
    assert airflow_app.post("/tribe-sync/api/no_such_system/map-code", json=body, headers=admin).status_code == 404
    assert Variable.get("tribe_sync_poweroffice_settings", default_var=None) is None  # refused: nothing written
    try:
        response = airflow_app.post(url, json=body, headers=admin)
        assert response.status_code == 200, response.text
        done = response.json()
        assert done["variable"] == "tribe_sync_poweroffice_settings"
        assert done["added"] == {"unit_map": {"MON": "EA"}}
        assert json.loads(Variable.get("tribe_sync_poweroffice_settings")) == {"unit_map": {"MON": "EA"}}
        (run,) = done["runs"]
        assert run["dag_id"] == "poweroffice_to_tribe" and run["url"].startswith("/dags/poweroffice_to_tribe/runs/")
        started = _started("poweroffice_to_tribe", run["run_id"])
        assert sorted(started["conf"]["retry_records"]["products"]) == products and started["user"] == "admin"
        # The page now shows the key as the Variable's, the file's keys of the map as the file's.
        settings = airflow_app.get("/tribe-sync/api/poweroffice", headers=admin).json()["settings"]
        assert {"path": "unit_map.MON", "value": "EA", "source": "variable"} in settings
        assert {"path": "unit_map.PCS", "value": "EA", "source": "file"} in settings
    finally:
        Variable.delete("tribe_sync_poweroffice_settings")


def test_a_match_by_number_held_for_its_names_is_linked_anyway_or_created_new(airflow_app, recorded, link_db):
    from tribe_operators.store.match_decisions import MatchDecisions

    action = {"kind": "number_match", "key": "DebtorNumber 10066", "source_name": "Nordvik Bygg AS",
              "target_id": "org-77", "target_name": "Hansen Regnskap", "entity_set": "Relation_Organization"}
    Quarantine(link_db, "poweroffice").add(
        [{"record_id": "5000301", "field": "DebtorNumber", "action": action,
          "reason": "DebtorNumber 10066 matches Relation_Organization org-77 'Hansen Regnskap', whose name shares "
                    "nothing with 'Nordvik Bygg AS'"}], system="poweroffice", stream="customers", run_id="scheduled__2")
    row_id = {q["record_id"]: q["id"] for q in Quarantine(link_db, "poweroffice").open("customers")}["5000301"]
    html = airflow_app.get("/tribe-sync/?integration=poweroffice", headers=token(airflow_app, "viewer")).text
    (held,) = [g for g in groups_in(html).values() if "5000301" in g]
    for shown in ("Nordvik Bygg AS", "Hansen Regnskap", "org-77", "5000301", "Link anyway", "Create new"):
        assert shown in held, shown
    url, admin = f"/tribe-sync/api/quarantine/{row_id}/match", token(airflow_app, "admin")
    assert airflow_app.post(url, json={"choice": "link"}, headers=token(airflow_app, "viewer")).status_code == 403
    assert airflow_app.post(url, json={"choice": "maybe"}, headers=admin).status_code == 422
    other = airflow_app.post(f"/tribe-sync/api/quarantine/{recorded['10023']}/match", json={"choice": "link"},
                             headers=admin)
    assert other.status_code == 409  # not held for a match by number
    response = airflow_app.post(url, json={"choice": "link"}, headers=admin)
    assert response.status_code == 200, response.text
    started = response.json()
    assert started["dag_id"] == "poweroffice_to_tribe" and started["choice"] == "link"
    assert started["url"].startswith("/dags/poweroffice_to_tribe/runs/")
    assert _started("poweroffice_to_tribe", started["run_id"])["conf"]["retry_records"] == {"customers": ["5000301"]}
    answer = MatchDecisions(link_db, "poweroffice").all("Relation_Organization")["5000301"]
    assert (answer.choice, answer.target_id) == ("link", "org-77")


def test_each_token_chain_shows_its_token_calls_today_and_never_a_token(airflow_app, link_db, monkeypatch):
    """Exact's one chain per app: three token endpoint calls today (one of them refused, which
    counts too) and a renewal; the page shows the count, when the access token was issued and
    when Exact allows the next one (570 s and the margin later), and neither token nor secret."""
    from cryptography.fernet import Fernet

    from tribe_operators.systems.exact.hook import ExactOnlineHook

    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("AIRFLOW_CONN_EXACT_DEFAULT", json.dumps({
        "conn_type": "exact_online", "host": "http://127.0.0.1:9", "login": "app-of-the-page",
        "password": "SECRET-client-5", "extra": {"division": 100001}}))
    hook = ExactOnlineHook(link_engine=link_db)
    store = hook.token_store
    issued = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    with store.renewing() as (_, save, count_call):
        for _ in range(3):
            count_call()
        save("SECRET-refresh-6", "SECRET-access-7", issued + timedelta(seconds=600), issued_at=issued)
    headers = token(airflow_app, "viewer")

    chains = airflow_app.get("/tribe-sync/api/exact", headers=headers).json()["token_chains"]
    assert [(c["system"], c["chain"], c["calls_today"], c["connections"]) for c in chains] == [
        ("Exact Online", store.key["conn_id"], 3, ["exact_default"])], chains
    assert chains[0]["calls_limit"] == 200  # Exact's token calls a day
    html = airflow_app.get("/tribe-sync/?integration=exact", headers=headers).text
    row = html[html.index('<table id="token-chains"'):]
    row = row[row.index(f'<tr data-chain="{store.key["conn_id"]}"'):row.index("</tr>", row.index("<tr data-chain"))]
    assert 'data-calls-today="3"' in row and "<b>3</b>" in row and "/ 200" in row, row
    assert issued.strftime("%Y-%m-%d %H:%M:%S") in row, row
    allowed = issued + timedelta(seconds=570 + hook.auth.margin_s)  # Exact's rule, and our margin
    assert allowed.strftime("%Y-%m-%d %H:%M:%S") in row, row
    for page in (html, json.dumps(chains)):
        assert "SECRET" not in page
    poweroffice = airflow_app.get("/tribe-sync/?integration=poweroffice", headers=headers).text
    assert 'id="token-chains"' not in poweroffice  # a client key, no chain to show



def test_a_run_stopped_by_a_spent_daily_budget_says_when_it_resumes(airflow_app, link_db):
    """Issue 25: the run's note, its summary *and the page* say "budget spent, resumes after 00:00 UTC"."""
    from tribe_operators.exceptions import BudgetExhaustedError
    from tribe_operators.sync.steps import budget_spent

    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    record_step(link_db, run_id="scheduled__e1", dag_id="exact_to_tribe", integration="exact", stream="customers",
                step="extract", counts={"extracted": 60, **budget_spent(BudgetExhaustedError(midnight))},
                started_at=datetime.now(UTC))
    record_step(link_db, run_id="scheduled__e0", dag_id="exact_to_tribe", integration="exact", stream="customers",
                step="extract", counts={"extracted": 3}, started_at=datetime.now(UTC) - timedelta(hours=1))
    html = airflow_app.get("/tribe-sync/?integration=exact", headers=token(airflow_app, "viewer")).text
    spent = html[html.index('<tr data-run="scheduled__e1"'):]
    assert "⚠ budget spent, resumes after 00:00 UTC" in spent[:spent.index("</tr>")]
    fine = html[html.index('<tr data-run="scheduled__e0"'):]
    assert "budget spent" not in fine[:fine.index("</tr>")]
    runs = airflow_app.get("/tribe-sync/api/exact", headers=token(airflow_app, "viewer")).json()["runs"]
    assert {r["run_id"]: bool(r["budget_resumes_at"]) for r in runs} == {"scheduled__e1": True, "scheduled__e0": False}


def test_an_invoice_row_shows_its_document_attachment_and_payment_steps(airflow_app, link_db):
    """Exact's invoice needs more than the entry: its PDF as a document and that document's
    attachment (each its own ledger row), a payment booked for one paid in Tribe first. The page
    shows them on the invoice's row, not as invoices of their own, and counts invoices only."""
    for kind in ("invoice", "invoice_document", "invoice_attachment"):
        ledger = ExportLedger(link_db, "exact", "default", kind)
        ledger.claim("inv-9", f"tribe:inv-9:{kind}", "2026000009")
        if kind != "invoice_attachment":  # its answer lost: claimed, not committed
            ledger.mark_created("inv-9", f"{kind}-id")
    data = airflow_app.get("/tribe-sync/api/exact", headers=token(airflow_app, "viewer")).json()
    [row] = data["ledger"]
    assert row["external_id"] == "invoice-id" and data["totals"]["ledger"] == 1
    assert {k: (v["state"], v["external_id"]) for k, v in row["steps"].items()} == {
        "invoice_document": ("created", "invoice_document-id"), "invoice_attachment": ("in_flight", None)}
    html = airflow_app.get("/tribe-sync/?integration=exact", headers=token(airflow_app, "viewer")).text
    assert 'data-step="invoice_document"' in html and "document created" in html and "attachment in_flight" in html


def test_a_paid_invoice_open_again_shows_as_reopened(airflow_app, link_db):
    """A payment taken back in the accounting system leaves ``paid_at`` (Tribe stays Paid, the run
    reports it); the page must not show such an invoice as simply paid."""
    from decimal import Decimal

    from tribe_operators.store.ledger import record_balance
    ledger = ExportLedger(link_db, "exact", "default", "invoice")
    for tribe_id, number in (("inv-1", "2026000001"), ("inv-2", "2026000002")):
        ledger.claim(tribe_id, f"tribe:{tribe_id}", number)
        ledger.mark_created(tribe_id, f"entry-{tribe_id}")
        record_balance(ledger, f"entry-{tribe_id}", total=Decimal("121.00"), balance=Decimal("0"), changed_at=None)
    record_balance(ledger, "entry-inv-2", total=Decimal("121.00"), balance=Decimal("121.00"), changed_at=None)
    html = airflow_app.get("/tribe-sync/?integration=exact", headers=token(airflow_app, "viewer")).text
    rows = {n: html[html.rindex("<tr", 0, html.index(n)):html.index("</tr>", html.index(n))]
            for n in ("<code>entry-inv-1<", "<code>entry-inv-2<")}
    assert "reopened" not in rows["<code>entry-inv-1<"]
    assert "reopened, 121.00 open" in rows["<code>entry-inv-2<"]
