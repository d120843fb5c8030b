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
from tests.fixtures.records import poweroffice_change
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
    seed_demo(sims.tribe, sims.po, customers=25, suppliers=4, matched=3, tribe_records=(24, 6, 6))
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
    poweroffice_change(sims.po_url, "PATCH", f"Customers/{customer_id}", patch)


def test_changes_on_both_sides_are_a_conflict_resolved_by_rule_and_audited(dags, sims, link_db, monkeypatch):
    import json

    import sqlalchemy as sa

    from tribe_operators.store.schema import conflict_audit

    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_POWEROFFICE_SETTINGS",
                       json.dumps({"conflicts": {"default": "poweroffice", "fields": {"EmailAddress": "tribe"}}}))
    seed_demo(sims.tribe, sims.po, customers=12, suppliers=2, matched=2, tribe_records=(24, 6, 6))
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


EXPORTS = ("tribe_customers", "tribe_suppliers", "tribe_contacts", "tribe_persons", "tribe_product_groups",
           "tribe_products")
IMPORTS = ("customers", "suppliers", "contacts", "persons", "product_groups", "products")


@pytest.mark.chaos  # the fault-injection suite's echo check: a full two-way sync, then silence
def test_every_entity_both_ways_then_quiet(dags, sims, link_db):
    """Suppliers, persons and products go Tribe → PowerOffice too: Tribe-born ones are created
    there (PowerOffice's number written back), PowerOffice-born ones are not echoed back, and
    after one round each way neither direction writes anything."""
    seed_demo(sims.tribe, sims.po, customers=30, suppliers=6, matched=3, tribe_records=(24, 6, 6))
    po_import, tribe_export = dags
    clock = Clock(sims)
    t = sims.tribe
    unit = next(u for u in t.all("Datastore_Unit") if u["Code"] == "HUR")
    vat = next(v for v in t.all("Datastore_VatGroup") if v["Code"] == "NO25")
    group = t.insert("ProductGroup", {"Name": "Tribe-diensten", "Code": "TD"})
    product = t.insert("Product", {"Name": "Tribe-workshop", "Code": "TW-1", "SalesPrice": 950.0,
                                   "PurchasePrice": 400.0, "Unit": {"ID": unit["ID"]}, "VatGroup": {"ID": vat["ID"]},
                                   "ProductGroup": {"ID": group["ID"]}})
    supplier = t.insert("Relation_Organization", {"Name": "Tribe Leverancier BV", "CreditorNumber": "T-77"})
    t.insert("Relationship_Organization_Supplier", {"Organization": {"ID": supplier["ID"]}})
    person = t.insert("Relation_Person", {"FirstName": "Els", "MiddleName": "van der", "LastName": "Wal",
                                          "EmailAddress": "els@example.nl"})
    t.insert("Relationship_Person_CommercialRelationship_Customer", {"Person": {"ID": person["ID"]}})

    clock.run(po_import)
    export = clock.run(tribe_export)
    links = LinkStore(link_db, "poweroffice")
    po_product = next(p for p in sims.po.all("products") if str(p["Id"]) == links.to_external("product", product["ID"]))
    assert (po_product["Code"], po_product["UnitPrice"], po_product["UnitCost"], po_product["UnitOfMeasureCode"]) == (
        "TW-1", 950.0, 400.0, "HUR")
    assert str(po_product["ProductGroupId"]) == links.to_external("product_group", group["ID"])  # exported first
    account = next(a for a in sims.po.all("accounts") if a["Id"] == po_product["StandardSalesAccountId"])
    assert account["VatCode"] == "3"  # NO25 → "3" (vat_map) → a sales account with that code
    po_supplier = next(s for s in sims.po.all("suppliers")
                       if str(s["Id"]) == links.to_external("supplier", supplier["ID"]))
    assert t.get("Relation_Organization", supplier["ID"])["CreditorNumber"] == str(po_supplier["Number"])
    po_person = next(c for c in sims.po.all("customers") if str(c["Id"]) == links.to_external("person", person["ID"]))
    assert (po_person["IsPerson"], po_person["FirstName"], po_person["LastName"]) == (True, "Els", "van der Wal")
    assert t.get("Relation_Person", person["ID"])["DebtorNumber"] == str(po_person["Number"])
    for stream in EXPORTS:  # what came from PowerOffice is not sent back
        counts = load_counts(link_db, export, stream)
        assert counts["updated"] == 0, (stream, counts)

    again_in, again_out = clock.run(po_import), clock.run(tribe_export)
    assert {s: writes(load_counts(link_db, again_in, s)) for s in IMPORTS} == dict.fromkeys(IMPORTS, 0)
    assert {s: writes(load_counts(link_db, again_out, s)) for s in EXPORTS} == dict.fromkeys(EXPORTS, 0)


