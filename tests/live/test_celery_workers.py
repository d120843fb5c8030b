"""The live stack runs on Airflow's CeleryExecutor with two workers, each a process of its own:
one run's tasks are spread over both (a task instance's ``hostname`` names its worker)."""
from __future__ import annotations

import pytest

from tests.fixtures.records import linked_customers, ref, sent_invoice

pytestmark = [pytest.mark.live, pytest.mark.postgres, pytest.mark.timeout(420)]

DAG_ID = "tribe_invoices_to_poweroffice"


def test_the_tasks_of_one_run_are_executed_by_both_celery_workers(live):
    api, tribe, po = live.airflow.api, live.sims.tribe, live.sims.po
    assert live.airflow.executor == "CeleryExecutor" and live.airflow.workers == 2
    relationships = linked_customers(tribe, po, live.link.engine, 6, name="Celery Kunde")
    po.insert_product(Code="CEL-1", Name="Rådgivning", ProductType="Service", UnitOfMeasureCode="EA",
                      UnitPrice=900.0, StandardSalesAccountId=po.account_by_no(3000)["Id"])
    product = tribe.insert("Product", {"Name": "Rådgivning", "Code": "CEL-1", "SalesPrice": 900.0})
    for relationship in relationships:  # six invoices: six mapped tasks, up to 4 at once (2 × 2 slots)
        sent_invoice(tribe, relationship, [{
            "Product": {"ID": product["ID"]}, "Quantity": 1, "Price": 900.0,
            "Unit": {"ID": ref(tribe, "Datastore_Unit", "PCS")},
            "VatGroup": {"ID": ref(tribe, "Datastore_VatGroup", "NO25")}}])
    api.wait_for_dags([DAG_ID])
    api.set_paused(DAG_ID, False)
    try:
        run = api.trigger(DAG_ID, conf={})
        done = api.wait_for_run(DAG_ID, run["dag_run_id"], timeout=300)
    finally:
        api.set_paused(DAG_ID, True)
    tis = api.task_instances(DAG_ID, run["dag_run_id"])
    assert done["state"] == "success", tis
    ran = [ti for ti in tis if ti["state"] == "success"]
    assert len([ti for ti in ran if ti["task_id"] == "export_invoice"]) == 6
    workers = {ti["hostname"] for ti in ran}
    assert workers == {"worker1", "worker2"}, {ti["task_id"]: ti["hostname"] for ti in ran}
