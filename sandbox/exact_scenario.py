"""The Exact Online demo scenario: the Exact simulator seeded (a Dutch and a Belgian division:
accounts with particles and house-number additions, blocked and ended ones, items with ended
ones) and the Exact company's own Tribe tenant holding some of its relations already:

* an organisation carrying an Exact account's **debtor number** (its ``Code``) and name: matched;
* an organisation typed with an Exact account's **name, postcode and house number** written
  another way ("Kerkstraat 12a" against Exact's "Kerkstraat 12 A"): matched by the third key;
* a **Tribe-born customer**: exported, and Exact's number written back over Tribe's.
"""
from __future__ import annotations

from typing import Any

from sandbox.exact import ExactState, seed
from sandbox.tribe import TribeState

__all__ = ["BY_DEBTOR_NUMBER", "TRIBE_BORN", "exact_demo_state", "seed_exact_demo"]

TRIBE_BORN = "Noorderlicht Advies B.V."
BY_DEBTOR_NUMBER = "De Vries Installatietechniek B.V."  # Tribe has it under Exact's Code "2"


def seed_exact_demo(tribe: TribeState, exact: ExactState) -> dict[str, Any]:
    """Seed Exact and plant its matches in Tribe; returns what was planted."""
    from sandbox.tribe.reference import ref_id

    seed(exact)
    from sandbox.exact.entities import SPECS
    from sandbox.exact.seed import NL

    accounts = exact.store.table(NL, "crm/Accounts").values()
    bakery = next(a for a in accounts if a["Name"] == "Bakkerij van der Berg")
    exact.store.update(NL, SPECS["crm/accounts"], bakery, {"VATNumber": None})  # the seed's is made up
    customer = tribe.insert("Relation_Organization", {"Name": BY_DEBTOR_NUMBER, "DebtorNumber": "2"})
    tribe.insert("Relationship_Organization_CommercialRelationship_Customer", {"Organization": {"ID": customer["ID"]}})
    address = {"Street": "Kerkstraat", "HouseNumber": 12, "HouseNumberSuffix": "a", "Postalcode": "1012AB",
               "City": "Amsterdam", "Country": {"ID": ref_id("Datastore_Country", "NL")}}
    tribe.insert("Relation_Organization", {"Name": "Bakkerij van der Berg", "InvoiceAddress": address})
    born = tribe.insert("Relation_Organization", {"Name": TRIBE_BORN, "DebtorNumber": "T-9001",
                                                  "EmailAddress": "info@noorderlicht-advies.nl"})
    tribe.insert("Relationship_Organization_CommercialRelationship_Customer", {"Organization": {"ID": born["ID"]}})
    return {"by_debtor_number": customer["ID"], "tribe_born": born["ID"]}


def exact_demo_state() -> tuple[TribeState, ExactState]:
    """The Exact company's own Tribe tenant and its Exact Online (a company has one accounting
    system: on another company's tenant its relations would travel to two)."""
    tribe, exact = TribeState(), ExactState()
    seed_exact_demo(tribe, exact)
    return tribe, exact
