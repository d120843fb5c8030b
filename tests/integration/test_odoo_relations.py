"""``odoo_to_tribe`` and ``tribe_to_odoo`` end to end: dag.test() against the Tribe and Odoo
simulators and real Postgres."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sandbox.odoo_scenario import BAD_PARTNERS, seed_odoo_demo
from tribe_operators.store.links import LinkStore
from tribe_operators.store.quarantine import Quarantine
from tribe_operators.store.runs import run_counts

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
ROOT = Path(__file__).resolve().parents[2]


def run(dag, *, days_ahead: float = 1, **conf):
    logical = datetime.now(UTC) + timedelta(days=days_ahead)
    dagrun = dag.test(logical_date=logical, run_conf=conf or None)
    assert str(dagrun.state).endswith("success"), dagrun.state
    return dagrun


class Timeline:
    """Runs as the scheduler would space them: the systems' clocks move on with each run (a
    day for the nightly import, 20 minutes for the export), and each run's data interval is the
    last one that ended before their "now", so a change made after a run falls in the next one."""

    def __init__(self, sims):
        self.sims, self.offset = sims, timedelta(0)

    def advance(self, delta: timedelta) -> None:
        self.offset += delta
        for state in (self.sims.tribe, self.sims.odoo):
            state.clock.advance(delta.total_seconds())

    def run(self, dag, **conf):
        self.advance(timedelta(days=1) if dag.dag_id == "odoo_to_tribe" else timedelta(minutes=20))
        return run(dag, days_ahead=self.offset.total_seconds() / 86400, **conf)


def counts(link_db, dagrun, stream):
    rows = {r["step"]: r["counts"] for r in run_counts(link_db, dagrun.run_id) if r["stream"] == stream}
    quarantined = sum(rows[step].get("quarantined", 0) for step in ("map", "dedupe", "load"))
    return {**rows["dedupe"], **rows["load"], "extracted": rows["extract"]["extracted"], "quarantined": quarantined}


def test_nightly_import_matches_by_number_quarantines_bad_partners_and_mirrors_archives(nightly, odoo_sims, link_db):
    sims = odoo_sims
    planted = seed_odoo_demo(sims.tribe, sims.odoo, companies=30, individuals=6)
    first = run(nightly)
    c = counts(link_db, first, "customers")
    assert c["matched"] == planted["matched_by_debtor_number"]
    assert c["quarantined"] == len(BAD_PARTNERS)
    links = LinkStore(link_db, "odoo")
    for partner_id in planted["planted"]:  # matched: the Tribe organisation now carries the Odoo link
        assert links.to_internal("customer", str(partner_id)) is not None
    reasons = {q["field"] for q in Quarantine(link_db, "odoo").open("customers")}
    assert {"website", "email", "name"} <= reasons
    # An archived partner is a former customer / supplier in Tribe.
    assert planted["archived"], "the seed archives some partners"
    former = {r["Organization"] for r in sims.tribe.all("Relationship_Organization_CommercialRelationship_Customer")
              + sims.tribe.all("Relationship_Organization_Supplier") if r.get("IsFormer")}
    for partner_id in planted["archived"]:
        tribe_id = links.to_internal("customer", str(partner_id)) or links.to_internal("supplier", str(partner_id))
        assert tribe_id in former, partner_id
    assert counts(link_db, first, "persons")["created"] > 0
    assert counts(link_db, first, "contacts")["created"] > 0
    # Odoo 17 still has mobile: an individual's is its private mobile number in Tribe.
    assert any(p.get("MobilePhoneNumber") for p in sims.tribe.all("Relation_Person") if p.get("ImportId"))

    again = run(nightly, days_ahead=2)
    for stream in ("customers", "suppliers", "contacts", "persons"):
        nothing = counts(link_db, again, stream)
        assert nothing["created"] == nothing["updated"] == 0, (stream, nothing)


def writes(link_db, dagrun, *streams):
    return {s: (c["created"], c["updated"]) for s in streams for c in [counts(link_db, dagrun, s)]}


EXPORTS = ("tribe_customers", "tribe_suppliers", "tribe_contacts", "tribe_persons")


def test_tribe_changes_reach_odoo_and_deactivation_mirrors_both_ways(nightly, export, odoo_sims, link_db):
    sims, clock = odoo_sims, Timeline(odoo_sims)
    seed_odoo_demo(sims.tribe, sims.odoo, companies=12, individuals=3, matched=2)
    clock.run(nightly)
    # What the import wrote into Tribe is not echoed back to Odoo.
    assert set(writes(link_db, clock.run(export), *EXPORTS).values()) == {(0, 0)}

    # A new Tribe customer becomes an Odoo company partner, ranked customer, ref = its debtor number.
    own = sims.tribe.insert("Relation_Organization", {"Name": "Nieuwe Tribe Klant BV", "DebtorNumber": "T-501",
                                                      "EmailAddress": "info@nieuweklant.nl"})
    sims.tribe.insert("Relationship_Organization_CommercialRelationship_Customer", {"Organization": {"ID": own["ID"]}})
    out = clock.run(export)
    assert writes(link_db, out, "tribe_customers")["tribe_customers"] == (1, 0)
    links = LinkStore(link_db, "odoo")
    partner = sims.odoo.read("res.partner", int(links.to_external("customer", own["ID"])))
    assert (partner["name"], partner["ref"], partner["is_company"], partner["customer_rank"]) == (
        "Nieuwe Tribe Klant BV", "T-501", True, 1)

    # Made former in Tribe → archived in Odoo; and the archive does not come back as a change.
    imported = next(r for r in sims.tribe.all("Relationship_Organization_CommercialRelationship_Customer")
                    if not r.get("IsFormer") and links.to_external("customer", r["Organization"]))
    odoo_id = int(links.to_external("customer", imported["Organization"]))
    sims.tribe.update("Relationship_Organization_CommercialRelationship_Customer", imported["ID"], {"IsFormer": True})
    out = clock.run(export)
    assert writes(link_db, out, "tribe_customers")["tribe_customers"] == (0, 1)
    assert sims.odoo.read("res.partner", odoo_id)["active"] is False
    back = clock.run(nightly)
    assert writes(link_db, back, "customers")["customers"] == (0, 0)

    # Restored in Odoo → a customer again in Tribe (reactivation travels too).
    sims.odoo.call("res.partner", "write", [odoo_id], {"active": True})
    clock.run(nightly)
    rel = sims.tribe.get("Relationship_Organization_CommercialRelationship_Customer", imported["ID"])
    assert rel["IsFormer"] is False
    assert set(writes(link_db, clock.run(export), *EXPORTS).values()) == {(0, 0)}


@pytest.mark.parametrize("odoo_sims", [19], indirect=True)
def test_odoo_numbers_new_partners_and_its_number_replaces_tribes(export, odoo_sims, link_db, monkeypatch):
    """partner_numbering: odoo (a partner-sequence module); on Odoo 19, which has no mobile field."""
    import json

    sims, clock = odoo_sims, Timeline(odoo_sims)
    sims.odoo.partner_sequence = "K"
    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_ODOO_SETTINGS", json.dumps({"partner_numbering": "odoo"}))
    person = sims.tribe.insert("Relation_Person", {"FirstName": "Els", "MiddleName": "van der", "LastName": "Wal",
                                                   "DebtorNumber": "T-9", "MobilePhoneNumber": "+31 6 12345678"})
    sims.tribe.insert("Relationship_Person_CommercialRelationship_Customer", {"Person": {"ID": person["ID"]}})
    out = clock.run(export)
    assert writes(link_db, out, "tribe_persons")["tribe_persons"] == (1, 0)
    partner = sims.odoo.read("res.partner", int(LinkStore(link_db, "odoo").to_external("person", person["ID"])))
    assert partner["name"] == "Els van der Wal" and partner["ref"].startswith("K")
    assert "mobile" not in partner  # Odoo 19: learned from fields_get, no error
    assert sims.tribe.get("Relation_Person", person["ID"])["DebtorNumber"] == partner["ref"]  # Odoo's number leads
    assert writes(link_db, clock.run(export), "tribe_persons")["tribe_persons"] == (0, 0)


def test_a_change_on_both_sides_is_settled_by_rule_and_a_delete_only_drops_the_link(nightly, export, odoo_sims,
                                                                                    link_db, monkeypatch):
    import json

    import sqlalchemy as sa

    from tribe_operators.store.schema import conflict_audit

    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_ODOO_SETTINGS",
                       json.dumps({"conflicts": {"default": "odoo", "fields": {"EmailAddress": "tribe"}}}))
    sims, clock = odoo_sims, Timeline(odoo_sims)
    seed_odoo_demo(sims.tribe, sims.odoo, companies=8, individuals=1, matched=1)
    clock.run(nightly)
    clock.run(export)  # the links now carry both sides' hashes
    links = LinkStore(link_db, "odoo")
    pairs = links.bulk_to_external("customer", [o["ID"] for o in sims.tribe.all("Relation_Organization")])
    (tribe_id, odoo_id), (gone_tribe, gone_odoo) = list(pairs.items())[:2]

    # Both sides change the name and the e-mail address before the next night.
    sims.tribe.update("Relation_Organization", tribe_id, {"Name": "Tribe Naam BV", "EmailAddress": "tribe@x.nl"})
    sims.odoo.call("res.partner", "write", [int(odoo_id)], {"name": "Odoo Naam BV", "email": "odoo@x.nl"})
    came_in = clock.run(nightly)
    assert counts(link_db, came_in, "customers")["conflicts"] == 1
    org = sims.tribe.get("Relation_Organization", tribe_id)
    assert (org["Name"], org["EmailAddress"]) == ("Odoo Naam BV", "tribe@x.nl")  # default Odoo; the field's rule: Tribe
    with link_db.connect() as conn:
        (audit,) = conn.execute(sa.select(conflict_audit).where(conflict_audit.c.integration == "odoo")).all()
    assert audit.fields["Name"]["winner"] == "odoo" and audit.fields["EmailAddress"]["winner"] == "tribe"
    clock.run(export)  # Tribe's winning e-mail address travels to Odoo
    assert sims.odoo.read("res.partner", int(odoo_id))["email"] == "tribe@x.nl"

    # Deleted in Odoo: the next change in Tribe drops the link; nothing is recreated or deleted.
    partners = sims.odoo.store.count("res.partner")
    sims.odoo.call("res.partner", "unlink", [int(gone_odoo)])
    sims.tribe.update("Relation_Organization", gone_tribe, {"Name": "Nog Steeds In Tribe BV"})
    out = clock.run(export)
    assert counts(link_db, out, "tribe_customers")["unlinked"] == 1
    assert links.to_external("customer", gone_tribe) is None and sims.odoo.store.count("res.partner") == partners - 1
    assert sims.tribe.get("Relation_Organization", gone_tribe)["Name"] == "Nog Steeds In Tribe BV"


def test_a_dry_run_of_the_import_reports_and_writes_nothing(nightly, odoo_sims, link_db):
    sims = odoo_sims
    seed_odoo_demo(sims.tribe, sims.odoo, companies=8, individuals=2, matched=1)
    before = len(sims.tribe.all("Relation_Organization"))
    dagrun = run(nightly, dry_run=True)
    assert counts(link_db, dagrun, "customers")["created"] > 0  # what *would* be created…
    assert len(sims.tribe.all("Relation_Organization")) == before  # …but nothing was
    assert LinkStore(link_db, "odoo").count() == 0 and Quarantine(link_db, "odoo").open() == []
