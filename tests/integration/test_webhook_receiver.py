"""The webhook receiver: Tribe's signed events become DAG runs, once each.

Real pieces throughout: Airflow's ``trigger_dag`` on the (SQLite) metadata DB with the DAGs
serialized into it, the replay store on PostgreSQL, the Tribe simulator as the sender.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from sandbox.tribe import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, SIGNATURE_HEADER, sign
from tests.fixtures.webhooks import dag_runs, event_body, event_id_of, stale
from tribe_operators.store.webhook_events import WebhookEvents

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]

RELATIONS, INVOICES = "tribe_to_poweroffice", "tribe_invoices_to_poweroffice"


@pytest.fixture(scope="module", autouse=True)
def _forget_webhook_runs(forget_webhook_runs) -> None:
    """The metadata DB outlives this module: leave no queued ``webhook__`` runs behind."""


@pytest.fixture(autouse=True)
def _poweroffice_alone(monkeypatch) -> None:
    """PowerOffice the one system taking webhooks here: Odoo's are switched off in its settings
    Variable (the fan-out to both has a test of its own); Exact Online has no connection here."""
    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_ODOO_SETTINGS", json.dumps({"webhooks": False}))
    for system, conn_type in (("POWEROFFICE", "poweroffice_go"), ("ODOO", "odoo")):
        monkeypatch.setenv(f"AIRFLOW_CONN_{system}_DEFAULT", json.dumps({"conn_type": conn_type, "host": "https://x"}))
    monkeypatch.delenv("AIRFLOW_CONN_EXACT_DEFAULT", raising=False)


@pytest.fixture
def client(link_db, serialized_dags, webhook_secret) -> Iterator:
    from fastapi.testclient import TestClient

    from tribe_operators.webhooks.app import create_app

    with TestClient(create_app()) as test_client:
        yield test_client


def test_one_event_starts_the_relations_export_of_every_system_taking_webhooks(client, webhook_secret,
                                                                             monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_TRIBE_SYNC_ODOO_SETTINGS")  # Odoo takes them too (its shipped settings)
    body = event_body("Relation.Organization")
    event_id = event_id_of(body)
    response = post(client, body, webhook_secret)
    assert response.status_code == 200, response.text
    assert {r["dag_id"] for r in response.json()["runs"]} == {RELATIONS, "tribe_to_odoo"}
    assert {r["dag_id"] for r in dag_runs(f"webhook__{event_id}")} == {RELATIONS, "tribe_to_odoo"}


def test_a_system_without_a_connection_is_not_started(client, webhook_secret, monkeypatch):
    """Every system ships its settings: a Tribe event starts only the exports of systems a
    connection sets up here (no failing tribe_to_exact run per event for a PowerOffice user)."""
    monkeypatch.delenv("AIRFLOW_CONN_POWEROFFICE_DEFAULT")
    response = post(client, event_body("Relation.Organization"), webhook_secret)
    assert response.status_code == 202 and response.json()["status"] == "ignored", response.text
    monkeypatch.setenv("AIRFLOW_CONN_EXACT_DEFAULT", json.dumps({"conn_type": "exact_online", "host": "https://x"}))
    response = post(client, event_body("Relation.Organization"), webhook_secret)
    assert {r["dag_id"] for r in response.json()["runs"]} == {"tribe_to_exact"}, response.text


def post(client, body: bytes, secret: str | None = None, *, signature: str | None = None):
    headers = {"Content-Type": "application/json"}
    signature = signature if signature is not None else (sign(secret, body) if secret else None)
    if signature is not None:
        headers[SIGNATURE_HEADER] = signature
    return client.post("/tribe", content=body, headers=headers)


def assert_no_run_for(body: bytes, runs_before: int) -> None:
    assert dag_runs(f"webhook__{event_id_of(body)}") == []
    assert len(dag_runs()) == runs_before


@pytest.mark.parametrize("entity_type", [
    "Relation.Organization", "Relation.Person", "Relationship.Organization.CommercialRelationship.Customer",
    "Relationship.Person.Contact.Employee", "Product"])
def test_signed_event_starts_one_run_of_the_relations_dag(client, webhook_secret, link_db, entity_type):
    entity_id = str(uuid.uuid4())
    body = event_body(entity_type, entity_id=entity_id)
    event_id, before = event_id_of(body), len(dag_runs())

    response = post(client, body, webhook_secret)

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "triggered", "event_id": event_id, "runs": [
        {"dag_id": RELATIONS, "dag_run_id": f"webhook__{event_id}", "status": "triggered"}]}
    (run,) = dag_runs(f"webhook__{event_id}")
    assert run["dag_id"] == RELATIONS
    streams = run["conf"].pop("streams")  # what the event concerns (tests/integration/test_webhook_fanout.py)
    assert run["conf"].pop("express") is True  # one task runs their steps (test_webhook_express.py)
    assert run["conf"] == {"webhook_event_id": event_id, "entity_type": entity_type, "entity_id": entity_id}
    assert streams and all(s.startswith("tribe_") for s in streams), streams
    assert run["state"].endswith("queued") and run["run_type"].endswith("manual")
    assert run["triggered_by"].endswith("REST_API")
    assert len(dag_runs()) == before + 1
    row = WebhookEvents(link_db).get(event_id)
    assert (row.status, row.dag_id, row.dag_run_id, row.entity_id) == ("triggered", RELATIONS,
                                                                         f"webhook__{event_id}", entity_id)


def test_invoice_event_starts_the_invoice_dag_for_that_invoice(client, webhook_secret):
    invoice_id = str(uuid.uuid4())
    body = event_body("Activity.Invoice", entity_id=invoice_id)

    response = post(client, body, webhook_secret)

    assert response.status_code == 200 and [r["dag_id"] for r in response.json()["runs"]] == [INVOICES]
    (run,) = dag_runs(f"webhook__{event_id_of(body)}")
    assert run["dag_id"] == INVOICES
    assert run["conf"]["invoice_ids"] == [invoice_id]  # the DAG's Param: this invoice only


def test_run_conf_passes_the_dags_params_validation(serialized_dags):
    """Airflow validates a run's conf against the DAG's Params when the run is created: a wrong
    type is refused, so the receiver's extra keys being accepted above is a real check."""
    from airflow.sdk.exceptions import ParamValidationError

    from tribe_operators.webhooks.trigger import trigger_dag_run

    run_id = f"webhook__{uuid.uuid4()}"
    with pytest.raises(ParamValidationError):
        trigger_dag_run(INVOICES, run_id, {"invoice_ids": "not a list"})
    assert dag_runs(run_id) == []


