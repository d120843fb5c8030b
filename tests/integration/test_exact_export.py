"""``tribe_to_exact`` end to end (dag.test(), the Tribe and Exact simulators, real Postgres):
Tribe organisations become Exact accounts once — one account for both roles, Exact's Code
written back over Tribe's numbers — contacts follow under their account, the next run writes
nothing; and records Exact refuses stop reaching it after six in the hour (Exact blocks the key
after ten), the rest held in quarantine with that reason and sent by a later run."""
from __future__ import annotations

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
    # The number alone is not enough: another name with it is another account, never a rename.
    other = organisation(tribe, "Ander Bedrijf BV", CUSTOMER, DebtorNumber="4711")
    run(export, 2)
    assert links.to_external("customer", other["ID"]) != existing["ID"]
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
