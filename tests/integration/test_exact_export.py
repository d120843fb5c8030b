"""``tribe_to_exact`` end to end (dag.test(), the Tribe and Exact simulators, real Postgres):
Tribe organisations become Exact accounts once — one account for both roles, Exact's Code
written back over Tribe's numbers — contacts follow under their account, the next run writes
nothing; and records Exact refuses stop reaching it after six in the hour (Exact blocks the key
after ten), the rest held in quarantine with that reason and sent by a later run. Products become
items (Exact's unit code and item group looked up; a unit Exact lacks held before any request),
once, and the import reads them back without an echo. The relation type written comes from the
settings (a Variable changes it), and the settings' filters narrow each stream both ways."""
from __future__ import annotations

import json
from typing import Any

import pytest

from sandbox.exact.seed import NL
from tests.integration.conftest import dag_named
from tests.integration.test_exact_import import run
from tribe_operators.store.links import LinkStore
from tribe_operators.store.quarantine import Quarantine
from tribe_operators.store.runs import run_counts

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
CUSTOMER = "Relationship_Organization_CommercialRelationship_Customer"
SUPPLIER = "Relationship_Organization_Supplier"
CONTACT = "Relationship_Person_Contact_Standard"
SETTINGS = "AIRFLOW_VAR_TRIBE_SYNC_EXACT_SETTINGS"
ITEM_WRITES = ("POST logistics/items", "PUT logistics/items")


@pytest.fixture(scope="module")
def export(airflow_db: Any) -> Any:
    return dag_named("tribe_to_exact")


def organisation(tribe: Any, name: str, *roles: str, **fields: Any) -> dict[str, Any]:
    org = tribe.insert("Relation_Organization", {"Name": name, **fields})
    for role in roles:
        tribe.insert(role, {"Organization": {"ID": org["ID"]}})
    return org


def accounts(exact: Any, name: str) -> list[dict[str, Any]]:
    return [r for r in exact.state.store.table(NL, "crm/Accounts").values() if r.get("Name") == name]


def writes(link_db: Any, dagrun: Any) -> dict[str, tuple[int, int]]:
    return {r["stream"]: (r["counts"].get("created", 0), r["counts"].get("updated", 0))
            for r in run_counts(link_db, dagrun.run_id) if r["step"] == "load"}


def test_organisations_become_accounts_once_with_exacts_code_as_their_number(export, world, link_db):
    tribe, exact = world
    address = {"Street": "Kerkstraat", "HouseNumber": 12, "HouseNumberSuffix": "A", "Postalcode": "3511 AB",
               "City": "Utrecht", "Country": {"ID": _country("NL")}}
    klant = organisation(tribe, "Export Klant BV", CUSTOMER, DebtorNumber="T-501", InvoiceAddress=address,
                         EmailAddress="info@exportklant.nl")
    beide = organisation(tribe, "Export Beide BV", CUSTOMER, SUPPLIER, DebtorNumber="T-502", CreditorNumber="C-902")
    leverancier = organisation(tribe, "Export Leverancier BV", SUPPLIER, CreditorNumber="C-903")
    person = tribe.insert("Relation_Person", {"FirstName": "Anne", "MiddleName": "van", "LastName": "Dijk"})
    tribe.insert(CONTACT, {"Person": {"ID": person["ID"]}, "Relation": {"ID": klant["ID"]},
                           "EmailAddress": "anne@exportklant.nl"})
    run(export, 1)

    [account] = accounts(exact, "Export Klant BV")
    assert (account["Status"], account["IsSupplier"]) == ("C", False)
    assert (account["AddressLine1"], account["Postcode"], account["City"], account["Country"].strip()) == (
        "Kerkstraat 12A", "3511 AB", "Utrecht", "NL")
    [both] = accounts(exact, "Export Beide BV")  # one account, both roles
    assert (both["Status"], both["IsSupplier"]) == ("C", True)
    [supplier] = accounts(exact, "Export Leverancier BV")
    assert supplier["IsSupplier"] and supplier["Status"] != "C"
    # Exact numbers new accounts; its Code becomes Tribe's number (both numbers of a both-roles one).
    org = {o["ID"]: o for o in tribe.all("Relation_Organization")}
    assert org[klant["ID"]]["DebtorNumber"] == account["Code"].strip()
    assert org[beide["ID"]]["DebtorNumber"] == org[beide["ID"]]["CreditorNumber"] == both["Code"].strip()
    assert org[leverancier["ID"]]["CreditorNumber"] == supplier["Code"].strip()
    links = LinkStore(link_db, "exact")
    assert links.to_external("customer", beide["ID"]) == links.to_external("supplier", beide["ID"]) == both["ID"]
    [contact] = [c for c in exact.state.store.table(NL, "crm/Contacts").values() if c.get("LastName") == "Dijk"]
    assert (contact["Account"], contact["FirstName"], contact["MiddleName"], contact["Email"]) == (
        account["ID"], "Anne", "van", "anne@exportklant.nl")

    assert set(writes(link_db, run(export, 2)).values()) == {(0, 0)}  # nothing flips back and forth
    assert len(accounts(exact, "Export Beide BV")) == 1


