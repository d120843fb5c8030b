"""A Tribe event starts a run only in the systems where it concerns an enabled stream, and that
run has every step task skipped from the start (no task process started for them): its
``express`` task runs the steps of the streams the event concerns (``conf``), the summary
reports them (``test_webhook_express.py`` runs such runs).

Real pieces: the receiver app, Airflow's ``trigger_dag`` on the (SQLite) metadata DB with the
DAGs serialized into it, the replay store on PostgreSQL.
"""
from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from sandbox.tribe import sign
from tests.fixtures.webhooks import dag_runs, event_body, event_id_of

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]

PO, ODOO = "tribe_to_poweroffice", "tribe_to_odoo"


@pytest.fixture(scope="module", autouse=True)
def _forget_webhook_runs(forget_webhook_runs) -> None:
    """The metadata DB outlives this module: leave no queued ``webhook__`` runs behind."""


@pytest.fixture(autouse=True)
def _poweroffice_and_odoo(monkeypatch) -> None:
    """Two systems connected and taking webhooks (their shipped settings); no Exact."""
    for system, conn_type in (("POWEROFFICE", "poweroffice_go"), ("ODOO", "odoo")):
        monkeypatch.setenv(f"AIRFLOW_CONN_{system}_DEFAULT", json.dumps({"conn_type": conn_type, "host": "https://x"}))
        monkeypatch.delenv(f"AIRFLOW_VAR_TRIBE_SYNC_{system}_SETTINGS", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_EXACT_DEFAULT", raising=False)


@pytest.fixture
def client(link_db, serialized_dags, webhook_secret) -> Iterator:
    from fastapi.testclient import TestClient

    from tribe_operators.webhooks.app import create_app

    with TestClient(create_app()) as test_client:
        yield test_client


def post(client, body: bytes, secret: str):
    return client.post("/tribe", content=body, headers={"Content-Type": "application/json",
                                                        "X-Tribe-Signature": sign(secret, body)})


def task_states(dag_id: str, run_id: str) -> dict[str, str | None]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(TaskInstance.task_id, TaskInstance.state).filter(
            TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id).all()
    return {task_id: (getattr(state, "value", state) if state is not None else None) for task_id, state in rows}


def test_a_customer_event_runs_only_the_customer_stream_in_each_system(client, webhook_secret):
    body = event_body("Relationship.Organization.CommercialRelationship.Customer")
    response = post(client, body, webhook_secret)
    assert response.status_code == 200, response.text
    run_id = f"webhook__{event_id_of(body)}"
    runs = {r["dag_id"]: r for r in dag_runs(run_id)}
    assert set(runs) == {PO, ODOO}
    for dag_id in (PO, ODOO):
        assert runs[dag_id]["conf"]["streams"] == ["tribe_customers"]
        assert runs[dag_id]["conf"]["express"] is True
        states = task_states(dag_id, run_id)
        # The express task runs the customers' steps; the summary reports the run after it.
        waiting = {t for t, s in states.items() if s is None}
        assert waiting == {"express", "summary"}, states
        assert {s for t, s in states.items() if t not in waiting} == {"skipped"}, states
        assert {"tribe_customers.extract", "tribe_suppliers.extract", "tribe_persons.load"} <= set(states)


def test_a_product_event_starts_no_run_where_no_stream_reads_products(client, webhook_secret):
    """Odoo syncs no products: a product change in Tribe starts nothing there."""
    body = event_body("Product")
    response = post(client, body, webhook_secret)
    assert response.status_code == 200, response.text
    assert [r["dag_id"] for r in response.json()["runs"]] == [PO]
    (run,) = dag_runs(f"webhook__{event_id_of(body)}")
    assert run["conf"]["streams"] == ["tribe_product_groups", "tribe_products"]
    states = task_states(PO, run["run_id"])
    assert {t for t, s in states.items() if s is None} == {"express", "summary"}, states


def test_a_system_whose_concerned_streams_are_switched_off_gets_no_run(client, webhook_secret, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_ODOO_SETTINGS", json.dumps(
        {"enabled_streams": ["customers", "suppliers", "tribe_suppliers", "tribe_contacts", "tribe_persons"]}))
    body = event_body("Relationship.Organization.CommercialRelationship.Customer")
    response = post(client, body, webhook_secret)
    assert [r["dag_id"] for r in response.json()["runs"]] == [PO], response.text
    # A type an enabled Odoo stream reads still starts its export, for that stream alone.
    body = event_body("Relationship.Organization.Supplier")
    response = post(client, body, webhook_secret)
    assert {r["dag_id"] for r in response.json()["runs"]} == {PO, ODOO}, response.text
    odoo_run = next(r for r in dag_runs(f"webhook__{event_id_of(body)}") if r["dag_id"] == ODOO)
    assert odoo_run["conf"]["streams"] == ["tribe_suppliers"]
