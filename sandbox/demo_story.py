"""The demo's second act: what a Tribe user does after the first import, then the DAGs.

1. invoice the first two linked customers in Tribe and mark the invoices **Sent** (once:
   a later demo run finds them and adds nothing);
2. ``tribe_invoices_to_poweroffice`` exports the first as a **draft** sales order;
3. the same DAG, with ``invoice_mode: booked``, completes and sends the second;
4. the customer pays the booked invoice in full (a payment in the PowerOffice simulator);
5. ``poweroffice_payments_to_tribe`` moves it to **Paid** in Tribe;
6. a product is archived in PowerOffice and a customer renamed on both sides: the next
   import makes the product **Inactive** in Tribe and resolves the **conflict** by rule.
"""
from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

__all__ = ["invoice_story", "lifecycle_story"]

SUBJECT = "tribe-sync demo invoice"


def _ensure_demo_invoices(tribe: Any, links: Any, po_url: str) -> list[str]:
    existing = [r["ID"] for r in tribe.iter_records("Activity_Invoice", filter=f"Subject eq '{SUBJECT}'",
                                                    select=["ID"], orderby="Number")]
    if existing:
        return existing
    relationships = list(tribe.iter_records("Relationship_Organization_CommercialRelationship_Customer",
                                            select=["ID"]))
    linked = links.bulk_to_external("customer_relationship", [r["ID"] for r in relationships])
    # The same two customers every time: the lowest PowerOffice ids among those PowerOffice has not
    # archived (it refuses an invoice to an archived customer; Tribe's ids are random).
    by_po_id = sorted(linked.items(), key=lambda pair: int(pair[1]))
    active = (rel for rel, po_id in by_po_id if _active_in_poweroffice(po_url, po_id))
    chosen = [rel for rel, _ in zip(active, range(2), strict=False)]
    product = next(p for p in tribe.iter_records("Product", filter="IsInactive eq false and ImportId ne null",
                                                 select=["ID", "Code"], orderby="Code") if p.get("Code"))
    sent = tribe.codes("Datastore_Phase_ActivityInvoice")["Sent"]
    made = []
    for rel_id in chosen:
        invoice = tribe.create("Activity_Invoice", {
            "Subject": SUBJECT, "Relationship": {"ID": rel_id}, "PaymentTermInDays": 14,
            "ProductLines": [{"Product": {"ID": product["ID"]}, "Quantity": 3, "Price": 1250.0}]})
        tribe.update("Activity_Invoice", invoice["ID"], {"Phase": {"ID": sent}})
        made.append(invoice["ID"])
    return made


def invoice_story(bag: Any, engine: Any, po_url: str) -> list[tuple[str, Any]]:
    """Run the invoice and payment DAGs around the user's actions; return (label, dagrun) pairs."""
    from tribe_operators.store.ledger import ExportLedger
    from tribe_operators.store.links import LinkStore
    from tribe_operators.systems.tribe.hook import TribeCrmHook

    tribe = TribeCrmHook()
    draft_id, booked_id = _ensure_demo_invoices(tribe, LinkStore(engine, "poweroffice"), po_url)[:2]
    runs = []
    export = bag.dags["tribe_invoices_to_poweroffice"]
    runs.append(("invoice → draft sales order", export.test(
        logical_date=datetime.now(UTC), run_conf={"invoice_ids": [draft_id]})))
    os.environ["AIRFLOW_VAR_TRIBE_SYNC_POWEROFFICE_SETTINGS"] = json.dumps({"invoice_mode": "booked"})
    try:
        runs.append(("invoice → booked", export.test(logical_date=datetime.now(UTC),
                                                     run_conf={"invoice_ids": [booked_id]})))
    finally:
        del os.environ["AIRFLOW_VAR_TRIBE_SYNC_POWEROFFICE_SETTINGS"]
    row = ExportLedger(engine, "poweroffice").get(booked_id)
    if row is not None and row.state == "sent":
        _pay_in_full(po_url, row.external_id)
    payments = bag.dags["poweroffice_payments_to_tribe"]
    runs.append(("payments", payments.test(logical_date=datetime.now(UTC) + timedelta(hours=4))))
    return runs


def lifecycle_story(bag: Any, engine: Any, po_url: str) -> list[tuple[str, Any]]:
    """A PowerOffice user archives a product, and a customer is renamed in both systems before
    the next sync; the import makes the product Inactive and resolves the conflict by rule.
    Done once: a later demo run finds the audit row and only reports it."""
    import sqlalchemy as sa

    from tribe_operators.store.links import LinkStore
    from tribe_operators.store.schema import conflict_audit
    from tribe_operators.systems.tribe.hook import TribeCrmHook

    with engine.connect() as conn:
        if conn.execute(sa.select(sa.func.count()).select_from(conflict_audit)).scalar():
            return []
    tribe, links = TribeCrmHook(), LinkStore(engine, "poweroffice")
    products = list(tribe.iter_records("Product", filter="IsInactive eq false and ImportId ne null", select=["ID"],
                                       orderby="Code"))
    product_po = links.to_external("product", products[-1]["ID"])
    _po_request(po_url, "PATCH", f"Products/{product_po}", [{"op": "replace", "path": "/IsArchived", "value": True}])
    org = next(o for o in tribe.iter_records("Relation_Organization", filter="ImportId ne null", select=["ID", "Name"],
                                             orderby="Name") if links.to_external("customer", o["ID"]))
    tribe.update("Relation_Organization", org["ID"], {"Name": f"{org['Name']} (renamed in Tribe)"})
    _po_request(po_url, "PATCH", f"Customers/{links.to_external('customer', org['ID'])}",
                [{"op": "replace", "path": "/Name", "value": f"{org['Name']} (renamed in PowerOffice)"}])
    run = bag.dags["poweroffice_to_tribe"].test(logical_date=datetime.now(UTC) + timedelta(minutes=15))
    return [("product archived + conflict", run)]


def _po_request(po_url: str, method: str, path: str, body: Any = None) -> requests.Response:
    """A change made in PowerOffice itself (its API, as its GUI would)."""
    import time

    key = {"Ocp-Apim-Subscription-Key": "po-subscription-key"}
    for _ in range(20):  # the simulator enforces PowerOffice's 10 requests/s: wait out a 429
        token = requests.post(f"{po_url}/OAuth/Token", data={"grant_type": "client_credentials"},
                              auth=("po-app-key", "po-client-key"), headers=key, timeout=10)
        if token.status_code != 429:
            break
        time.sleep(1)
    headers = {"Authorization": f"Bearer {token.json()['access_token']}", **key}
    if method == "PATCH":
        headers["Content-Type"] = "application/json-patch+json"
    for _ in range(20):
        response = requests.request(method, f"{po_url}/v2/{path}", json=body, headers=headers, timeout=10)
        if response.status_code != 429:
            return response
        time.sleep(1)
    return response


def _active_in_poweroffice(po_url: str, customer_id: str) -> bool:
    response = _po_request(po_url, "GET", f"Customers/{customer_id}")
    return response.ok and not response.json().get("IsArchived")


def _pay_in_full(po_url: str, invoice_id: str) -> None:
    """The customer pays: a bank payment matched to the invoice in the PowerOffice simulator."""
    invoice = _po_request(po_url, "GET", f"OutgoingInvoices/{invoice_id}")
    if invoice.ok and invoice.json().get("Balance"):
        requests.post(f"{po_url}/_sandbox/payments", json={"invoice_id": invoice_id,
                                                           "amount": invoice.json()["Balance"]}, timeout=10)
