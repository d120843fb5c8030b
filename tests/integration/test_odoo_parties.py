"""One Odoo partner per contact, both ways, and Odoo addresses read whole (issue 24).

Odoo keeps one partner for a company that is customer and supplier (two ranks, one ``ref``);
Tribe keeps one organisation with two relationships. Through ``tribe_to_odoo`` and
``odoo_to_tribe`` (dag.test(), the Tribe and Odoo simulators, real Postgres) the two must stay
one each — and a partner whose number Tribe holds on two organisations is held, never split.
"""
from __future__ import annotations

import json

import pytest

from tests.integration.test_odoo_relations import Timeline, writes
from tribe_operators.store.links import LinkStore
from tribe_operators.store.quarantine import Quarantine

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
CUSTOMER = "Relationship_Organization_CommercialRelationship_Customer"
SUPPLIER = "Relationship_Organization_Supplier"


def both_roles(tribe, name: str, **fields):
    org = tribe.insert("Relation_Organization", {"Name": name, **fields})
    tribe.insert(CUSTOMER, {"Organization": {"ID": org["ID"]}})
    tribe.insert(SUPPLIER, {"Organization": {"ID": org["ID"]}})
    return org


def partners_named(odoo, name: str) -> list[dict]:
    return odoo.call("res.partner", "search_read", [["name", "=", name]], ["name", "ref", "customer_rank", "supplier_rank"],
                     context={"active_test": False})


@pytest.mark.parametrize("numbering", ["tribe", "odoo"])
def test_an_organisation_in_both_roles_is_one_partner_with_both_ranks_and_one_number(
        export, odoo_sims, link_db, monkeypatch, numbering):
    sims, clock = odoo_sims, Timeline(odoo_sims)
    sims.odoo.partner_sequence = "K"
    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_ODOO_SETTINGS", json.dumps({"partner_numbering": numbering}))
    org = both_roles(sims.tribe, "Beide Rollen BV", DebtorNumber="10005", CreditorNumber="20009")
    clock.run(export)
    [partner] = partners_named(sims.odoo, "Beide Rollen BV")
    assert partner["customer_rank"] >= 1 and partner["supplier_rank"] >= 1, partner
    links = LinkStore(link_db, "odoo")
    assert links.to_external("customer", org["ID"]) == links.to_external("supplier", org["ID"]) == str(partner["id"])
    # One number: the partner's, on both of Tribe's number fields.
    tribe_org = sims.tribe.get("Relation_Organization", org["ID"])
    expected = "10005" if numbering == "tribe" else partner["ref"]
    assert partner["ref"] == expected and partner["ref"].startswith("K" if numbering == "odoo" else "1")
    assert (tribe_org["DebtorNumber"], tribe_org["CreditorNumber"]) == (expected, expected)
    # Nothing flips back and forth: the next runs write nothing to either side.
    for _ in range(2):
        assert set(writes(link_db, clock.run(export), "tribe_customers", "tribe_suppliers").values()) == {(0, 0)}
    assert len(partners_named(sims.odoo, "Beide Rollen BV")) == 1


def test_a_supplier_role_added_later_ranks_the_same_partner(export, odoo_sims, link_db):
    sims, clock = odoo_sims, Timeline(odoo_sims)
    org = sims.tribe.insert("Relation_Organization", {"Name": "Later Leverancier BV", "DebtorNumber": "10077"})
    sims.tribe.insert(CUSTOMER, {"Organization": {"ID": org["ID"]}})
    clock.run(export)
    sims.tribe.insert(SUPPLIER, {"Organization": {"ID": org["ID"]}})
    clock.run(export)
    [partner] = partners_named(sims.odoo, "Later Leverancier BV")
    assert (partner["customer_rank"], partner["supplier_rank"], partner["ref"]) == (1, 1, "10077")


def test_a_partner_whose_number_tribe_holds_on_two_organisations_is_held_in_every_role(nightly, odoo_sims, link_db):
    sims, clock = odoo_sims, Timeline(odoo_sims)
    debtor = sims.tribe.insert("Relation_Organization", {"Name": "Dubbel Nummer BV", "DebtorNumber": "4711"})
    creditor = sims.tribe.insert("Relation_Organization", {"Name": "Dubbel Nummer Inkoop", "CreditorNumber": "4711"})
    partner_id = sims.odoo.insert("res.partner", {"name": "Dubbel Nummer BV", "is_company": True, "ref": "4711",
                                                  "customer_rank": 1, "supplier_rank": 1})
    clock.run(nightly)
    links = LinkStore(link_db, "odoo")
    assert links.to_internal("customer", str(partner_id)) is None
    assert links.to_internal("supplier", str(partner_id)) is None
    held = {q["stream"]: q for q in Quarantine(link_db, "odoo").open() if q["record_id"] == str(partner_id)}
    assert set(held) == {"customers", "suppliers"}, held
    for entry in held.values():
        assert debtor["ID"] in entry["reason"] and creditor["ID"] in entry["reason"], entry["reason"]
    assert sims.tribe.get("Relation_Organization", creditor["ID"])["Name"] == "Dubbel Nummer Inkoop"


