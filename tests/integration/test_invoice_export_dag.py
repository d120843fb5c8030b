"""``tribe_invoices_to_poweroffice`` end to end: Sent invoices become PowerOffice sales orders,
exactly once — also when the remote create's answer is lost, or the process dies between the
remote create and the ledger commit."""
from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fixtures.chaos import die_before_ledger_commit, no_retry_wait
from tests.fixtures.records import OSLO, invoice_phase, linked_customers, orders_for, payment_counts, ref, sent_invoice
from tests.fixtures.simulators import assert_poweroffice_traffic_conforms, connection_env
from tribe_operators.store.ledger import ExportLedger
from tribe_operators.store.links import Link, LinkStore
from tribe_operators.store.outcomes import run_outcomes
from tribe_operators.store.quarantine import Quarantine

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dags(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    invoice_dag = no_retry_wait(bag.dags["tribe_invoices_to_poweroffice"])  # retries as configured, no waiting
    return bag.dags["poweroffice_to_tribe"], invoice_dag


@pytest.fixture
def world(dags, sims, link_db):
    """A customer as the relations import leaves it (linked both sides; the import has its own
    tests) and a product known on both sides."""
    (relationship,) = linked_customers(sims.tribe, sims.po, link_db, 1)
    po_product = sims.po.insert_product(Name="Konsulenttime", Code="KONS-1", UnitPrice=250.0,
                                        UnitOfMeasureCode="HUR")
    tribe_product = sims.tribe.insert("Product", {"Name": po_product["Name"], "Code": po_product["Code"],
                                                  "SalesPrice": 250.0})
    po_customer = LinkStore(link_db, "poweroffice").to_external("customer_relationship", relationship)
    return {"invoice_dag": _fresh_invoice_dag(), "product": tribe_product, "relationship": relationship,
            "po_customer": int(po_customer)}


def _fresh_invoice_dag():
    """The invoice DAG parsed anew: dag.test() runs the tasks in this process and leaves their
    rendered template fields on the task objects (``invoice_ids`` of an earlier run's conf would
    stick), where a real Airflow starts each task from the serialized DAG."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags" / "tribe_invoices_to_poweroffice.py"))
    return no_retry_wait(bag.dags["tribe_invoices_to_poweroffice"])


def sent(sims, world, *, quantity=2, vat="NO25", unit="PCS", **fields):
    """One Sent invoice of the world's product for its customer."""
    tribe = sims.tribe
    return sent_invoice(tribe, world["relationship"], [{
        "Product": {"ID": world["product"]["ID"]}, "Quantity": quantity, "Price": 250.0,
        "Unit": {"ID": ref(tribe, "Datastore_Unit", unit)}, "VatGroup": {"ID": ref(tribe, "Datastore_VatGroup", vat)}}],
        **fields)


def run_note(dagrun):
    """The run's note as the Airflow UI shows it (written by the plugin's listener)."""
    from airflow.models.dagrun import DagRunNote
    from airflow.utils.session import create_session

    with create_session() as session:
        note = session.get(DagRunNote, dagrun.id)
        return note.content if note else None


def run(dag, **conf):
    return dag.test(logical_date=datetime.now(UTC), run_conf=conf or None)


def test_sent_invoice_becomes_one_draft_sales_order_with_all_details(sims, world, link_db):
    invoice = sent(sims, world)
    dagrun = run(world["invoice_dag"])
    assert str(dagrun.state).endswith("success")
    (order,) = orders_for(sims.po, invoice["ID"])
    assert order["CustomerId"] == world["po_customer"]
    assert order["SalesOrderStatus"] == "Draft" and order["ImportedOrderNo"] == invoice["Number"]
    assert order["SalesOrderDate"] == invoice["InvoiceDate"]
    complete = next(o for o in sims.po.all("sales_orders") if o["Id"] == order["Id"])
    assert complete["NetAmount"] == pytest.approx(500.0)
    assert ExportLedger(link_db, "poweroffice").get(invoice["ID"]).state == "created"
    run(world["invoice_dag"])  # again: nothing new
    assert len(orders_for(sims.po, invoice["ID"])) == 1


def test_lost_response_on_create_still_posts_once(sims, world, link_db):
    invoice = sent(sims, world)
    sims.po.faults.update({"lost_response": 1.0, "paths": ["SalesOrders/Complete"]})
    assert str(run(world["invoice_dag"]).state).endswith("success")
    sims.po.faults.clear()
    assert len(orders_for(sims.po, invoice["ID"])) == 1
    assert ExportLedger(link_db, "poweroffice").get(invoice["ID"]).state == "created"


def test_crash_between_remote_create_and_ledger_commit_posts_once(sims, world, link_db, monkeypatch):
    """The first attempt dies right after PowerOffice created the order, before the ledger
    commit; Airflow retries the task, which finds the order by its reference."""
    invoice = sent(sims, world)
    landed = []  # what PowerOffice had at the moment the attempt died

    def dies(tribe_id):
        landed.append(len(orders_for(sims.po, tribe_id)))
        return True

    deaths = die_before_ledger_commit(monkeypatch, dies)
    dagrun = run(world["invoice_dag"])
    assert deaths == [invoice["ID"]] and landed == [1]  # it had landed remotely, unrecorded, when the attempt died
    (ti,) = [ti for ti in dagrun.get_task_instances() if ti.task_id == "export_invoice"]
    assert str(ti.state).endswith("success") and ti.try_number == 2
    assert len(orders_for(sims.po, invoice["ID"])) == 1  # found by its reference, not posted again
    row = ExportLedger(link_db, "poweroffice").get(invoice["ID"])
    assert row.state == "created" and row.attempts == 2


def test_booked_mode_completes_and_sends(sims, world, link_db, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_POWEROFFICE_SETTINGS", json.dumps({"invoice_mode": "booked"}))
    invoice = sent(sims, world)
    assert str(run(world["invoice_dag"]).state).endswith("success")
    (booked,) = orders_for(sims.po, invoice["ID"])
    outgoing = [i for i in sims.po.all("outgoing_invoices") if i["Id"] == booked["Id"]]
    assert outgoing and outgoing[0]["Balance"] == pytest.approx(outgoing[0]["TotalAmount"])
    row = ExportLedger(link_db, "poweroffice").get(invoice["ID"])
    assert row.state == "sent" and row.external_number == str(outgoing[0]["InvoiceNo"])


def test_a_bad_invoice_is_quarantined_and_fails_alone(sims, world, link_db, monkeypatch):
    settings = {"vat_map": {"HIGH": None}}  # the Variable's null takes HIGH out of the file's map
    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_POWEROFFICE_SETTINGS", json.dumps(settings))
    good = sent(sims, world)
    bad = sent(sims, world, vat="HIGH")
    dagrun = run(world["invoice_dag"])
    states = {ti.map_index: ti.state for ti in dagrun.get_task_instances() if ti.task_id == "export_invoice"}
    assert sorted(str(s) for s in states.values()) == ["failed", "success"]
    # The run is red because an invoice failed; the summary (a teardown) still ran.
    summary = next(ti for ti in dagrun.get_task_instances() if ti.task_id == "summary")
    assert str(dagrun.state).endswith("failed") and str(summary.state).endswith("success")
    assert len(orders_for(sims.po, good["ID"])) == 1 and orders_for(sims.po, bad["ID"]) == []
    (q,) = Quarantine(link_db, "poweroffice").open("invoices")
    assert q["record_id"] == bad["ID"] and "'HIGH'" in q["reason"] and "vat_map" in q["reason"]
    assert q["system"] == "tribe"  # Tribe's data is at fault: fix it there
    # The summary has a row per invoice of the run (the failed one with its reason), the run a note.
    outcomes = {o["number"]: o for o in run_outcomes(link_db, dagrun.run_id)}
    assert set(outcomes) == {str(good["Number"]), str(bad["Number"])}
    organisation = sims.tribe.get("Relationship", world["relationship"])["Organization"]
    customer = sims.tribe.get("Relation_Organization", organisation)["Name"]
    assert {o["customer"] for o in outcomes.values()} == {customer}
    assert outcomes[str(good["Number"])]["status"] == "draft" and outcomes[str(good["Number"])]["external_id"]
    assert outcomes[str(bad["Number"])]["status"] == "failed" and "vat_map" in outcomes[str(bad["Number"])]["reason"]
    assert float(outcomes[str(good["Number"])]["amount"]) == pytest.approx(good["TotalIncludingVat"])
    labels = sorted(ti.rendered_map_index for ti in dagrun.get_task_instances() if ti.task_id == "export_invoice")
    assert labels == sorted(f"invoice {i['Number']} · {customer} · {i['Currency']} {i['TotalIncludingVat']:,.2f}"
                            for i in (good, bad)), labels
    assert summary.xcom_pull(task_ids="summary")["totals"] == {"draft": 1, "failed": 1, "quarantined": 1}
    assert run_note(dagrun) == "⚠ 1 quarantined · 1 failed · 1 draft"


def test_an_invoice_is_exported_again_by_its_number(sims, world, link_db):
    first, second = sent(sims, world), sent(sims, world)
    dagrun = run(_fresh_invoice_dag(), invoice_numbers=[str(second["Number"])])
    assert str(dagrun.state).endswith("success")
    assert orders_for(sims.po, first["ID"]) == [] and len(orders_for(sims.po, second["ID"])) == 1
    # The same number again: already exported, nothing posted twice; an unknown number fails the find.
    again = run(_fresh_invoice_dag(), invoice_numbers=[second["Number"]])
    assert str(again.state).endswith("success") and len(orders_for(sims.po, second["ID"])) == 1
    unknown = run(_fresh_invoice_dag(), invoice_numbers=["999999"])
    find = next(ti for ti in unknown.get_task_instances() if ti.task_id == "find_sent_invoices")
    assert str(find.state).endswith("failed")


def test_an_invoice_poweroffice_refuses_is_quarantined_under_poweroffice(sims, world, link_db):
    unknown = sims.tribe.insert("Product", {"Name": "Ukjent", "Code": "NOT-IN-PO", "SalesPrice": 10.0})
    tribe = sims.tribe
    invoice = sent_invoice(tribe, world["relationship"], [{
        "Product": {"ID": unknown["ID"]}, "Quantity": 1, "Price": 10.0, "Unit": {"ID": ref(tribe, "Datastore_Unit", "PCS")},
        "VatGroup": {"ID": ref(tribe, "Datastore_VatGroup", "NO25")}}])
    assert str(run(world["invoice_dag"]).state).endswith("failed")
    (q,) = Quarantine(link_db, "poweroffice").open("invoices")
    assert (q["record_id"], q["system"]) == (invoice["ID"], "poweroffice")
    assert "PowerOffice Go refused the invoice" in q["reason"] and "NOT-IN-PO" in q["reason"]
    assert ExportLedger(link_db, "poweroffice").get(invoice["ID"]).state == "in_flight"  # claimed, nothing made


def test_payments_mark_paid_and_record_partial(dags, sims, world, link_db, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    payments = DagBag(dag_folder=str(ROOT / "dags")).dags["poweroffice_payments_to_tribe"]
    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_POWEROFFICE_SETTINGS", json.dumps({"invoice_mode": "booked"}))
    full, partial = sent(sims, world), sent(sims, world, quantity=4)
    assert str(run(world["invoice_dag"]).state).endswith("success")
    ledger = ExportLedger(link_db, "poweroffice")
    full_po, partial_po = ledger.get(full["ID"]).external_id, ledger.get(partial["ID"]).external_id
    total = next(i for i in sims.po.all("outgoing_invoices") if str(i["Id"]) == full_po)["TotalAmount"]
    sims.po.register_payment(full_po, total)
    sims.po.register_payment(partial_po, 100.0)

    dagrun = payments.test(logical_date=datetime.now(UTC) + timedelta(hours=4))
    assert str(dagrun.state).endswith("success")
    phase = {r["ID"]: r["Code"] for r in sims.tribe.all("Datastore_Phase_ActivityInvoice")}
    assert phase[sims.tribe.get("Activity_Invoice", full["ID"])["Phase"]] == "Paid"
    assert phase[sims.tribe.get("Activity_Invoice", partial["ID"])["Phase"]] == "Sent"
    import sqlalchemy as sa

    from tribe_operators.store.schema import export_ledger
    with link_db.connect() as conn:
        row = conn.execute(sa.select(export_ledger).where(export_ledger.c.tribe_id == partial["ID"])).one()
    assert float(row.balance) == pytest.approx(float(row.total_amount) - 100.0) and row.paid_at is None


def test_lost_response_posts_once_even_where_poweroffice_would_take_the_reference_twice(sims, world, link_db):
    """The in-flight lookup, not the server's duplicate check, prevents the double post: with
    the check off (as some tenants' integrations behave), a retry that did not look first
    would create a second order."""
    sims.po.unique_import_reference = False
    invoice = sent(sims, world)
    sims.po.faults.update({"lost_response": 1.0, "paths": ["SalesOrders/Complete"]})
    assert str(run(world["invoice_dag"]).state).endswith("success")
    sims.po.faults.clear()
    assert len(orders_for(sims.po, invoice["ID"])) == 1
    assert ExportLedger(link_db, "poweroffice").get(invoice["ID"]).state == "created"


def test_one_invoice_by_id_exports_only_that_one_and_an_exported_one_is_left_alone(sims, world, link_db):
    first, second = sent(sims, world), sent(sims, world)
    assert str(run(world["invoice_dag"], invoice_ids=[second["ID"]]).state).endswith("success")  # as a webhook run
    assert orders_for(sims.po, first["ID"]) == [] and len(orders_for(sims.po, second["ID"])) == 1
    before = ExportLedger(link_db, "poweroffice").get(second["ID"])
    assert str(run(world["invoice_dag"], invoice_ids=[second["ID"]]).state).endswith("success")
    assert len(orders_for(sims.po, second["ID"])) == 1
    assert ExportLedger(link_db, "poweroffice").get(second["ID"]).attempts == before.attempts  # not even tried


def test_a_dry_run_posts_nothing_and_claims_nothing(sims, world, link_db):
    invoice = sent(sims, world)
    assert str(run(world["invoice_dag"], dry_run=True).state).endswith("success")
    assert orders_for(sims.po, invoice["ID"]) == []
    assert ExportLedger(link_db, "poweroffice").get(invoice["ID"]) is None


def test_payments_read_only_their_window_and_leave_a_paid_invoice_alone(dags, sims, world, link_db, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    payments = DagBag(dag_folder=str(ROOT / "dags")).dags["poweroffice_payments_to_tribe"]
    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_POWEROFFICE_SETTINGS", json.dumps({"invoice_mode": "booked"}))
    invoice = sent(sims, world)
    assert str(run(world["invoice_dag"]).state).endswith("success")
    po_id = ExportLedger(link_db, "poweroffice").get(invoice["ID"]).external_id
    total = next(i for i in sims.po.all("outgoing_invoices") if str(i["Id"]) == po_id)["TotalAmount"]
    sims.po.register_payment(po_id, total)
    first = payments.test(logical_date=datetime.now(UTC) + timedelta(hours=4))
    assert str(first.state).endswith("success")
    paid_phase = sims.tribe.get("Activity_Invoice", invoice["ID"])["Phase"]
    sims.tribe.reset_counters()
    second = payments.test(logical_date=datetime.now(UTC) + timedelta(hours=8))  # the next window: nothing new
    assert str(second.state).endswith("success")
    (ti,) = [ti for ti in second.get_task_instances() if ti.task_id == "sync_payments"]
    counts = ti.xcom_pull(task_ids="sync_payments", map_indexes=0)
    assert counts["paid"] == 0, counts
    writes = [c for c in sims.tribe.counters()["calls"] if c.split()[0] in ("POST", "PUT", "PATCH")
              and "oauth2" not in c]
    assert writes == [] and sims.tribe.get("Activity_Invoice", invoice["ID"])["Phase"] == paid_phase


@pytest.fixture
def belgium(sims, world, link_db, monkeypatch):
    """A second legal entity: the Belgian company's own PowerOffice client (its own simulator,
    behind the connection ``poweroffice_be``) as scope ``belgium``; invoices whose Tribe legal
    entity is BE go there. The world's customer is a customer there too, under its own id."""
    from sandbox.common import ServerThread
    from sandbox.poweroffice import PowerOfficeState
    from sandbox.poweroffice import create_app as po_app

    state = PowerOfficeState()
    state.record_traffic = True
    with ServerThread(po_app(state)) as server:
        monkeypatch.setenv("AIRFLOW_CONN_POWEROFFICE_BE",
                           connection_env(sims.tribe_url, server.url)["AIRFLOW_CONN_POWEROFFICE_DEFAULT"])
        monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_POWEROFFICE_SETTINGS", json.dumps({
            "scopes": {"default": {}, "belgium": {"conn_id": "poweroffice_be", "title": "Tribe Demo België BV"}},
            "invoice_scope": {"field": "LegalEntity.Code", "map": {"BE": "belgium"}}}))
        customer = state.insert_customer(Name="Faktura Kunde AS", MailAddress=OSLO, EmailAddress="faktura@kunde.example")
        LinkStore(link_db, "poweroffice", "belgium").bulk_bind(
            [Link("customer_relationship", world["relationship"], str(customer["Id"]))])
        state.insert_product(Name="Konsulenttime", Code="KONS-1", UnitPrice=250.0, UnitOfMeasureCode="HUR")
        yield {"po": state, "customer": customer,
               "entity": {code: {"ID": ref(sims.tribe, "Datastore_LegalEntity", code)} for code in ("BE", "NL")}}
    assert_poweroffice_traffic_conforms(state)


def test_a_per_invoice_scope_lands_in_its_own_ledger_and_scope(sims, world, link_db, belgium):
    """The invoice's legal entity picks its scope (``invoice_scope``): a BE invoice goes to the
    Belgian company's client through that scope's connection, with its ledger row and links in
    that scope; one without a legal entity goes to the default; a legal entity no scope serves
    is quarantined naming the field, and the others go on."""
    be = sent(sims, world, LegalEntity=belgium["entity"]["BE"])
    plain = sent(sims, world)
    unserved = sent(sims, world, LegalEntity=belgium["entity"]["NL"])

    dagrun = run(world["invoice_dag"])
    states = sorted(str(ti.state) for ti in dagrun.get_task_instances() if ti.task_id == "export_invoice")
    assert states == ["failed", "success", "success"]
    (order,) = orders_for(belgium["po"], be["ID"])
    assert order["CustomerId"] == belgium["customer"]["Id"] and orders_for(sims.po, be["ID"]) == []
    assert len(orders_for(sims.po, plain["ID"])) == 1 and orders_for(belgium["po"], plain["ID"]) == []
    assert ExportLedger(link_db, "poweroffice", "belgium").get(be["ID"]).external_id == str(order["Id"])
    assert ExportLedger(link_db, "poweroffice").get(be["ID"]) is None
    assert ExportLedger(link_db, "poweroffice", "belgium").get(plain["ID"]) is None
    (q,) = Quarantine(link_db, "poweroffice").open("invoices")
    assert q["record_id"] == unserved["ID"] and q["field"] == "LegalEntity.Code" and "'NL'" in q["reason"]
    assert orders_for(sims.po, unserved["ID"]) == orders_for(belgium["po"], unserved["ID"]) == []

    run(_fresh_invoice_dag())  # again: each scope's ledger knows its own
    assert len(orders_for(belgium["po"], be["ID"])) == 1 and len(orders_for(sims.po, plain["ID"])) == 1


def test_payments_run_once_per_scope_without_their_ids_or_counts_colliding(dags, sims, world, link_db, belgium,
                                                                           monkeypatch):
    """One mapped task per scope, each through its own connection into its own ledger: a payment
    in the Belgian client marks the Belgian invoice Paid and leaves the other alone, and each
    scope's counts stay its own."""
    from airflow.dag_processing.dagbag import DagBag

    settings = json.loads(os.environ["AIRFLOW_VAR_TRIBE_SYNC_POWEROFFICE_SETTINGS"])
    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_POWEROFFICE_SETTINGS", json.dumps({**settings, "invoice_mode": "booked"}))
    be, plain = sent(sims, world, LegalEntity=belgium["entity"]["BE"]), sent(sims, world)
    assert str(run(world["invoice_dag"]).state).endswith("success")
    be_id = ExportLedger(link_db, "poweroffice", "belgium").get(be["ID"]).external_id
    total = next(i for i in belgium["po"].all("outgoing_invoices") if str(i["Id"]) == be_id)["TotalAmount"]
    belgium["po"].register_payment(be_id, total)

    payments = DagBag(dag_folder=str(ROOT / "dags" / "poweroffice_payments_to_tribe.py")).dags[
        "poweroffice_payments_to_tribe"]
    dagrun = payments.test(logical_date=datetime.now(UTC) + timedelta(hours=4))
    assert str(dagrun.state).endswith("success")
    assert invoice_phase(sims.tribe, be["ID"]) == "Paid"
    assert invoice_phase(sims.tribe, plain["ID"]) == "Sent"
    counts = payment_counts(link_db, dagrun.run_id)
    assert (counts["belgium"]["read"], counts["belgium"]["paid"]) == (1, 1)
    assert (counts["default"]["read"], counts["default"]["paid"], counts["default"]["unpaid"]) == (1, 0, 1)
    labels = sorted(ti.rendered_map_index for ti in dagrun.get_task_instances() if ti.task_id == "sync_payments")
    assert labels == ["belgium", "default"]


def test_an_invoice_fixed_at_the_source_is_exported_and_its_quarantine_row_closes(sims, world, link_db):
    """Quarantined for bad data in Tribe (its product has no code), fixed there, exported by the
    next run: its quarantine row must close, else the page keeps offering Retry for a landed invoice."""
    import sqlalchemy as sa

    from tribe_operators.store.schema import quarantine

    product = world["product"]
    sims.tribe.update("Product", product["ID"], {"Code": None})
    invoice = sent(sims, world)
    assert str(run(world["invoice_dag"]).state).endswith("failed")
    (q,) = Quarantine(link_db, "poweroffice").open("invoices")
    assert q["record_id"] == invoice["ID"] and "Product.Code" in q["field"] and q["system"] == "tribe"
    assert orders_for(sims.po, invoice["ID"]) == []

    sims.tribe.update("Product", product["ID"], {"Code": product["Code"]})  # fixed in Tribe (the invoice is frozen)
    # The safety poll leaves a held invoice to the run that failed it (a red run every 5 minutes
    # otherwise): green, nothing exported, still held; a run naming it exports it.
    poll = run(_fresh_invoice_dag())
    assert str(poll.state).endswith("success") and orders_for(sims.po, invoice["ID"]) == []
    assert [r["record_id"] for r in Quarantine(link_db, "poweroffice").open("invoices")] == [invoice["ID"]]
    assert str(run(_fresh_invoice_dag(), invoice_numbers=[invoice["Number"]]).state).endswith("success")
    assert len(orders_for(sims.po, invoice["ID"])) == 1
    assert Quarantine(link_db, "poweroffice").open("invoices") == []
    with link_db.connect() as conn:
        row = conn.execute(sa.select(quarantine).where(quarantine.c.record_id == invoice["ID"])).one()
    assert row.resolved_at is not None and row.dismissed_by is None  # closed as fixed, not dismissed
