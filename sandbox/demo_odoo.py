"""The demo's Odoo act: the nightly import, the export back, invoices in two legal entities, a
payment, and the archived partners that became former relationships in Tribe.

1. ``odoo_to_tribe`` imports Odoo's companies, contacts and individuals (some matched by their
   debtor number, the bad ones quarantined; the archived ones former in Tribe);
2. two linked customers are invoiced in Tribe and the invoices marked Sent (once): one in the
   default legal entity, one in the Belgian one; ``tribe_invoices_to_odoo`` posts them;
3. the customer pays the Dutch invoice in Odoo; ``odoo_payments_to_tribe`` marks it Paid.
A second demo run finds everything done and writes nothing.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import requests

__all__ = ["odoo_story"]

SUBJECT = "tribe-sync Odoo demo invoice"


def _product(tribe: Any) -> str:
    """A Tribe product carrying the code of an Odoo product (Odoo's own is used on the line)."""
    found = list(tribe.iter_records("Product", filter="Code eq 'P-1001'", select=["ID"]))
    return found[0]["ID"] if found else tribe.create("Product", {"Name": "Consultancy", "Code": "P-1001",
                                                                "SalesPrice": 125.0})["ID"]


def _ensure_invoices(tribe: Any, odoo: Any, links: Any) -> list[str]:
    """The demo's two Sent invoices (made once): for customers Odoo shares between its companies."""
    existing = [r["ID"] for r in tribe.iter_records("Activity_Invoice", filter=f"Subject eq '{SUBJECT}'",
                                                    select=["ID"], orderby="Number")]
    if existing:
        return existing
    relationships = [r["ID"] for r in tribe.iter_records("Relationship_Organization_CommercialRelationship_Customer",
                                                         select=["ID"], orderby="ID")]
    linked = links.bulk_to_external("customer_relationship", relationships)
    partners = {str(p["id"]): p for p in odoo.call("res.partner", "read", [int(i) for i in linked.values()],
                                                  ["company_id", "active"], context={"active_test": False})}
    shared = [rel for rel, pid in sorted(linked.items(), key=lambda pair: int(pair[1]))  # the same two every time
              if partners[pid]["active"] and not partners[pid]["company_id"]][:2]
    product, sent = _product(tribe), tribe.codes("Datastore_Phase_ActivityInvoice")["Sent"]
    entities = tribe.codes("Datastore_LegalEntity")
    made = []
    for rel_id, entity in zip(shared, ("NL", "BE"), strict=True):
        invoice = tribe.create("Activity_Invoice", {
            "Subject": SUBJECT, "Relationship": {"ID": rel_id}, "PaymentTermInDays": 14,
            "LegalEntity": {"ID": entities[entity]},
            "ProductLines": [{"Product": {"ID": product}, "Description": "Advies", "Quantity": 8, "Price": 125.0,
                              "VatGroup": {"ID": tribe.codes("Datastore_VatGroup")["HIGH"]}}]})
        tribe.update("Activity_Invoice", invoice["ID"], {"Phase": {"ID": sent}})
        made.append(invoice["ID"])
    return made


def odoo_story(bag: Any, engine: Any, odoo_url: str) -> tuple[list[tuple[str, Any]], list[str]]:
    """Run the Odoo DAGs around the user's actions; return the (label, dagrun) pairs and the
    demo invoices' Tribe ids."""
    from tribe_operators.store.ledger import ExportLedger
    from tribe_operators.store.links import LinkStore
    from tribe_operators.systems.odoo.hook import OdooHook
    from tribe_operators.systems.tribe.hook import TribeCrmHook

    runs = [("nightly import", bag.dags["odoo_to_tribe"].test(logical_date=datetime.now(UTC)))]
    tribe, odoo = TribeCrmHook(), OdooHook()
    invoices = _ensure_invoices(tribe, odoo, LinkStore(engine, "odoo"))
    runs.append(("invoices → posted", bag.dags["tribe_invoices_to_odoo"].test(
        logical_date=datetime.now(UTC), run_conf={"invoice_ids": invoices})))
    row = ExportLedger(engine, "odoo").get(invoices[0])
    if row is not None and row.state == "sent":  # the customer pays it in full (once)
        [move] = odoo.call("account.move", "read", [int(row.external_id)], ["payment_state"])
        if move["payment_state"] == "not_paid":
            requests.post(f"{odoo_url}/_sandbox/odoo/payments", json={"move_id": int(row.external_id)}, timeout=10)
    runs.append(("payments", bag.dags["odoo_payments_to_tribe"].test(logical_date=datetime.now(UTC) + timedelta(days=1))))
    return runs, invoices