def test_odoo_addresses_arrive_whole_and_phones_by_their_country(nightly, odoo_sims, link_db):
    sims, clock = odoo_sims, Timeline(odoo_sims)
    country = {code: sims.odoo.call("res.country", "search", [["code", "=", code]])[0] for code in ("NL", "DE", "FR")}
    company = {"is_company": True, "customer_rank": 1}
    dutch = sims.odoo.insert("res.partner", {**company, "name": "Utrechtse Handel BV", "street": "Kerkstraat 12 A",
                                             "street2": "2e verdieping", "zip": "3511 AB", "city": "Utrecht", "ref": "D-100",
                                             "country_id": country["NL"], "phone": "030 1234567"})
    berlin = sims.odoo.insert("res.partner", {**company, "name": "Berliner Handel GmbH", "street": "Hauptstraße 5",
                                              "zip": "10115", "city": "Berlin", "country_id": country["DE"],
                                              "phone": "030 1234567"})
    paris = sims.odoo.insert("res.partner", {**company, "name": "Commerce de Paris SARL", "street": "12 rue de la Paix",
                                             "zip": "75002", "city": "Paris", "country_id": country["FR"]})
    clock.run(nightly)
    links = LinkStore(link_db, "odoo")

    def org(partner_id):
        found = sims.tribe.get("Relation_Organization", links.to_internal("customer", str(partner_id)))
        address = sims.tribe.get("Address", found["InvoiceAddress"])
        return found, {**address, "Country": sims.tribe.get("Datastore_Country", address["Country"])["Code"]}

    nl, address = org(dutch)
    assert (address["Street"], address["HouseNumber"], address["HouseNumberSuffix"], address["Extra"],
            address["Postalcode"], address["City"], address["Country"]) == (
        "Kerkstraat", 12, "A", "2e verdieping", "3511 AB", "Utrecht", "NL")
    assert nl["PhoneNumber"] == "+31 30 123 4567"
    assert links.links_by_external("customer", [str(dutch)])[str(dutch)].external_number == "D-100"  # target.number
    de, address = org(berlin)
    assert de["PhoneNumber"] == "+49 30 1234567" and address["Country"] == "DE"
    assert links.to_internal("customer", str(paris)) is None
    [held] = [q for q in Quarantine(link_db, "odoo").open("customers") if q["record_id"] == str(paris)]
    assert held["field"] == "street" and "'FR'" in held["reason"], held


def test_two_organisations_with_one_partners_number_are_held_on_export_not_bound_to_it(export, odoo_sims, link_db):
    """The export side of the same case: a customer and a supplier in Tribe carry the number of
    one Odoo partner in both roles. Bound as customer to one and as supplier to the other, each
    export would write its name over the partner in turn; both are held, the partner untouched."""
    sims, clock = odoo_sims, Timeline(odoo_sims)
    partner_id = sims.odoo.insert("res.partner", {"name": "Gedeeld Nummer BV", "is_company": True, "ref": "4712",
                                                  "customer_rank": 1, "supplier_rank": 1})
    debtor = sims.tribe.insert("Relation_Organization", {"Name": "Gedeeld Nummer BV", "DebtorNumber": "4712"})
    sims.tribe.insert(CUSTOMER, {"Organization": {"ID": debtor["ID"]}})
    creditor = sims.tribe.insert("Relation_Organization", {"Name": "Gedeeld Nummer Inkoop", "CreditorNumber": "4712"})
    sims.tribe.insert(SUPPLIER, {"Organization": {"ID": creditor["ID"]}})
    clock.run(export)
    links = LinkStore(link_db, "odoo")
    bound = {(e, t) for e in ("customer", "supplier") for t in (debtor["ID"], creditor["ID"])
             if links.to_external(e, t) is not None}
    assert bound == set(), bound
    held = {(q["stream"], q["record_id"]) for q in Quarantine(link_db, "odoo").open()}
    assert {("tribe_customers", debtor["ID"]), ("tribe_suppliers", creditor["ID"])} <= held, held
    assert sims.odoo.read("res.partner", partner_id)["name"] == "Gedeeld Nummer BV"
    assert len(sims.odoo.call("res.partner", "search", [["ref", "=", "4712"]])) == 1


def test_the_export_does_not_match_by_number_a_partner_the_import_holds(nightly, export, odoo_sims, link_db):
    """The import holds a partner whose number two Tribe organisations carry; only one of them
    is a customer, so the export alone sees no doubt — it must not bind that one by the number
    (and rename the partner), or the next import follows the link past its own hold."""
    sims, clock = odoo_sims, Timeline(odoo_sims)
    partner_id = sims.odoo.insert("res.partner", {"name": "Mulder Metaal BV", "is_company": True, "ref": "10019",
                                                  "customer_rank": 1, "supplier_rank": 1})
    customer = sims.tribe.insert("Relation_Organization", {"Name": "Mulder Metaal", "DebtorNumber": "10019"})
    sims.tribe.insert(CUSTOMER, {"Organization": {"ID": customer["ID"]}})
    other = sims.tribe.insert("Relation_Organization", {"Name": "Mulder Metaal Inkoop", "CreditorNumber": "10019"})
    clock.run(nightly)
    clock.run(export)
    links = LinkStore(link_db, "odoo")
    assert links.to_external("customer", customer["ID"]) is None
    held = {(q["stream"], q["record_id"]): q["reason"] for q in Quarantine(link_db, "odoo").open()}
    assert "holds back" in held[("tribe_customers", customer["ID"])], held
    assert sims.odoo.read("res.partner", partner_id)["name"] == "Mulder Metaal BV"
    clock.run(nightly)
    assert links.to_internal("supplier", str(partner_id)) is None and links.to_internal("customer", str(partner_id)) is None
    assert sims.tribe.get("Relation_Organization", other["ID"])["Name"] == "Mulder Metaal Inkoop"
