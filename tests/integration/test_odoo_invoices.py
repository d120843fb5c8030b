"""``tribe_invoices_to_odoo`` and ``odoo_payments_to_tribe`` end to end: Sent invoices become
posted Odoo invoices (credit notes for negative ones) in their legal entity, exactly once, and
Odoo's payment states come back to Tribe."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fixtures.chaos import no_retry_wait
from tests.fixtures.records import invoice_phase, payment_counts, ref, sent_invoice
from tribe_operators.store.ledger import ExportLedger
from tribe_operators.store.links import Link, LinkStore
from tribe_operators.store.quarantine import Quarantine

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
ROOT = Path(__file__).resolve().parents[2]


def _dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    return no_retry_wait(DagBag(dag_folder=str(ROOT / "dags" / f"{dag_id}.py")).dags[dag_id])


@pytest.fixture
def world(airflow_db, odoo_sims, link_db):
    """Both legal entities in Odoo (the seed's NL and BE companies, with products), and two
    customers as the relations sync leaves them: linked both sides, in Tribe with their Customer
    relationship. One is shared by both companies, one owned by the Dutch company."""
    sims = odoo_sims
    sims.odoo.seed(companies=0, individuals=0, products=4, invoices=0)
    links, out = LinkStore(link_db, "odoo"), {}
    for name, company in (("shared", False), ("dutch", 1)):
        partner = sims.odoo.insert("res.partner", {"name": f"Klant {name} BV", "is_company": True, "customer_rank": 1,
                                                   "company_id": company, "country_id": 1})
        org = sims.tribe.insert("Relation_Organization", {"Name": f"Klant {name} BV"})
        rel = sims.tribe.insert("Relationship_Organization_CommercialRelationship_Customer",
                                {"Organization": {"ID": org["ID"]}})
        links.bulk_bind([Link("customer", org["ID"], str(partner)), Link("customer_relationship", rel["ID"], str(partner))])
        out[name] = {"partner": partner, "relationship": rel["ID"]}
    product = sims.tribe.insert("Product", {"Name": "Consultancy", "Code": "P-1001", "SalesPrice": 125.0})
    return {**out, "product": product["ID"]}


def sent(sims, world, who="shared", *, price=125.0, quantity=2, vat="HIGH", entity=None):
    tribe = sims.tribe
    fields = {"LegalEntity": {"ID": ref(tribe, "Datastore_LegalEntity", entity)}} if entity else {}
    return sent_invoice(tribe, world[who]["relationship"], [{
        "Product": {"ID": world["product"]}, "Description": "Advies", "Quantity": quantity, "Price": price,
        "Unit": {"ID": ref(tribe, "Datastore_Unit", "HUR")}, "VatGroup": {"ID": ref(tribe, "Datastore_VatGroup", vat)}}],
        **fields)


def moves(odoo, invoice_id):
    found = odoo.search("account.move", [["invoice_origin", "=", f"tribe:{invoice_id}"]], active_test=False)
    return [odoo.read("account.move", m) for m in found]


def test_sent_invoices_are_posted_in_their_legal_entity_once_and_bad_ones_quarantined(odoo_sims, world, link_db):
    sims = odoo_sims
    dutch = sent(sims, world)
    belgian = sent(sims, world, entity="BE")
    credit = sent(sims, world, "dutch", price=-125.0, quantity=1)
    unmapped = sent(sims, world, vat="NO25")  # no Odoo tax mapped for it
    foreign = sent(sims, world, "dutch", entity="BE")  # a partner the Dutch company owns, invoiced in Belgium
    dagrun = _dag("tribe_invoices_to_odoo").test(logical_date=datetime.now(UTC))
    assert not str(dagrun.state).endswith("success")  # the unmapped one fails its own task

    (nl,) = moves(sims.odoo, dutch["ID"])
    assert (nl["state"], nl["move_type"], nl["company_id"], nl["partner_id"]) == ("posted", "out_invoice", 1,
                                                                                  world["shared"]["partner"])
    assert nl["ref"] == str(dutch["Number"]) and nl["amount_untaxed"] == 250.0 and nl["amount_total"] == 302.5
    (line,) = [sims.odoo.read("account.move.line", i) for i in nl["invoice_line_ids"]]
    product = sims.odoo.search("product.product", [["default_code", "=", "P-1001"]])[0]
    account = sims.odoo.read("account.account", line["account_id"])
    assert (line["product_id"], line["quantity"], line["price_unit"], account["code"]) == (product, 2.0, 125.0, "8000")
    (be,) = moves(sims.odoo, belgian["ID"])
    assert be["state"] == "posted" and be["company_id"] == 2  # the second legal entity, its own journal
    assert sims.odoo.read("account.journal", be["journal_id"])["company_id"] == 2
    (refund,) = moves(sims.odoo, credit["ID"])
    assert (refund["move_type"], refund["state"], refund["amount_untaxed"]) == ("out_refund", "posted", 125.0)
    assert moves(sims.odoo, unmapped["ID"]) == []
    problem = next(q for q in Quarantine(link_db, "odoo").open("invoices") if q["record_id"] == unmapped["ID"])
    assert "VatGroup" in problem["field"] and "NO25" in problem["reason"]
    assert ExportLedger(link_db, "odoo", "be").get(belgian["ID"]).state == "sent"
    assert moves(sims.odoo, foreign["ID"]) == []  # Odoo refuses another company's partner: quarantined
    refused = next(q for q in Quarantine(link_db, "odoo", "be").open("invoices") if q["record_id"] == foreign["ID"])
    assert refused["system"] == "odoo" and "refused" in refused["reason"]

    # Again: nothing new is created or posted (the refused ones are tried again, and refused again).
    before = sims.odoo.search("account.move", [], active_test=False)
    sims.odoo.reset_counters()
    _dag("tribe_invoices_to_odoo").test(logical_date=datetime.now(UTC) + timedelta(minutes=5))
    assert sims.odoo.search("account.move", [], active_test=False) == before
    assert "account.move.action_post" not in sims.odoo.counters()["calls"]
    assert [len(moves(sims.odoo, i["ID"])) for i in (dutch, belgian, credit)] == [1, 1, 1]


def test_payments_mark_tribe_invoices_paid_and_record_partial_ones(odoo_sims, world, link_db):
    sims = odoo_sims
    full, half, wrong = sent(sims, world), sent(sims, world, entity="BE"), sent(sims, world, price=99.0)
    assert str(_dag("tribe_invoices_to_odoo").test(logical_date=datetime.now(UTC)).state).endswith("success")
    (paid_move,), (half_move,), (wrong_move,) = (moves(sims.odoo, i["ID"]) for i in (full, half, wrong))
    sims.odoo.register_payment(paid_move["id"])  # in payment (not yet matched with the bank): settled
    sims.odoo.register_payment(half_move["id"], amount=100.0)
    context = {"active_model": "account.move", "active_ids": [wrong_move["id"]]}  # credited in full in Odoo
    wizard = sims.odoo.call("account.move.reversal", "create", [{"reason": "Verkeerde prijs"}], context=context)
    sims.odoo.call("account.move.reversal", "modify_moves", wizard, context=context)
    payments = _dag("odoo_payments_to_tribe")
    dagrun = payments.test(logical_date=datetime.now(UTC) + timedelta(days=1))
    assert str(dagrun.state).endswith("success")
    assert invoice_phase(sims.tribe, full["ID"]) == "Paid"
    assert invoice_phase(sims.tribe, half["ID"]) == "Sent"
    counts = payment_counts(link_db, dagrun.run_id)
    assert counts["default"]["paid"] == 1 and counts["be"]["partial"] == 1 and counts["default"]["reversed"] == 1
    assert invoice_phase(sims.tribe, wrong["ID"]) == "Sent"  # reported, not Paid
    import sqlalchemy as sa

    from tribe_operators.store.schema import export_ledger

    with link_db.connect() as conn:
        balance = conn.execute(sa.select(export_ledger.c.balance).where(
            export_ledger.c.integration == "odoo", export_ledger.c.tribe_id == half["ID"])).scalar_one()
    assert str(balance) == "202.50"  # 302.50 - 100.00, in Decimal
