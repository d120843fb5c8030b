"""``poweroffice_to_tribe`` end to end: dag.test() against both simulators and real Postgres."""
from __future__ import annotations

import logging

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sandbox.scenario import BAD_CUSTOMERS, seed_demo
from tests.fixtures.records import poweroffice_change
from tribe_operators.store.links import LinkStore
from tests.integration.test_invoice_export_dag import run_note
from tribe_operators.store.quarantine import Quarantine
from tribe_operators.store.runs import run_counts

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags")).dags["poweroffice_to_tribe"]


def run(dag, *, minutes_ahead: int, **conf):
    """One run whose data interval ends after everything the simulators hold so far."""
    logical = datetime.now(UTC) + timedelta(minutes=minutes_ahead)
    dagrun = dag.test(logical_date=logical, run_conf=conf or None)
    assert str(dagrun.state).endswith("success"), dagrun.state
    return dagrun


def counts(link_db, dagrun, stream):
    rows = {r["step"]: r["counts"] for r in run_counts(link_db, dagrun.run_id) if r["stream"] == stream}
    quarantined = sum(rows[step].get("quarantined", 0) for step in ("map", "dedupe", "load"))
    fresh = rows["extract"]["extracted"] - rows["extract"].get("retried", 0)  # not the quarantine retries
    return {**rows["dedupe"], **rows["load"], "extracted": fresh, "retried": rows["extract"].get("retried", 0),
            "quarantined": quarantined}


def tribe_orgs(sims):
    return sims.tribe.all("Relation_Organization")


def test_initial_import_then_nothing_new_then_one_change(dag, sims, link_db, caplog):
    planted = seed_demo(sims.tribe, sims.po, customers=60, suppliers=15, matched=6)
    orgs_before = len(tribe_orgs(sims))
    companies = [c for c in sims.po.all("customers") if not c["IsPerson"]]
    suppliers = [s for s in sims.po.all("suppliers") if not s["IsPerson"]]

    caplog.set_level(logging.INFO)
    first = run(dag, minutes_ahead=20)
    c = counts(link_db, first, "customers")
    assert c["extracted"] == len(companies)
    assert c["quarantined"] == len(BAD_CUSTOMERS) + 1  # + the ambiguous debtor number
    # Where operators look: each quarantined record by id, field and reason in its step's log,
    # listed again by the summary, and the run's note flagged with the count.
    bad = Quarantine(link_db, "poweroffice").open()
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("quarantined poweroffice/")]
    for row in bad:
        assert any(f"poweroffice/{row['stream']} {row['record_id']}" in m and row["reason"] in m for m in logged), row
    summary = next(r.getMessage() for r in caplog.records if "record(s) quarantined in" in r.getMessage())
    assert summary.startswith(f"{len(bad)} record(s)") and all(row["record_id"] in summary for row in bad)
    created = sum(counts(link_db, first, s)["created"] for s in ("customers", "suppliers", "contacts", "persons",
                                                                 "product_groups", "products"))
    assert run_note(first).startswith(f"⚠ {len(bad)} quarantined · {created} created")
    # A contact that is customer and supplier, whose Tribe organisation carries only the creditor
    # number, is matched in its customer role too (one contact, one organisation).
    both = planted["creditor_matched_id"] in {x["Id"] for x in companies}
    assert c["matched"] == planted["matched_by_debtor_number"] + both
    links = LinkStore(link_db, "poweroffice")
    assert links.count("customer") == len(companies) - c["quarantined"]
    # Matched records were not duplicated: new orgs = created customers + created suppliers.
    s = counts(link_db, first, "suppliers")
    assert len(tribe_orgs(sims)) == orgs_before + c["created"] + s["created"]
    assert links.count("supplier") == len(suppliers)

    # Every linked customer has exactly one Customer relationship towards our organisation.
    rels = sims.tribe.all("Relationship_Organization_CommercialRelationship_Customer")
    per_org: dict[str, int] = {}
    for rel in rels:
        per_org[rel["Organization"]] = per_org.get(rel["Organization"], 0) + 1
    linked = links.bulk_to_internal("customer", [str(x["Id"]) for x in companies])
    assert all(per_org.get(tid) == 1 for tid in linked.values())

    # PowerOffice's number overwrote Tribe's debtor number on a matched record.
    sample = next(x for x in companies if str(x["Id"]) in linked)
    org = sims.tribe.get("Relation_Organization", linked[str(sample["Id"])])
    assert org["DebtorNumber"] == str(sample["Number"]) and org["Name"] == sample["Name"].strip()

    # Quarantine names the record and the field.
    reasons = {(q["record_id"], q["field"]) for q in Quarantine(link_db, "poweroffice").open()}
    assert any(field == "OrganizationNumber" for _, field in reasons)
    assert any(field == "Name" for _, field in reasons)

    # Second run: nothing new anywhere.
    orgs_after_first = len(tribe_orgs(sims))
    second = run(dag, minutes_ahead=40)
    for stream in ("customers", "suppliers"):
        again = counts(link_db, second, stream)
        assert again["created"] == again["updated"] == 0, (stream, again)
    assert counts(link_db, second, "customers")["retried"] == c["quarantined"]  # tried again, still bad
    assert len(Quarantine(link_db, "poweroffice").open("customers")) == c["quarantined"]
    assert len(tribe_orgs(sims)) == orgs_after_first

    # One name changed in PowerOffice (through its API), 45 minutes on → exactly one update.
    sims.po.clock.advance(45 * 60)  # after the 2nd run's window, inside the 3rd's
    _patch_customer(sims, sample["Id"], "Nytt Navn AS")
    third = run(dag, minutes_ahead=70)
    changed = counts(link_db, third, "customers")
    assert (changed["extracted"], changed["updated"], changed["created"]) == (1, 1, 0)
    assert sims.tribe.get("Relation_Organization", linked[str(sample["Id"])])["Name"] == "Nytt Navn AS"


