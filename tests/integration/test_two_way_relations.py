"""Two-way relations without echo: PowerOffice → Tribe, Tribe → PowerOffice, and back.

A change synced A → B must not come back B → A: after each write the record is hashed
through the opposite stream's mapping and the hash stored on the link (content hash per
side). These tests count the writes each direction makes.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sandbox.scenario import seed_demo
from tribe_operators.store.links import LinkStore
from tribe_operators.store.runs import run_counts

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dags(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    return bag.dags["poweroffice_to_tribe"], bag.dags["tribe_to_poweroffice"]


class Clock:
    """Runs 20 minutes apart, as the scheduler would: the systems' clocks move on in step and
    each run's data interval ends before their "now" (never ahead of the systems)."""

    def __init__(self, sims):
        self.sims, self.minutes = sims, 0

    def run(self, dag):
        self.minutes += 20
        for state in (self.sims.tribe, self.sims.po):
            state.clock.advance(20 * 60)
        dagrun = dag.test(logical_date=datetime.now(UTC) + timedelta(minutes=self.minutes))
        assert str(dagrun.state).endswith("success"), dagrun.state
        return dagrun


def load_counts(link_db, dagrun, stream):
    return next(r["counts"] for r in run_counts(link_db, dagrun.run_id) if r["stream"] == stream and r["step"] == "load")


def writes(counts):
    return counts["created"] + counts["updated"]


def test_full_two_way_sync_then_nothing_then_one_change_each_way(dags, sims, link_db):
    seed_demo(sims.tribe, sims.po, customers=25, suppliers=4, matched=3)
    po_import, tribe_export = dags
    clock = Clock(sims)
    own = sims.tribe.insert("Relation_Organization", {"Name": "Ny Tribe-kunde BV", "EmailAddress": "info@nytk.nl",
                                                      "VatNumber": "NO923609016MVA"})
    sims.tribe.insert("Relationship_Organization_CommercialRelationship_Customer", {"Organization": {"ID": own["ID"]}})

    first = clock.run(po_import)
    assert writes(load_counts(link_db, first, "customers")) > 0
    customer_orgs = {r["Organization"] for r in sims.tribe.all("Relationship_Organization_CommercialRelationship_Customer")
                     if r.get("Organization")}
    tribe_born = customer_orgs - set(LinkStore(link_db, "poweroffice").bulk_to_external("customer", customer_orgs))
    assert own["ID"] in tribe_born
    export = clock.run(tribe_export)
    exported = load_counts(link_db, export, "tribe_customers")
    # Tribe-born customers go to PowerOffice; what came from PowerOffice is not echoed back.
    assert (exported["created"], exported["updated"]) == (len(tribe_born), 0)
    new_po = LinkStore(link_db, "poweroffice").to_external("customer", own["ID"])
    created = next(c for c in sims.po.all("customers") if str(c["Id"]) == new_po)
    assert created["Name"] == "Ny Tribe-kunde BV" and created["ExternalImportReference"] == f"tribe:{own['ID']}"
    assert sims.tribe.get("Relation_Organization", own["ID"])["DebtorNumber"] == str(created["Number"])  # written back

    # Both directions once more: nothing to write anywhere (the create's echo included).
    again_in, again_out = clock.run(po_import), clock.run(tribe_export)
    assert writes(load_counts(link_db, again_in, "customers")) == 0
    assert writes(load_counts(link_db, again_out, "tribe_customers")) == 0

    # A name changed in Tribe goes to PowerOffice once, and does not come back.
    sims.tribe.update("Relation_Organization", own["ID"], {"Name": "Omgedoopt BV"})
    out = clock.run(tribe_export)
    assert (load_counts(link_db, out, "tribe_customers")["updated"]) == 1
    assert next(c for c in sims.po.all("customers") if str(c["Id"]) == new_po)["Name"] == "Omgedoopt BV"
    sims.tribe.reset_counters()
    back = clock.run(po_import)
    assert writes(load_counts(link_db, back, "customers")) == 0
    assert not [k for k in sims.tribe.counters()["calls"] if k.startswith(("PUT", "POST Relation"))]

    # A change in PowerOffice goes to Tribe once, and does not go back out.
    linked = LinkStore(link_db, "poweroffice").bulk_to_external(
        "customer", [o["ID"] for o in sims.tribe.all("Relation_Organization")])
    tribe_id, po_id = next((t, p) for t, p in linked.items() if p != new_po)
    sims.po.clock.advance(60)
    _rename_in_poweroffice(sims, po_id, "Endret Navn AS")
    came_in = clock.run(po_import)
    assert load_counts(link_db, came_in, "customers")["updated"] == 1
    assert sims.tribe.get("Relation_Organization", tribe_id)["Name"] == "Endret Navn AS"
    went_out = clock.run(tribe_export)
    assert writes(load_counts(link_db, went_out, "tribe_customers")) == 0


