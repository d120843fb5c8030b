"""A match by number whose names share nothing is held, not applied: Tribe numbers its own
relations too, so PowerOffice's new customers 10066–10068 can meet unrelated Tribe organisations
numbered 10066–10068 months earlier. Held with both names and ids; a person answers on the page
("link anyway", "create new") and dedupe follows the answer on every later run."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fixtures.records import OSLO
from tribe_operators.reports.summary import note_text, read_report, render_matches
from tribe_operators.store.links import LinkStore
from tribe_operators.store.quarantine import Quarantine
from tribe_operators.store.runs import run_counts

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
ROOT = Path(__file__).resolve().parents[2]

TRIBE_EARLIER = {10066: "Berg Transport AS", 10067: "Solberg Regnskap", 10068: "Nordlys Bakeri AS",
                 10070: "Fjord Consulting AS"}
NEW_IN_POWEROFFICE = {10066: "Havblikk Fisk AS", 10067: "Kvist Interiør AS", 10068: "Lysglimt Design ENK",
                      10070: "Fjord Konsulting AS"}  # the last is the same company, typed differently


@pytest.fixture(scope="module")
def dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags" / "poweroffice_to_tribe.py")).dags["poweroffice_to_tribe"]


def _run(dag, minutes: int, conf=None):
    dagrun = dag.test(logical_date=datetime.now(UTC) + timedelta(minutes=minutes), run_conf=conf)
    assert str(dagrun.state).endswith("success"), dagrun.state
    return dagrun


def test_numbers_meeting_unrelated_organisations_are_held_with_both_names(dag, sims, link_db):
    from tribe_operators.ui.decisions import decide_match

    tribe_ids = {n: sims.tribe.insert("Relation_Organization", {"Name": name, "DebtorNumber": str(n)})["ID"]
                 for n, name in TRIBE_EARLIER.items()}
    po = {n: sims.po.insert_customer(Name=name, Number=n, MailAddress=OSLO)["Id"]
          for n, name in NEW_IN_POWEROFFICE.items()}
    first = _run(dag, 20)

    held = {q["record_id"]: q for q in Quarantine(link_db, "poweroffice").open("customers")}
    assert set(held) == {str(po[n]) for n in (10066, 10067, 10068)}
    for n in (10066, 10067, 10068):
        row = held[str(po[n])]
        assert row["system"] == "poweroffice" and row["field"] == "DebtorNumber"
        for text in (TRIBE_EARLIER[n], NEW_IN_POWEROFFICE[n], tribe_ids[n], f"DebtorNumber {n}"):
            assert text in row["reason"], (text, row["reason"])
        assert row["action"] == {"kind": "number_match", "key": f"DebtorNumber {n}", "source_name":
                                 NEW_IN_POWEROFFICE[n], "target_id": tribe_ids[n], "target_name": TRIBE_EARLIER[n],
                                 "entity_set": "Relation_Organization"}
    names = {o["ID"]: o["Name"] for o in sims.tribe.all("Relation_Organization")}
    assert {n: names[tribe_ids[n]] for n in TRIBE_EARLIER} == {**TRIBE_EARLIER, 10070: NEW_IN_POWEROFFICE[10070]}
    links = LinkStore(link_db, "poweroffice")
    assert links.to_internal("customer", str(po[10070])) == tribe_ids[10070]  # alike names: applied
    load = next(r["counts"] for r in run_counts(link_db, first.run_id) if (r["stream"], r["step"]) ==
                ("customers", "load"))
    assert load["matched"] == 1 and load["created"] == 0
    # The applied match by number is listed apart in the run's summary and counted in its note.
    report = read_report(link_db, first.run_id)
    assert report.matched_by_number == {("customers", "match:DebtorNumber"): 1}
    assert [(m["source_id"], m["target_id"]) for m in report.matches] == [(str(po[10070]), tribe_ids[10070])]
    assert render_matches(report).startswith("matched by number: 1 (customers DebtorNumber 1)")
    assert "1 matched by number" in note_text(report) and note_text(report).startswith("⚠ 3 quarantined")

    # A person answers two of them on the page; the runs those answers start retry the records.
    started = []
    answer = lambda n, choice: decide_match(link_db, held[str(po[n])], choice, "ops",  # noqa: E731
                                            start_run=lambda d, r, conf: started.append(conf) or r)
    answer(10066, "create")
    answer(10067, "link")
    for conf in started:
        _run(dag, 25, conf)

    names = {o["ID"]: o["Name"] for o in sims.tribe.all("Relation_Organization")}
    created = links.to_internal("customer", str(po[10066]))
    assert created not in tribe_ids.values() and names[created] == NEW_IN_POWEROFFICE[10066]
    assert names[tribe_ids[10066]] == TRIBE_EARLIER[10066]  # the unrelated one is left as it was
    assert links.to_internal("customer", str(po[10067])) == tribe_ids[10067]  # linked as the person said
    assert names[tribe_ids[10068]] == TRIBE_EARLIER[10068]
    still = {q["record_id"] for q in Quarantine(link_db, "poweroffice").open("customers")}
    assert still == {str(po[10068])}
    _run(dag, 40)  # and the answers hold on a later run
    assert {q["record_id"] for q in Quarantine(link_db, "poweroffice").open("customers")} == {str(po[10068])}
    assert links.to_internal("customer", str(po[10066])) == created
