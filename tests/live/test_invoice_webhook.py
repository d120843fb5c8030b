"""An invoice marked Sent in Tribe reaches PowerOffice through its own webhook run, once, on a
running Airflow: the simulator delivers Tribe's signed events for the invoice to the receiver
in the API server, which starts ``tribe_invoices_to_poweroffice`` narrowed to that invoice
(``invoice_ids``); a redelivery of the event starts nothing.

An invoice already Sent before the webhook existed is the safety poll's business: no webhook
run touches it (a scheduled run may, if one falls inside the test; nothing here depends on it).
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from sandbox.tribe.webhooks import SIGNATURE_HEADER, sign
from tests.fixtures.records import linked_customers, ref, sent_invoice
from tests.live.harness import wait_until
from tests.live.test_clear_mapped_invoice import orders_by_reference

pytestmark = [pytest.mark.live, pytest.mark.postgres, pytest.mark.timeout(420)]

DAG_ID = "tribe_invoices_to_poweroffice"


def _invoice(live: Any, relationship: str, product: dict[str, Any]) -> dict[str, Any]:
    tribe = live.sims.tribe
    return sent_invoice(tribe, relationship, [{
        "Product": {"ID": product["ID"]}, "Quantity": 2, "Price": product["SalesPrice"],
        "Unit": {"ID": ref(tribe, "Datastore_Unit", "PCS")}, "VatGroup": {"ID": ref(tribe, "Datastore_VatGroup", "NO25")}}])


def test_a_sent_invoice_goes_to_poweroffice_by_its_own_webhook_run_once(live):
    api, tribe, po = live.airflow.api, live.sims.tribe, live.sims.po
    (relationship,) = linked_customers(tribe, po, live.link.engine, 1, name="Webhook Faktura")
    po.insert_product(Code="HOOK-SVC", Name="Rådgivning", ProductType="Service", UnitOfMeasureCode="EA",
                      UnitPrice=900.0, StandardSalesAccountId=po.account_by_no(3000)["Id"])
    product = tribe.insert("Product", {"Name": "Rådgivning", "Code": "HOOK-SVC", "SalesPrice": 900.0})
    earlier = _invoice(live, relationship, product)  # Sent before the webhook was registered
    api.wait_for_dags([DAG_ID])
    api.set_paused(DAG_ID, False)
    hook = tribe.webhooks.register("Activity.Invoice", live.airflow.webhook_url, secret=live.webhook_secret)
    try:
        invoice = _invoice(live, relationship, product)  # two events: created (a draft), then Sent
        deliveries = wait_until(lambda: len(d := [x for x in tribe.webhooks.deliveries()
                                                  if x["entityId"] == invoice["ID"] and x["delivered"]]) >= 2 and d,
                                timeout=60, what="both events of the invoice delivered")
        assert {(d["status"], d["attempts"]) for d in deliveries} == {(200, 1)}, deliveries
        runs = [api.wait_for_run(DAG_ID, f"webhook__{d['eventId']}", timeout=240) for d in deliveries]
    finally:
        api.set_paused(DAG_ID, True)
        tribe.webhooks.remove(hook["id"])

    for run in runs:
        api.require_success(DAG_ID, run)
        assert run["conf"]["invoice_ids"] == [invoice["ID"]], run
    labels = [ti["rendered_map_index"] for run in runs for ti in api.task_instances(DAG_ID, run["dag_run_id"])
              if ti["task_id"] == "export_invoice"]
    numbers = {label.split(" · ")[0] for label in labels if label}  # "invoice 10001 · customer · amount"
    assert f"invoice {invoice['Number']}" in numbers and f"invoice {earlier['Number']}" not in numbers, labels
    assert orders_by_reference(po)[f"tribe:{invoice['ID']}"] == 1

    # Tribe delivers the Sent event again (a lost answer, say): a duplicate, nothing started.
    sent_event = deliveries[-1]
    body = json.dumps({"webhookId": hook["id"], "payload": {
        "type": sent_event["type"], "entityType": "Activity.Invoice", "entityId": invoice["ID"],
        "eventId": sent_event["eventId"], "timestamp": datetime.now(UTC).isoformat()}}).encode()
    again = requests.post(live.airflow.webhook_url, data=body, timeout=30, headers={
        "Content-Type": "application/json", SIGNATURE_HEADER: sign(live.webhook_secret, body)})
    assert (again.status_code, again.json()["status"]) == (200, "duplicate"), again.text
    webhook_runs = [r for r in api.runs(DAG_ID) if r["dag_run_id"].startswith("webhook__")]
    assert sorted(r["dag_run_id"] for r in webhook_runs) == sorted(r["dag_run_id"] for r in runs)
    assert orders_by_reference(po)[f"tribe:{invoice['ID']}"] == 1
