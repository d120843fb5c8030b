"""The demo scenario: both simulators seeded so that a first sync shows every path.

* PowerOffice: a few hundred Norwegian (and some Dutch) customers and suppliers, some
  contacts both; timestamps a few days in the past, so they fall inside closed intervals.
* Tribe: its own organisations, **some already carrying the debtor or creditor number of a
  PowerOffice customer/supplier** (they must be matched, not duplicated), and one debtor
  number used twice in Tribe (ambiguous: quarantined).
* Bad PowerOffice records: a missing name, invalid organisation numbers, a country Tribe
  does not know, an unreadable e-mail address — each must be quarantined, naming the field.
"""
from __future__ import annotations

import random
from typing import Any

from sandbox.poweroffice import PowerOfficeState
from sandbox.poweroffice import seed as seed_poweroffice
from sandbox.tribe import TribeState
from sandbox.tribe import seed as seed_tribe

__all__ = ["demo_states", "seed_demo"]

BAD_CUSTOMERS: list[dict[str, Any]] = [
    {"Name": "", "OrganizationNumber": None},  # missing name
    {"Name": "   "},  # blank name
    {"Name": "Feil Orgnr AS", "OrganizationNumber": "123456789"},  # fails mod-11
    {"Name": "Kort Orgnr AS", "OrganizationNumber": "98765"},
    {"Name": "Reykjavik Fisk ehf", "MailAddress": {"AddressLine1": "Laugavegur 1", "ZipCode": "101",
                                                   "City": "Reykjavik", "CountryCode": "IS"}},  # unknown country
    {"Name": "Epost Feil AS", "EmailAddress": "post(at)epostfeil.no"},
]


def seed_demo(tribe: TribeState, po: PowerOfficeState, *, customers: int = 300, suppliers: int = 60,
              matched: int = 25, rng_seed: int = 7, days_back: float = 3.0,
              tribe_records: tuple[int, int, int] = (120, 40, 30)) -> dict[str, Any]:
    """Seed both simulators for the demo and return what was planted."""
    rng = random.Random(rng_seed)
    if days_back:  # records were last changed days ago…
        po.clock.advance(-days_back * 86400)
        tribe.clock.advance(-days_back * 86400)
    try:
        po_counts = seed_poweroffice(po, customers=customers, suppliers=suppliers, rng_seed=rng_seed)
        organisations, persons, products = tribe_records  # Tribe's own (Tribe-born) records
        tribe_counts = seed_tribe(tribe, organisations=organisations, persons=persons, products=products,
                                  rng_seed=rng_seed)
        for index, bad in enumerate(BAD_CUSTOMERS):
            fields = {"Name": f"Bad {index}", "MailAddress": {"AddressLine1": "Storgata 1", "ZipCode": "0155",
                                                              "City": "Oslo", "CountryCode": "NO"}, **bad}
            po.insert_customer(**fields)
        # Tribe's own numbers live in their own range — the bad customers' too: fixed at the source,
        # one must land as itself, not meet a Tribe organisation's number (held: number_match).
        taken = {str(c["Number"]) for c in po.all("customers")} | {str(s["Number"]) for s in po.all("suppliers")}
        for org in tribe.all("Relation_Organization"):
            changes = {f: f"T{org[f]}" for f in ("DebtorNumber", "CreditorNumber") if str(org.get(f)) in taken}
            if changes:
                tribe.update("Relation_Organization", org["ID"], changes)
        companies = [c for c in po.all("customers") if not c.get("IsPerson") and (c.get("Name") or "").strip()
                     and not c["Name"].startswith(("Bad", "Feil", "Kort", "Reykjavik", "Epost"))]
        planted = rng.sample(companies, matched)
        for customer in planted:  # already in Tribe with PowerOffice's number: must be matched
            tribe.insert("Relation_Organization", {"Name": customer["Name"].upper(),
                                                   "DebtorNumber": str(customer["Number"])})
        twice = planted[0]  # …and one number used twice in Tribe: ambiguous, quarantined
        tribe.insert("Relation_Organization", {"Name": twice["Name"] + " (duplicate)",
                                               "DebtorNumber": str(twice["Number"])})
        supplier = next(s for s in po.all("suppliers") if not s.get("IsPerson"))
        tribe.insert("Relation_Organization", {"Name": supplier["Name"], "CreditorNumber": str(supplier["Number"])})
    finally:
        if days_back:  # …and the clocks are back to now
            po.clock.advance(days_back * 86400)
            tribe.clock.advance(days_back * 86400)
    return {"poweroffice": po_counts, "tribe": tribe_counts, "bad_customers": len(BAD_CUSTOMERS),
            "matched_by_debtor_number": matched - 1, "ambiguous_debtor_number": str(twice["Number"]),
            "matched_by_creditor_number": 1, "creditor_matched_id": supplier["Id"]}


def demo_states(days_back: float = 3.0) -> tuple[TribeState, PowerOfficeState]:
    """Both simulators built *and* seeded in the past, reference data included, so a first
    scheduled run (whose window ends at the last quarter hour) sees all of it."""
    from sandbox.common import Clock

    clocks = Clock(), Clock()
    for clock in clocks:
        clock.advance(-days_back * 86400)
    tribe, po = TribeState(clock=clocks[0]), PowerOfficeState(clock=clocks[1])
    seed_demo(tribe, po, days_back=0)
    for clock in clocks:
        clock.advance(days_back * 86400)
    return tribe, po