def test_an_unlinked_account_with_the_debtor_number_and_name_is_the_same_one(export, world, link_db):
    tribe, exact = world
    existing = exact.state.insert(NL, "crm/Accounts", {"Name": "Bestaand Account BV", "Code": "4711", "Status": "C"})
    same = organisation(tribe, "Bestaand Account BV", CUSTOMER, DebtorNumber="004711")
    run(export, 1)
    links = LinkStore(link_db, "exact")
    assert links.to_external("customer", same["ID"]) == existing["ID"]
    assert len(accounts(exact, "Bestaand Account BV")) == 1
    # The number alone is not enough: another name with it is held for a person, never a rename.
    tribe.clock.advance(2 * 3600)  # made after the first run's window
    other = organisation(tribe, "Ander Bedrijf BV", CUSTOMER, DebtorNumber="4711")
    run(export, 3)
    assert links.to_external("customer", other["ID"]) is None
    held = {q["record_id"]: q for q in Quarantine(link_db, "exact").open("tribe_customers")}
    assert held[other["ID"]]["field"] == "Code" and "share this number" in held[other["ID"]]["reason"], held
    assert exact.state.store.table(NL, "crm/Accounts")[existing["ID"]]["Name"] == "Bestaand Account BV"


def test_refused_records_stop_reaching_exact_after_six_and_wait_in_quarantine(export, world, link_db):
    """Twelve organisations Exact refuses (a rule of the administration no client can check
    first): six refusals reach Exact, the other six are held, not sent; the key is never
    blocked; once the rule is lifted, a later run sends the held ones."""
    tribe, exact = world
    refused = [organisation(tribe, f"Geweigerd {n:02d} BV", CUSTOMER, DebtorNumber=f"T-6{n:02d}")["ID"]
               for n in range(12)]
    fine = organisation(tribe, "Gewoon Goed BV", CUSTOMER, DebtorNumber="T-700")
    exact.state.options.update({"refusals": [{"path": "crm/Accounts", "field": "Name", "contains": "Geweigerd",
                                              "message": "Relaties met deze naam zijn niet toegestaan."}]})
    exact.state.reset_counters()
    first = run(export, 1)
    counters = exact.state.counters()
    assert counters["requests"].get("POST crm/accounts", 0) <= 6 + 1, counters  # six refused, the good one
    assert counters["statuses"].get("400", 0) == 6, counters
    assert counters["blocks"] == 0, counters
    held = {q["record_id"]: q for q in Quarantine(link_db, "exact").open("tribe_customers")}
    assert set(refused) <= set(held), held
    reasons = [held[r]["reason"] for r in refused]
    assert sum("niet toegestaan" in r for r in reasons) == counters["requests"]["POST crm/accounts"] - len(
        accounts(exact, "Gewoon Goed BV")), reasons  # each refusal Exact gave, named
    assert sum("niet toegestaan" in r for r in reasons) <= 6, reasons
    assert all("crm/Accounts" in r and "retried after" in r for r in reasons if "niet toegestaan" not in r), reasons
    # Once the endpoint is held, a record Exact would take waits as well: nothing is sent there.
    linked = LinkStore(link_db, "exact").to_external("customer", fine["ID"])
    assert (linked is not None) != (fine["ID"] in held), held.get(fine["ID"])
    assert writes(link_db, first)["tribe_customers"][0] == (linked is not None)

    exact.state.options.update({"refusals": []})  # the administrator lifts the rule
    _forget_guards()  # and our guard's hour has passed (Exact's six stay counted: it blocks at ten)
    run(export, 2)
    assert not Quarantine(link_db, "exact").open("tribe_customers")
    assert all(len(accounts(exact, f"Geweigerd {n:02d} BV")) == 1 for n in range(12))
    assert exact.state.counters()["blocks"] == 0


