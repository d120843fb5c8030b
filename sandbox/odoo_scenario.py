"""The Odoo demo scenario: the Odoo simulator seeded (two legal entities, companies with their
contacts, individuals, archived partners) and Tribe holding some of its companies already.

* Tribe organisations **carrying the debtor number (Odoo's ``ref``) of an Odoo customer**: they
  must be matched, not duplicated.
* Bad Odoo partners: a website that is no URL, an e-mail address that is none, a company with
  no name — each quarantined, naming the field.
* The seed archives about one partner in twelve: those become former customers in Tribe.
"""
from __future__ import annotations

import random
from typing import Any

from sandbox.odoo.state import OdooState
from sandbox.tribe import TribeState

__all__ = ["BAD_PARTNERS", "odoo_demo_state", "seed_odoo_demo"]

BAD_PARTNERS: list[dict[str, Any]] = [
    {"name": "Kapotte Website BV", "website": "htps//kapotte-website"},  # a misspelt scheme
    {"name": "Foute Mail BV", "email": "info(at)foutemail.nl"},  # no e-mail address
    {"name": "   "},  # a name of spaces only
]


def seed_odoo_demo(tribe: TribeState, odoo: OdooState, *, companies: int = 40, individuals: int = 15,
                   invoices: int = 0, matched: int = 5, rng_seed: int = 3) -> dict[str, Any]:
    """Seed Odoo and plant its matches in Tribe; returns what was planted."""
    rng = random.Random(rng_seed)
    counts = odoo.seed(companies=companies, individuals=individuals, invoices=invoices, rng_seed=rng_seed)
    for bad in BAD_PARTNERS:
        odoo.insert("res.partner", {"is_company": True, "customer_rank": 1, "country_id": 1, **bad})
    partners = [odoo.read("res.partner", rid) for rid in odoo.search("res.partner", [], active_test=False)]
    customers = [p for p in partners if p.get("is_company") and p.get("customer_rank") and p.get("ref")]
    planted = rng.sample(sorted(customers, key=lambda p: p["id"]), matched)
    for partner in planted:  # already in Tribe with Odoo's number: to be matched, not duplicated
        tribe.insert("Relation_Organization", {"Name": partner["name"].upper(), "DebtorNumber": partner["ref"]})
    return {"odoo": counts, "bad_partners": len(BAD_PARTNERS), "matched_by_debtor_number": matched,
            "planted": [p["id"] for p in planted],
            "archived": [p["id"] for p in partners if not p.get("active") and p.get("is_company")
                         and (p.get("customer_rank") or p.get("supplier_rank"))]}


def odoo_demo_state(days_back: float = 3.0) -> tuple[TribeState, OdooState]:
    """The Odoo company's own Tribe tenant and its Odoo, built and seeded in the past (as
    ``scenario.demo_states`` does for the PowerOffice company): a first nightly run's window
    holds all of it. A tenant of its own, as a company has one accounting system: on the
    PowerOffice company's tenant, its relations would be exported to Odoo and back."""
    from sandbox.common import Clock

    clocks = Clock(), Clock()
    for clock in clocks:
        clock.advance(-days_back * 86400)
    tribe, odoo = TribeState(clock=clocks[0]), OdooState(clock=clocks[1])
    seed_odoo_demo(tribe, odoo)
    for clock in clocks:
        clock.advance(days_back * 86400)
    return tribe, odoo
