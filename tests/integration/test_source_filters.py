"""Settings filters reach the source: PowerOffice gets a list parameter where the resource has
one, Tribe an OData ``$filter``; the run syncs only what they let through."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from tests.fixtures.records import OSLO
from tribe_operators.store.links import LinkStore

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
ROOT = Path(__file__).resolve().parents[2]
SETTINGS = "AIRFLOW_VAR_TRIBE_SYNC_POWEROFFICE_SETTINGS"


def _dag(name):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags" / f"{name}.py")).dags[name]


def test_an_import_reads_only_the_customers_its_settings_name_asking_poweroffice_for_them(
        airflow_db, sims, link_db, monkeypatch):
    wanted = [sims.po.insert_customer(Name=f"Utvalgt {i} AS", MailAddress=OSLO) for i in range(2)]
    other = sims.po.insert_customer(Name="Annen Kunde AS", MailAddress=OSLO)
    numbers = [c["Number"] for c in wanted]
    monkeypatch.setenv(SETTINGS, json.dumps({"enabled_streams": ["customers"], "filters": {
        "customers": [{"field": "Number", "op": "in", "value": numbers},
                      {"field": "Name", "op": "contains", "value": "utvalgt"}]}}))  # the second: checked here

    dagrun = _dag("poweroffice_to_tribe").test(logical_date=datetime.now(UTC) + timedelta(minutes=20))
    assert str(dagrun.state).endswith("success")
    links = LinkStore(link_db, "poweroffice")
    assert all(links.to_internal("customer", str(c["Id"])) for c in wanted)
    assert links.to_internal("customer", str(other["Id"])) is None
    asked = [parse_qs(x["query"]) for x in sims.po.traffic if x["method"] == "GET" and x["path"] == "/v2/Customers"]
    assert asked and all(q.get("customerNos") == [",".join(map(str, numbers))] for q in asked)


def test_an_export_reads_only_the_organisations_its_settings_let_through(airflow_db, sims, link_db, monkeypatch):
    tribe = sims.tribe
    for name in ("Behold Handel AS", "Dropp Handel AS"):
        org = tribe.insert("Relation_Organization", {"Name": name})
        tribe.insert("Relationship_Organization_CommercialRelationship_Customer", {"Organization": {"ID": org["ID"]}})
    monkeypatch.setenv(SETTINGS, json.dumps({"enabled_streams": ["tribe_customers"], "filters": {
        "tribe_customers": [{"field": "Organization.Name", "op": "contains", "value": "behold"}]}}))

    dagrun = _dag("tribe_to_poweroffice").test(logical_date=datetime.now(UTC) + timedelta(minutes=20))
    assert str(dagrun.state).endswith("success")
    assert [c["Name"] for c in sims.po.all("customers")] == ["Behold Handel AS"]