def test_tribe_contacts_become_contact_persons_under_their_organisation(dags, sims, link_db):
    """A Tribe contact of a customer or supplier → a PowerOffice contact person of that
    organisation (created under it, addressed "{ContactId}/{Id}"); a name edited on the
    Tribe person is patched onto it, not created again; a prospect's contact is out of scope;
    contacts that came from PowerOffice are not sent back."""
    seed_demo(sims.tribe, sims.po, customers=8, suppliers=2, matched=1, tribe_records=(6, 2, 2))
    po_contact_owner = sims.po.insert_customer(Name="Kontakt Eier AS")
    sims.po.insert_contact_person(po_contact_owner["Id"], FirstName="Per", LastName="Hansen")
    po_import, tribe_export = dags
    clock = Clock(sims)
    t = sims.tribe
    supplier = t.insert("Relation_Organization", {"Name": "Leverancier Contact BV"})
    t.insert("Relationship_Organization_Supplier", {"Organization": {"ID": supplier["ID"]}})
    prospect = t.insert("Relation_Organization", {"Name": "Alleen Prospect BV"})
    person = t.insert("Relation_Person", {"FirstName": "Anne", "MiddleName": "de", "LastName": "Vries"})
    contact = t.insert("Relationship_Person_Contact_Standard", {
        "Relation": {"ID": supplier["ID"]}, "Person": {"ID": person["ID"]},
        "EmailAddress": "anne@leverancier.nl", "PhoneNumber": "+31 20 123 4567"})
    stranger = t.insert("Relation_Person", {"FirstName": "Piet", "LastName": "Prospect"})
    t.insert("Relationship_Person_Contact_Standard", {"Relation": {"ID": prospect["ID"]},
                                                       "Person": {"ID": stranger["ID"]}})

    clock.run(po_import)
    persons_before = len(sims.po.all("contact_persons"))
    out = clock.run(tribe_export)
    links = LinkStore(link_db, "poweroffice")
    po_supplier = links.to_external("supplier", supplier["ID"])
    contact_key = links.to_external("contact", contact["ID"])
    parent, _, own_id = contact_key.partition("/")
    assert parent == po_supplier
    created = next(p for p in sims.po.all("contact_persons") if str(p["Id"]) == own_id)
    assert (created["ContactId"], created["FirstName"], created["LastName"], created["EmailAddress"],
            created["ExternalCode"]) == (int(po_supplier), "Anne", "de Vries", "anne@leverancier.nl",
                                         f"tribe:{contact['ID']}")
    mapped = next(r["counts"] for r in run_counts(link_db, out.run_id)
                  if r["stream"] == "tribe_contacts" and r["step"] == "map")
    assert mapped["out_of_scope"] >= 1  # the prospect's contact
    assert not any(p["LastName"] == "Prospect" for p in sims.po.all("contact_persons"))
    new = len(sims.po.all("contact_persons")) - persons_before
    assert load_counts(link_db, out, "tribe_contacts") | {"created": new} == load_counts(link_db, out, "tribe_contacts")
    assert load_counts(link_db, out, "tribe_contacts")["updated"] == 0  # PowerOffice's own came back unchanged

    # The name is edited on the person (Tribe stamps the person, not the contact).
    t.update("Relation_Person", person["ID"], {"MiddleName": "van", "LastName": "Dijk"})
    again = clock.run(tribe_export)
    assert load_counts(link_db, again, "tribe_contacts")["updated"] == 1
    created = next(p for p in sims.po.all("contact_persons") if str(p["Id"]) == own_id)
    assert created["LastName"] == "van Dijk"
    assert len(sims.po.all("contact_persons")) == persons_before + new

    # ...and that PowerOffice change is not echoed back into Tribe.
    back = clock.run(po_import)
    assert writes(load_counts(link_db, back, "contacts")) == 0
    assert t.get("Relation_Person", person["ID"])["MiddleName"] == "van"


def test_deleting_on_one_side_never_deletes_on_the_other_the_link_is_dropped(dags, sims, link_db):
    """Seed: "Deleting data in one system never deletes it in the other." A change to the
    surviving record finds its linked counterpart gone: the link is dropped, nothing is
    deleted or recreated, and the survivor stays. A relation archived in PowerOffice stays
    active in Tribe."""
    seed_demo(sims.tribe, sims.po, customers=12, suppliers=2, matched=2, tribe_records=(24, 6, 6))
    # Two customers with no invoices or other role (PowerOffice refuses to delete one in use).
    fresh = [str(sims.po.insert_customer(Name=name)["Id"]) for name in ("Slettes AS", "Blir AS")]
    archived = str(sims.po.insert_customer(Name="Arkivert AS", IsArchived=True)["Id"])
    po_import, tribe_export = dags
    clock = Clock(sims)
    clock.run(po_import)
    clock.run(tribe_export)
    links = LinkStore(link_db, "poweroffice")
    (gone_in_po, kept_in_tribe), (kept_in_po, gone_in_tribe) = [(p, links.to_internal("customer", p)) for p in fresh]

    # Deleted in PowerOffice; then changed in Tribe.
    poweroffice_change(sims.po_url, "DELETE", f"Customers/{gone_in_po}")
    sims.tribe.update("Relation_Organization", kept_in_tribe, {"Name": "Nog steeds hier BV"})
    customers_before = len(sims.po.all("customers"))
    out = clock.run(tribe_export)
    assert load_counts(link_db, out, "tribe_customers")["unlinked"] == 1
    assert links.to_external("customer", kept_in_tribe) is None
    assert sims.tribe.get("Relation_Organization", kept_in_tribe)["Name"] == "Nog steeds hier BV"
    assert len(sims.po.all("customers")) == customers_before  # not recreated behind the user's back

    # Deleted in Tribe; then changed in PowerOffice.
    sims.tribe.delete("Relation_Organization", gone_in_tribe)
    _patch_poweroffice(sims, kept_in_po, [{"op": "replace", "path": "/Name", "value": "Fortsatt her AS"}])
    orgs_before = len(sims.tribe.all("Relation_Organization"))
    came_in = clock.run(po_import)
    assert load_counts(link_db, came_in, "customers")["unlinked"] == 1
    assert links.to_internal("customer", kept_in_po) is None
    assert next(c for c in sims.po.all("customers") if str(c["Id"]) == kept_in_po)["Name"] == "Fortsatt her AS"
    assert len(sims.tribe.all("Relation_Organization")) == orgs_before

    # Archived in PowerOffice: imported, and active in Tribe.
    org = sims.tribe.get("Relation_Organization", links.to_internal("customer", archived))
    assert org["Name"] == "Arkivert AS" and org.get("IsActive") is not False