def _rename_in_poweroffice(sims, customer_id, name):
    _patch_poweroffice(sims, customer_id, [{"op": "replace", "path": "/Name", "value": name}])


def _patch_poweroffice(sims, customer_id, patch):
    import requests

    token = requests.post(f"{sims.po_url}/OAuth/Token", data={"grant_type": "client_credentials"},
                          auth=("po-app-key", "po-client-key"),
                          headers={"Ocp-Apim-Subscription-Key": "po-subscription-key"}).json()["access_token"]
    r = requests.patch(f"{sims.po_url}/v2/Customers/{customer_id}", json=patch,
                       headers={"Authorization": f"Bearer {token}", "Ocp-Apim-Subscription-Key": "po-subscription-key",
                                "Content-Type": "application/json-patch+json"})
    assert r.status_code == 200, r.text


def test_changes_on_both_sides_are_a_conflict_resolved_by_rule_and_audited(dags, sims, link_db, monkeypatch):
    import json

    import sqlalchemy as sa

    from tribe_operators.store.schema import conflict_audit

    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_POWEROFFICE_SETTINGS",
                       json.dumps({"conflicts": {"default": "poweroffice", "fields": {"EmailAddress": "tribe"}}}))
    seed_demo(sims.tribe, sims.po, customers=12, suppliers=2, matched=2)
    po_import, tribe_export = dags
    clock = Clock(sims)
    clock.run(po_import)
    clock.run(tribe_export)  # links now carry both sides' hashes
    linked = LinkStore(link_db, "poweroffice").bulk_to_external(
        "customer", [o["ID"] for o in sims.tribe.all("Relation_Organization")])
    tribe_id, po_id = next(iter(linked.items()))

    # Both sides change the name and the e-mail address before the next sync.
    sims.tribe.update("Relation_Organization", tribe_id, {"Name": "Tribe-navn AS", "EmailAddress": "tribe@x.no"})
    patch = [{"op": "replace", "path": "/Name", "value": "PO-navn AS"},
             {"op": "replace", "path": "/EmailAddress", "value": "po@x.no"}]
    _patch_poweroffice(sims, po_id, patch)
    came_in = clock.run(po_import)
    assert load_counts(link_db, came_in, "customers")["conflicts"] == 1
    org = sims.tribe.get("Relation_Organization", tribe_id)
    assert org["Name"] == "PO-navn AS"  # the default: PowerOffice wins
    assert org["EmailAddress"] == "tribe@x.no"  # the rule for this field: Tribe wins
    with link_db.connect() as conn:
        (audit,) = conn.execute(sa.select(conflict_audit)).all()
    assert audit.tribe_id == tribe_id and audit.external_id == po_id
    assert audit.fields["Name"]["winner"] == "poweroffice" and audit.fields["EmailAddress"]["winner"] == "tribe"

    clock.run(tribe_export)  # Tribe's winning e-mail address travels to PowerOffice…
    customer = next(c for c in sims.po.all("customers") if str(c["Id"]) == po_id)
    assert (customer["Name"], customer["EmailAddress"]) == ("PO-navn AS", "tribe@x.no")
    settle_in, settle_out = clock.run(po_import), clock.run(tribe_export)  # …and then all is quiet
    assert writes(load_counts(link_db, settle_in, "customers")) == 0
    assert writes(load_counts(link_db, settle_out, "tribe_customers")) == 0