def test_the_secret_is_masked_in_airflow_logs_once_read(client, webhook_secret):
    from airflow._shared.secrets_masker import redact as redact_core
    from airflow.sdk._shared.secrets_masker import redact as redact_sdk

    assert post(client, event_body(), webhook_secret).status_code == 200
    assert redact_core(f"x {webhook_secret} y") == "x *** y"  # the API server's log masker
    assert redact_sdk(f"x {webhook_secret} y") == "x *** y"


def test_same_event_delivered_again_is_a_duplicate_and_starts_nothing(client, webhook_secret, link_db):
    body = event_body()
    assert post(client, body, webhook_secret).json()["status"] == "triggered"
    before = len(dag_runs())

    again = post(client, body, webhook_secret)

    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert len(dag_runs(f"webhook__{event_id_of(body)}")) == 1
    assert len(dag_runs()) == before
    # The replay store answered (Airflow was not even asked: the row was not touched).
    assert WebhookEvents(link_db).get(event_id_of(body)).status == "triggered"


def test_redelivery_after_the_replay_table_was_lost_still_starts_nothing(client, webhook_secret, link_db):
    body = event_body()
    assert post(client, body, webhook_secret).json()["status"] == "triggered"
    with link_db.begin() as conn:
        conn.exec_driver_sql("DELETE FROM webhook_event")
    before = len(dag_runs())

    again = post(client, body, webhook_secret)

    assert (again.status_code, again.json()["status"]) == (200, "duplicate")  # Airflow refused the run id
    assert len(dag_runs()) == before
    assert WebhookEvents(link_db).get(event_id_of(body)).status == "duplicate"


def _text_base64_of_hex(secret: str, body: bytes) -> str:
    # Base64 of the hex *characters*: what Tribe's docs warn against ("hex-to-Base64, not text").
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha512).hexdigest().encode()).decode()