def items(exact: Any, code: str) -> list[dict[str, Any]]:
    return [r for r in exact.state.store.table(NL, "logistics/Items").values() if (r.get("Code") or "").strip() == code]


def product(tribe: Any, code: str, name: str, unit: str, group: str | None = None, **fields: Any) -> dict[str, Any]:
    from sandbox.tribe.reference import ref_id

    return tribe.insert("Product", {"Code": code, "Name": name, "Unit": {"ID": ref_id("Datastore_Unit", unit)},
                                    **({"ProductGroup": {"ID": group}} if group else {}), **fields})


def item_requests(exact: Any) -> dict[str, int]:
    return {k: n for k, n in exact.state.counters()["requests"].items() if "logistics/items" in k}


def test_products_become_items_once_and_a_unit_exact_lacks_is_held_before_any_request(export, world, link_db,
                                                                                     monkeypatch):
    tribe, exact = world
    monkeypatch.setenv(SETTINGS, json.dumps({"enabled_streams": ["tribe_products"]}))
    diensten = tribe.insert("ProductGroup", {"Name": "Diensten", "Code": "SRV"})["ID"]
    per_day = product(tribe, "TP-DAG", "Dagdeel advies", "DAY", diensten, SalesPrice=600)  # Exact has no "Dag"
    product(tribe, "TP-OUD", "Oud product", "PCS", IsInactive=True)  # inactive: not sent
    run(export, 1)
    assert item_requests(exact) == {}, item_requests(exact)  # neither looked up nor sent: no refusal possible
    held = {q["record_id"]: q for q in Quarantine(link_db, "exact").open("tribe_products")}
    assert set(held) == {per_day["ID"]}, held
    assert held[per_day["ID"]]["field"] == "Unit.Name" and "'Dag'" in held[per_day["ID"]]["reason"], held
    assert not items(exact, "TP-OUD")

    tribe.clock.advance(2 * 3600)  # made after the first run's window
    advies = product(tribe, "TP-100", "Advies op locatie", "HUR", diensten, SalesPrice=95.0, PurchasePrice=40.0)
    loose = tribe.insert("Product", {"Code": "TP-101", "Name": "Zonder groep", "SalesPrice": 10.0})  # no unit, group
    second = run(export, 3)
    [item] = items(exact, "TP-100")
    groups = {g["Description"]: g["ID"] for g in exact.state.store.table(NL, "logistics/ItemGroups").values()}
    assert (item["Description"], item["Unit"].strip(), item["ItemGroup"], item["StandardSalesPrice"],
            item["CostPriceStandard"], item["IsSalesItem"]) == ("Advies op locatie", "uur", groups["Diensten"], 95.0,
                                                                40.0, True)
    assert LinkStore(link_db, "exact").to_external("product", advies["ID"]) == item["ID"]
    assert writes(link_db, second)["tribe_products"] == (2, 0)
    [plain] = items(exact, "TP-101")  # Exact's default group and unit
    defaults = (plain["ItemGroup"], plain["Unit"])

    exact.state.reset_counters()
    third = run(export, 4)
    assert writes(link_db, third)["tribe_products"] == (0, 0)
    assert not {k: n for k, n in item_requests(exact).items() if k.startswith(("POST", "PUT"))}
    assert len(items(exact, "TP-100")) == 1

    # A change to the product without group or unit writes the change, and leaves Exact's group and unit.
    tribe.clock.advance(2 * 3600)
    tribe.update("Product", loose["ID"], {"SalesPrice": 12.5})
    fourth = run(export, 6)
    assert writes(link_db, fourth)["tribe_products"] == (0, 1)
    [plain] = items(exact, "TP-101")
    assert (plain["StandardSalesPrice"], (plain["ItemGroup"], plain["Unit"])) == (12.5, defaults)


