"""Following a quarantine reason's advice keeps everything else working: the Variable JSON it
names adds one VAT group to the file's map, and every other invoice still exports."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.fixtures.chaos import no_retry_wait
from tests.fixtures.records import linked_customers, orders_for, ref, sent_invoice
from tribe_operators.store.quarantine import Quarantine

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
ROOT = Path(__file__).resolve().parents[2]
VARIABLE = "AIRFLOW_VAR_TRIBE_SYNC_POWEROFFICE_SETTINGS"


@pytest.fixture
def invoice_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    def fresh():  # parsed anew per run: dag.test() leaves rendered fields on the task objects
        bag = DagBag(dag_folder=str(ROOT / "dags" / "tribe_invoices_to_poweroffice.py"))
        return no_retry_wait(bag.dags["tribe_invoices_to_poweroffice"])
    return fresh


def _sent(sims, relationship, product, vat):
    tribe = sims.tribe
    return sent_invoice(tribe, relationship, [{
        "Product": {"ID": product["ID"]}, "Quantity": 1, "Price": 100.0,
        "Unit": {"ID": ref(tribe, "Datastore_Unit", "PCS")}, "VatGroup": {"ID": ref(tribe, "Datastore_VatGroup", vat)}}])


def test_adding_one_vat_group_through_the_variable_keeps_every_other_invoice_exporting(
        sims, link_db, invoice_dag, monkeypatch):
    monkeypatch.delenv(VARIABLE, raising=False)
    (relationship,) = linked_customers(sims.tribe, sims.po, link_db, 1)
    sims.po.insert_product(Name="Konsulenttime", Code="KONS-1", UnitPrice=100.0, UnitOfMeasureCode="HUR")
    product = sims.tribe.insert("Product", {"Name": "Konsulenttime", "Code": "KONS-1", "SalesPrice": 100.0})
    sims.tribe.insert("Datastore_VatGroup", {"Code": "NO12", "Name": "MVA lav 12%", "Percentage": 12})  # new in Tribe
    held = _sent(sims, relationship, product, "NO12")
    first = invoice_dag().test(logical_date=datetime.now(UTC))
    assert str(first.state).endswith("failed") and orders_for(sims.po, held["ID"]) == []
    (row,) = Quarantine(link_db, "poweroffice").open("invoices")
    # The operator does what the reason says, with the code PowerOffice uses for 15 % (31).
    advice = re.search(r"set the Variable tribe_sync_poweroffice_settings to (\{.*?\}\})", row["reason"]).group(1)
    monkeypatch.setenv(VARIABLE, advice.replace('"<code>"', '"31"'))
    assert json.loads(advice)["vat_map"].keys() == {"NO12"}
    others = [_sent(sims, relationship, product, vat) for vat in ("NO25", "NO15", "HIGH", "LOW", "ZERO")]
    second = invoice_dag().test(logical_date=datetime.now(UTC), run_conf={"invoice_ids": [held["ID"]]})
    third = invoice_dag().test(logical_date=datetime.now(UTC))
    assert str(second.state).endswith("success") and str(third.state).endswith("success")
    for invoice in [held, *others]:
        assert len(orders_for(sims.po, invoice["ID"])) == 1, invoice["Number"]
    assert Quarantine(link_db, "poweroffice").open("invoices") == []