def test_dry_run_reports_but_writes_nothing(dag, sims, link_db):
    seed_demo(sims.tribe, sims.po, customers=30, suppliers=5, matched=3, tribe_records=(24, 6, 6))
    before = len(tribe_orgs(sims))
    dagrun = run(dag, minutes_ahead=20, dry_run=True)
    c = counts(link_db, dagrun, "customers")
    assert c["created"] > 0  # what *would* be created…
    assert len(tribe_orgs(sims)) == before  # …but nothing was
    assert LinkStore(link_db, "poweroffice").count() == 0
    assert Quarantine(link_db, "poweroffice").open() == []


def _patch_customer(sims, customer_id, name):
    poweroffice_change(sims.po_url, "PATCH", f"Customers/{customer_id}", [{"op": "replace", "path": "/Name", "value": name}])


def test_a_late_commit_stamped_before_the_watermark_is_read_by_the_next_run(airflow_db, sims, link_db):
    """PowerOffice stamps a change when its transaction starts: one that commits after our read
    carries a stamp older than the watermark. The operator reads from the watermark minus the
    overlap, so the next run still finds it (without the overlap it is lost for good)."""
    from airflow.dag_processing.dagbag import DagBag

    from tribe_operators.store.watermarks import Watermarks

    # Parsed anew: dag.test() leaves an earlier run's rendered Params (dry_run) on the tasks.
    dag = DagBag(dag_folder=str(ROOT / "dags" / "poweroffice_to_tribe.py")).dags["poweroffice_to_tribe"]

    sims.po.insert_customer(Name="Tidlig AS", MailAddress={"CountryCode": "NO"})
    run(dag, minutes_ahead=20)
    mark = Watermarks(link_db, "poweroffice").get("customers", "import")
    assert mark is not None
    late = sims.po.insert_customer(Name="Sen Commit AS", MailAddress={"CountryCode": "NO"},
                                   LastChangedDateTimeOffset=mark - timedelta(minutes=2))
    second = run(dag, minutes_ahead=40)
    assert counts(link_db, second, "customers")["created"] == 1
    assert LinkStore(link_db, "poweroffice").to_internal("customer", str(late["Id"])) is not None