def test_an_exported_item_read_back_by_the_import_is_no_echo(export, exact_import, world, link_db, monkeypatch):
    """Exact's answer to the create is hashed as the import reads items: the import's next read
    of that item writes nothing to Tribe."""
    from tribe_operators.store.links import Link

    tribe, exact = world
    # Exact's item groups are in Tribe, linked, as the import of item groups leaves them.
    [group] = [g for g in exact.state.store.table(NL, "logistics/ItemGroups").values() if g["Description"] == "Diensten"]
    diensten = tribe.insert("ProductGroup", {"Name": "Diensten", "Code": group["Code"]})
    LinkStore(link_db, "exact").bind(Link(entity="product_group", tribe_id=diensten["ID"], external_id=group["ID"]))
    made = product(tribe, "TP-200", "Installatie in Tribe", "HUR", diensten["ID"], SalesPrice=80.0)
    monkeypatch.setenv(SETTINGS, json.dumps({"enabled_streams": ["tribe_products"]}))
    run(export, 1)
    [item] = items(exact, "TP-200")
    stamp = next(p for p in tribe.all("Product") if p["ID"] == made["ID"])["LastMutationDate"]

    monkeypatch.setenv(SETTINGS, json.dumps({"enabled_streams": ["products"]}))
    imported_run = run(exact_import, 2)
    loads = {r["stream"]: r["counts"] for r in run_counts(link_db, imported_run.run_id) if r["step"] == "load"}
    assert loads["products"].get("updated", 0) == 0, loads  # the seed's own items are created, ours is not touched
    assert LinkStore(link_db, "exact").to_internal("product", item["ID"]) == made["ID"]
    assert next(p for p in tribe.all("Product") if p["ID"] == made["ID"])["LastMutationDate"] == stamp
    assert sum(1 for p in tribe.all("Product") if p.get("Code") == "TP-200") == 1


def test_the_relation_type_written_comes_from_the_settings(export, world, link_db, monkeypatch):
    tribe, exact = world
    organisation(tribe, "Status Uit Settings BV", CUSTOMER, DebtorNumber="T-801")
    # A merge patch over the file: Tribe's customers are Exact's prospects (P) here, not C.
    monkeypatch.setenv(SETTINGS, json.dumps({"enabled_streams": ["tribe_customers", "tribe_suppliers"],
                                             "relation_types": {"Customer": ["P"]}}))
    run(export, 1)
    [account] = accounts(exact, "Status Uit Settings BV")
    assert account["Status"] == "P"


def test_a_filter_on_customers_narrows_the_export_and_the_import(export, exact_import, world, link_db, monkeypatch):
    """Dutch customers only, both ways: on the export a condition on Tribe's organisation (sent
    to Tribe as $filter), on the import one on Exact's account (checked on what Exact's sync
    endpoint answers: it filters on Timestamp only; Exact pads the country, "NL ")."""
    from tests.integration.test_exact_import import imported

    tribe, exact = world
    address = {"Street": "Dorpsstraat", "HouseNumber": 1, "Postalcode": "1234 AB", "City": "Ergens"}
    organisation(tribe, "Filter Nederland BV", CUSTOMER, InvoiceAddress={**address, "Country": {"ID": _country("NL")}})
    organisation(tribe, "Filter Belgie BV", CUSTOMER, InvoiceAddress={**address, "Country": {"ID": _country("BE")}})
    dutch = exact.state.insert(NL, "crm/Accounts", {"Name": "Filter Import NL BV", "Status": "C", "Country": "NL"})
    belgian = exact.state.insert(NL, "crm/Accounts", {"Name": "Filter Import BE BV", "Status": "C", "Country": "BE"})
    monkeypatch.setenv(SETTINGS, json.dumps({
        "enabled_streams": ["customers", "tribe_customers"],
        "filters": {"customers": [{"field": "Country", "value": "NL"}],
                    "tribe_customers": [{"field": "Organization.InvoiceAddress.Country.Code", "value": "NL"}]}}))
    run(export, 1)
    assert len(accounts(exact, "Filter Nederland BV")) == 1
    assert not accounts(exact, "Filter Belgie BV")

    run(exact_import, 2)
    brought = imported(tribe)
    assert dutch["ID"] in brought and belgian["ID"] not in brought
    assert belgian["ID"] not in {q["record_id"] for q in Quarantine(link_db, "exact").open("customers")}


def _country(code: str) -> str:
    from sandbox.tribe.reference import ref_id

    return ref_id("Datastore_Country", code)


def _forget_guards() -> None:
    """A worker of the next hour: this process's guards start afresh (no shared store here)."""
    from tribe_operators.http.guard import forget_shared_guards

    forget_shared_guards()


@pytest.fixture(autouse=True)
def _fresh_guards() -> Any:
    _forget_guards()  # the guards are per process and key: another test's refusals are not ours
    yield
    _forget_guards()
