"""Clearing one failed mapped invoice task on a running Airflow re-runs that invoice only, and
PowerOffice still holds exactly one sales order per invoice.

Four invoices are Sent in Tribe for a customer that is already linked. One of them sells a
product PowerOffice does not know yet: PowerOffice refuses its sales order (404, "Product with
code … not found"), which fails that invoice's task at once, without retries (a refusal is not
transient). The accountant then creates the product in PowerOffice and on-call clears that one
task through the REST API — the README's "Retrying one invoice at 3 a.m.".
"""
from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.fixtures.records import linked_customers, ref, sent_invoice
from tests.live.harness import wait_until

pytestmark = [pytest.mark.live, pytest.mark.postgres, pytest.mark.timeout(420)]

DAG_ID = "tribe_invoices_to_poweroffice"
TASK_ID = "export_invoice"


def seed_invoices(live: Any) -> dict[str, Any]:
    """A PowerOffice customer linked to a Tribe customer relationship; a product both sides
    know and one only Tribe knows; three invoices for the first, one for the second, all Sent."""
    tribe, po = live.sims.tribe, live.sims.po
    (relationship,) = linked_customers(tribe, po, live.link.engine, 1)
    account = po.account_by_no(3000)["Id"]
    po.insert_product(Code="LIVE-SVC", Name="Konsulenttime", ProductType="Service", UnitOfMeasureCode="EA",
                      UnitPrice=1250.0, StandardSalesAccountId=account)
    known = tribe.insert("Product", {"Name": "Konsulenttime", "Code": "LIVE-SVC", "SalesPrice": 1250.0})
    unknown = tribe.insert("Product", {"Name": "Workshop", "Code": "LIVE-NEW", "SalesPrice": 9500.0})

    def sent(product: dict[str, Any], quantity: int) -> dict[str, Any]:
        return sent_invoice(tribe, relationship, [{
            "Product": {"ID": product["ID"]}, "Quantity": quantity, "Price": product["SalesPrice"],
            "Unit": {"ID": ref(tribe, "Datastore_Unit", "PCS")}, "VatGroup": {"ID": ref(tribe, "Datastore_VatGroup", "NO25")}}],
            Subject=f"{product['Name']} × {quantity}")

    good = [sent(known, q) for q in (1, 2, 3)]
    bad = sent(unknown, 1)
    return {"good": good, "bad": bad, "account": account}


def orders_by_reference(po: Any) -> Counter[str]:
    """How many PowerOffice documents carry each ExternalImportReference (sales orders, plus
    outgoing invoices that are not the same document as a sales order)."""
    orders = po.all("sales_orders")
    order_ids = {o["Id"] for o in orders}
    refs = [o.get("ExternalImportReference") for o in orders]
    refs += [i.get("ExternalImportReference") for i in po.all("outgoing_invoices") if i["Id"] not in order_ids]
    return Counter(r for r in refs if r)


def test_clearing_one_failed_mapped_invoice_reruns_only_it_and_posts_once(live):
    from tribe_operators.store.ledger import ExportLedger
    from tribe_operators.store.quarantine import Quarantine

    api, po = live.airflow.api, live.sims.po
    seeded = seed_invoices(live)
    good, bad = seeded["good"], seeded["bad"]
    refs = {inv["ID"]: f"tribe:{inv['ID']}" for inv in [*good, bad]}
    api.wait_for_dags([DAG_ID])
    api.set_paused(DAG_ID, False)

    run_id = api.trigger(DAG_ID, conf={})["dag_run_id"]
    first = api.wait_for_run(DAG_ID, run_id, timeout=180)
    before = {(ti["task_id"], ti["map_index"]): ti for ti in api.task_instances(DAG_ID, run_id)}
    exports = {key[1]: ti for key, ti in before.items() if key[0] == TASK_ID}
    failed = [index for index, ti in exports.items() if ti["state"] == "failed"]
    report = api.run_report(DAG_ID, run_id)
    assert len(exports) == 4 and len(failed) == 1, report
    # One failed invoice makes the run red; the summary (a teardown) still ran.
    assert first["state"] == "failed" and before[("summary", -1)]["state"] == "success", report
    assert sorted(ti["state"] for ti in exports.values()) == ["failed", "success", "success", "success"], report
    index = failed[0]
    assert exports[index]["rendered_map_index"].startswith(f"invoice {bad['Number']} · "), report  # number · customer
    assert exports[index]["try_number"] == 1, "a refused sales order must fail without retries\n" + report
    assert "Product with code" in api.task_log(DAG_ID, run_id, TASK_ID, 1, index)
    assert orders_by_reference(po) == Counter(refs[i["ID"]] for i in good)
    assert ExportLedger(live.link.engine, "poweroffice").get(bad["ID"]).state == "in_flight"
    (held,) = [q for q in Quarantine(live.link.engine, "poweroffice").open("invoices") if q["record_id"] == bad["ID"]]
    assert held["system"] == "poweroffice" and "Product with code" in held["reason"]

    # The accountant adds the product in PowerOffice; on-call clears that one task instance.
    po.insert_product(Code="LIVE-NEW", Name="Workshop", ProductType="Service", UnitOfMeasureCode="EA",
                      UnitPrice=9500.0, StandardSalesAccountId=seeded["account"])
    cleared = api.clear(DAG_ID, run_id, [(TASK_ID, index)], only_failed=True)
    assert [(ti["task_id"], ti["map_index"]) for ti in cleared] == [(TASK_ID, index)]

    def rerun_done() -> dict[str, Any] | None:
        ti = next(t for t in api.task_instances(DAG_ID, run_id) if (t["task_id"], t["map_index"]) == (TASK_ID, index))
        return ti if ti["try_number"] > 1 and ti["state"] in ("success", "failed") else None

    wait_until(rerun_done, timeout=120, interval=1.0, what=f"{TASK_ID}[{index}] to run again",
               diagnostics=lambda: api.run_report(DAG_ID, run_id))
    api.require_success(DAG_ID, api.wait_for_run(DAG_ID, run_id, timeout=120))  # every task, the run too

    after = {(ti["task_id"], ti["map_index"]): ti for ti in api.task_instances(DAG_ID, run_id)}
    report = api.run_report(DAG_ID, run_id)
    assert after[(TASK_ID, index)]["state"] == "success", report
    assert after[(TASK_ID, index)]["try_number"] == exports[index]["try_number"] + 1, report
    assert set(after) == set(before)
    untouched = {key: (ti["state"], ti["try_number"]) for key, ti in before.items() if key != (TASK_ID, index)}
    assert {key: (after[key]["state"], after[key]["try_number"]) for key in untouched} == untouched, report

    # Exactly one sales order per invoice, references unique; the ledger agrees.
    assert orders_by_reference(po) == Counter(refs.values())
    assert len(po.all("sales_orders")) == 4
    ledger = ExportLedger(live.link.engine, "poweroffice")
    rows = {tribe_id: ledger.get(tribe_id) for tribe_id in refs}
    assert {r.state for r in rows.values()} == {"created"}
    assert rows[bad["ID"]].attempts == 2
    assert not [q for q in Quarantine(live.link.engine, "poweroffice").open("invoices") if q["record_id"] == bad["ID"]]
    assert len({r.external_id for r in rows.values()}) == 4
    # Five creates reached PowerOffice: four accepted, the one refused before the fix.
    assert po.counters()["calls"].get("POST SalesOrders") == 5, po.counters()