@pytest.mark.parametrize("forge", ["other secret", "body changed after signing", "hex as text", "garbage"])
def test_bad_signature_is_401_and_starts_nothing(client, webhook_secret, link_db, caplog, forge):
    caplog.set_level(logging.DEBUG)
    body = event_body()
    signature = {"other secret": sign("not-the-secret", body),
                 "body changed after signing": sign(webhook_secret, body.replace(b"Relation.Organization",
                                                                                 b"Relation.Person")),
                 "hex as text": _text_base64_of_hex(webhook_secret, body),
                 "garbage": "not base64 at all!"}[forge]
    before = len(dag_runs())

    response = post(client, body, signature=signature)

    assert response.status_code == 401
    assert_no_run_for(body, before)
    assert WebhookEvents(link_db).get(event_id_of(body)) is None
    assert "Tribe webhook refused: invalid X-Tribe-Signature" in caplog.text  # the receiver did log…
    assert webhook_secret not in caplog.text and signature not in caplog.text  # …but neither value


def test_unsigned_event_is_401_and_starts_nothing(client):
    body = event_body()
    before = len(dag_runs())
    response = post(client, body)
    assert response.status_code == 401
    assert_no_run_for(body, before)


@pytest.mark.parametrize(("age_s", "tolerance"), [(600, None), (-600, None), (60, "30")])
def test_event_outside_the_replay_window_is_409_and_starts_nothing(client, webhook_secret, link_db, monkeypatch,
                                                                    age_s, tolerance):
    if tolerance:  # [tribe_sync] webhook_tolerance_s, read per request
        monkeypatch.setenv("AIRFLOW__TRIBE_SYNC__WEBHOOK_TOLERANCE_S", tolerance)
    body = event_body(timestamp=stale(age_s))
    before = len(dag_runs())

    response = post(client, body, webhook_secret)

    assert response.status_code == 409, response.text
    assert_no_run_for(body, before)
    assert WebhookEvents(link_db).get(event_id_of(body)) is None


def test_late_redelivery_of_a_handled_event_is_a_duplicate_not_409(client, webhook_secret):
    """Tribe retrying, after the window, an event we handled (our answer got lost) must stop: 200."""
    from fastapi.testclient import TestClient

    from tribe_operators.webhooks.app import create_app

    body = event_body()
    assert post(client, body, webhook_secret).status_code == 200
    an_hour_later = create_app(now=lambda: datetime.now(UTC) + timedelta(hours=1))
    with TestClient(an_hour_later) as later:
        late = post(later, body, webhook_secret)
        assert (late.status_code, late.json()["status"]) == (200, "duplicate")
        assert post(later, event_body(timestamp=datetime.now(UTC)), webhook_secret).status_code == 409


@pytest.mark.parametrize(("entity_type", "mutation"), [
    ("ProductGroup", None), ("Activity", None), ("Datastore.Unit", None),
    ("Relation.Organization", "EntityDeletionMutation")])
def test_entity_types_not_synced_are_ignored_and_start_nothing(client, webhook_secret, link_db, entity_type,
                                                               mutation):
    body = event_body(entity_type, mutation=mutation)
    before = len(dag_runs())

    response = post(client, body, webhook_secret)

    assert response.status_code == 202 and response.json()["status"] == "ignored"
    assert_no_run_for(body, before)
    assert WebhookEvents(link_db).get(event_id_of(body)).status == "ignored"
    assert post(client, body, webhook_secret).json()["status"] == "duplicate"


@pytest.mark.parametrize("body", [
    b"not json", b"[]", b'{"webhookId": "w"}',
    event_body(event_id="not-a-uuid"), event_body(entity_id="1; DROP TABLE"), event_body(timestamp="yesterday"),
    event_body(mutation="Hello"),
    # Well-formed, but outside what UTC can hold: a 400, not a 503 that Tribe would redeliver for ever.
    event_body(timestamp="0001-01-01T00:00:00+01:00"), event_body(timestamp="9999-12-31T23:59:59-01:00"),
    json.dumps({"webhookId": "w", "payload": {"type": "EntityUpdateMutation", "entityType": "Relation.Organization",
                                              "eventId": str(uuid.uuid4()), "timestamp": "2026-01-01T00:00:00Z"}
                }).encode()])
def test_signed_body_of_the_wrong_shape_is_400(client, webhook_secret, body):
    before = len(dag_runs())
    response = post(client, body, webhook_secret)
    assert response.status_code == 400, response.text
    assert len(dag_runs()) == before


def test_without_a_configured_secret_nothing_is_accepted(client, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_TRIBE_DEFAULT", json.dumps({"conn_type": "tribe_crm", "host": "https://x"}))
    body = event_body()
    before = len(dag_runs())
    response = post(client, body, "whsec-anything")
    assert response.status_code == 503
    assert_no_run_for(body, before)


@pytest.mark.parametrize("as_text", [False, True], ids=["json-list", "list-typed-in-the-masked-field"])
def test_every_secret_in_a_list_is_accepted(client, monkeypatch, as_text):
    """One secret per Tribe webhook (entity type), or old + new while rotating; the form's
    masked field holds the list as JSON text."""
    secrets = ["whsec-organizations", "whsec-invoices"]
    monkeypatch.setenv("AIRFLOW_CONN_TRIBE_DEFAULT", json.dumps({
        "conn_type": "tribe_crm", "host": "https://x",
        "extra": {"webhook_secret": json.dumps(secrets) if as_text else secrets}}))
    assert post(client, event_body(), secrets[0]).status_code == 200
    assert post(client, event_body("Activity.Invoice"), secrets[1]).status_code == 200
    assert post(client, event_body(), "whsec-other").status_code == 401


def test_a_run_that_failed_to_start_is_started_by_the_redelivery(link_db, serialized_dags, webhook_secret):
    from fastapi.testclient import TestClient

    from tribe_operators.webhooks.app import create_app
    from tribe_operators.webhooks.trigger import trigger_dag_run

    calls = []

    def flaky_then_real(dag_id, run_id, conf):  # the real trigger, after one simulated outage
        calls.append(run_id)
        if len(calls) == 1:
            raise RuntimeError("metadata database unavailable")
        return trigger_dag_run(dag_id, run_id, conf)

    body = event_body()
    with TestClient(create_app(start_run=flaky_then_real)) as client:
        first = post(client, body, webhook_secret)
        assert first.status_code == 503  # Tribe redelivers non-2xx answers
        assert dag_runs(f"webhook__{event_id_of(body)}") == []
        assert WebhookEvents(link_db).get(event_id_of(body)).status == "failed"
        second = post(client, body, webhook_secret)
    assert (second.status_code, second.json()["status"]) == (200, "triggered")
    assert len(dag_runs(f"webhook__{event_id_of(body)}")) == 1


def test_an_event_whose_receiver_died_mid_way_is_started_by_the_redelivery(client, webhook_secret, link_db):
    from tribe_operators.store.schema import webhook_event

    body = event_body()
    event_id = event_id_of(body)
    with link_db.begin() as conn:  # claimed two minutes ago by a request that never finished
        conn.execute(webhook_event.insert().values(
            event_id=event_id, dag_id=RELATIONS, received_at=datetime.now(UTC) - timedelta(minutes=2), status="received",
            entity_type="Relation.Organization", entity_id=str(uuid.uuid4())))
    response = post(client, body, webhook_secret)
    assert (response.status_code, response.json()["status"]) == (200, "triggered")
    assert len(dag_runs(f"webhook__{event_id}")) == 1

    fresh = event_body()
    WebhookEvents(link_db).claim(event_id_of(fresh), "Relation.Organization", str(uuid.uuid4()), RELATIONS)
    assert post(client, fresh, webhook_secret).json()["status"] == "duplicate"  # in flight elsewhere


@pytest.fixture
def airflow_api(link_db, serialized_dags) -> Iterator:
    """A FastAPI root app with the plugins mounted by Airflow's own ``init_plugins`` (as the
    API server does), served on a real socket."""
    from airflow.api_fastapi.app import init_plugins
    from fastapi import FastAPI

    from sandbox.common import ServerThread

    root = FastAPI()
    init_plugins(root)
    with ServerThread(root) as server:
        yield server


def test_plugin_mounts_the_receiver_under_tribe_sync_webhooks(airflow_api, webhook_secret):
    from airflow import plugins_manager

    (entry,) = [a for a in plugins_manager.get_fastapi_plugins()[0] if a.get("name") == "Tribe webhooks"]
    assert entry["url_prefix"] == "/tribe-sync/webhooks"
    body = event_body()
    response = requests.post(f"{airflow_api.url}/tribe-sync/webhooks/tribe", data=body, timeout=10,
                             headers={SIGNATURE_HEADER: sign(webhook_secret, body)})
    assert response.status_code == 200, response.text
    assert dag_runs(f"webhook__{event_id_of(body)}")[0]["dag_id"] == RELATIONS


def test_end_to_end_tribe_simulator_change_starts_the_relations_dag(airflow_api, sims, metastore_connection,
                                                                    monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    api = requests.Session()
    token = api.post(f"{sims.tribe_url}/oauth2/token", data={
        "grant_type": "client_credentials", "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET}, timeout=10).json()["access_token"]
    api.headers["Authorization"] = f"Bearer {token}"
    org = sims.tribe.insert("Relation_Organization", {"Name": "Fjordbyen AS"})  # before the webhook: no event
    # As an operator would: register in Tribe, then put Tribe's secret into an Airflow connection
    # (here in the metadata DB, under a connection id chosen by [tribe_sync] webhook_conn_id).
    hook = api.post(f"{sims.tribe_url}/v1/webhooks", timeout=10, json={
        "entityType": "Relation.Organization",
        "webhookUrl": f"{airflow_api.url}/tribe-sync/webhooks/tribe"}).json()
    metastore_connection("tribe_webhooks_e2e", conn_type="tribe_crm", host=sims.tribe_url,
                         extra=json.dumps({"webhook_secret": hook["secret"]}))
    monkeypatch.setenv("AIRFLOW__TRIBE_SYNC__WEBHOOK_CONN_ID", "tribe_webhooks_e2e")

    changed = api.put(f"{sims.tribe_url}/v1/odata/Relation_Organization({org['ID']})", timeout=10,
                      json={"Name": "Fjordbyen Eiendom AS"})
    assert changed.status_code < 300, changed.text
    assert sims.tribe.webhooks.wait_idle(10)

    (delivery,) = sims.tribe.webhooks.deliveries()
    assert (delivery["delivered"], delivery["status"], delivery["attempts"]) == (True, 200, 1)
    assert (delivery["type"], delivery["entityId"]) == ("EntityUpdateMutation", org["ID"])
    (run,) = dag_runs(f"webhook__{delivery['eventId']}")
    assert run["dag_id"] == RELATIONS
    assert run["conf"]["entity_id"] == org["ID"]
    assert f"started {RELATIONS} run webhook__{delivery['eventId']}" in caplog.text
    assert hook["secret"] not in caplog.text


def test_one_event_starts_one_run_per_system_and_a_failed_start_is_retried_alone(link_db, serialized_dags,
                                                                                 webhook_secret):
    """Fan-out: an event two systems sync starts a run of each (two real DAGs stand in for two
    systems' exports), each claimed on its own: when one start fails, Tribe's redelivery starts
    that one and answers the other as a duplicate; a third delivery starts nothing."""
    from fastapi.testclient import TestClient

    from tribe_operators.webhooks.app import create_app
    from tribe_operators.webhooks.trigger import trigger_dag_run

    other = "poweroffice_to_tribe"
    calls = []

    def second_fails_once(dag_id, run_id, conf):
        calls.append(dag_id)
        if dag_id == other and calls.count(other) == 1:
            raise RuntimeError("metadata database unavailable")
        return trigger_dag_run(dag_id, run_id, conf)

    body = event_body("Activity.Invoice")
    event_id = event_id_of(body)
    with TestClient(create_app(start_run=second_fails_once, route=lambda _type: [INVOICES, other])) as client:
        first = post(client, body, webhook_secret)
        assert first.status_code == 503
        assert [(r["dag_id"], r["status"]) for r in first.json()["runs"]] == [(INVOICES, "triggered"), (other, "failed")]
        second = post(client, body, webhook_secret)
        assert second.status_code == 200 and second.json()["status"] == "triggered"
        assert [(r["dag_id"], r["status"]) for r in second.json()["runs"]] == [(INVOICES, "duplicate"),
                                                                                (other, "triggered")]
        third = post(client, body, webhook_secret)
        assert (third.status_code, third.json()["status"]) == (200, "duplicate")
    assert calls == [INVOICES, other, other]  # the started one was not even asked again
    assert sorted(r["dag_id"] for r in dag_runs(f"webhook__{event_id}")) == sorted([INVOICES, other])
    assert {(d.dag_id, d.status) for d in WebhookEvents(link_db).deliveries(event_id)} == {
        (INVOICES, "triggered"), (other, "triggered")}
