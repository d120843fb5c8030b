"""A messy book of relations through ``poweroffice_to_tribe`` twice: every record ends where it
must, no contact becomes two organisations, no organisation is two contacts, and the second
run writes nothing.

The corpus (``tests/fixtures/messy_relations.py``) names the outcome of every role of every
contact: a new organisation, a link to a given Tribe record, or quarantine with the field.
"""
from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.messy_relations import CONTACTS, EXPECTED_NAMES, PERSONS, TRIBE_ORGS, TRIBE_PERSONS, cid, debtor
from tribe_operators.dedupe.keys import normal_key
from tribe_operators.store.links import LinkStore
from tribe_operators.store.quarantine import Quarantine
from tribe_operators.store.runs import run_counts

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
ROOT = Path(__file__).resolve().parents[2]
ROLE = {"customers": "customer", "suppliers": "supplier", "persons": "person"}
WRITES = ("POST", "PUT", "PATCH", "DELETE")


@pytest.fixture(scope="module")
def dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags")).dags["poweroffice_to_tribe"]


def _seed(sims: Any) -> dict[str, str]:
    """The corpus in both simulators; returns the Tribe id of each seeded record by label."""
    ids = {label: sims.tribe.insert("Relation_Organization", fields)["ID"] for label, fields in TRIBE_ORGS.items()}
    ids |= {label: sims.tribe.insert("Relation_Person", fields)["ID"] for label, fields in TRIBE_PERSONS.items()}
    for contact in CONTACTS:
        if contact.customer is not None:
            sims.po.insert_customer(Id=contact.id, Number=debtor(contact.k), **contact.customer)
        if contact.supplier is not None:
            sims.po.insert_supplier(Id=contact.id, Number=21000 + contact.k, **contact.supplier)
    for person in PERSONS:
        sims.po.insert_customer(Id=cid(person.k), Number=debtor(person.k), IsPerson=True, **person.fields)
    return ids


def _run(dag: Any, minutes_ahead: int) -> Any:
    dagrun = dag.test(logical_date=datetime.now(UTC) + timedelta(minutes=minutes_ahead))
    assert str(dagrun.state).endswith("success"), dagrun.state
    return dagrun


def _outcome(links: LinkStore, quarantine: dict[tuple[str, str], dict[str, Any]], seeded: dict[str, str],
             stream: str, source_id: int) -> tuple[str, ...]:
    """What became of one role of one contact, in the corpus's terms."""
    tribe_id = links.to_internal(ROLE[stream], str(source_id))
    entry = quarantine.get((stream, str(source_id)))
    if tribe_id is not None:
        assert entry is None, f"{stream} {source_id} is linked and quarantined: {entry}"
        label = next((label for label, tid in seeded.items() if tid == tribe_id), None)
        return ("tribe", label) if label else ("new",)
    assert entry is not None, f"{stream} {source_id} is neither linked nor quarantined"
    assert entry["system"] == "poweroffice", entry  # the record's own system, also when dedupe holds it
    kind = "held" if (entry["action"] or {}).get("kind") == "held" else "bad"
    return (kind, entry["field"], entry["reason"])


def _matches(got: tuple[str, ...], want: tuple[str, ...]) -> bool:
    if got[0] != want[0] or got[0] in ("new", "tribe"):
        return got == want
    return got[1] == want[1] and want[2] in got[2]


def test_messy_relations_land_once_and_the_second_run_writes_nothing(dag, sims, link_db):
    seeded = _seed(sims)
    orgs_before = len(sims.tribe.all("Relation_Organization"))
    _run(dag, minutes_ahead=20)

    links = LinkStore(link_db, "poweroffice")
    quarantine = {(q["stream"], q["record_id"]): q for q in Quarantine(link_db, "poweroffice").open()}
    wrong = []
    for contact in CONTACTS:
        for stream, want in contact.expect.items():
            got = _outcome(links, quarantine, seeded, stream, contact.id)
            if not _matches(got, want):
                wrong.append(f"contact {contact.k} {stream}: expected {want}, got {got}")
    for person in PERSONS:
        got = _outcome(links, quarantine, seeded, "persons", cid(person.k))
        if not _matches(got, person.expect):
            wrong.append(f"person {person.k}: expected {person.expect}, got {got}")
    assert not wrong, "\n".join(wrong)

    # One contact, one organisation: both roles of a contact are bound to the same record…
    for contact in CONTACTS:
        bound = {links.to_internal(ROLE[s], str(contact.id)) for s in contact.expect} - {None}
        assert len(bound) <= 1, f"contact {contact.k} is bound to {bound}"
    # …no Tribe record is bound to two contacts, in any role…
    owners: dict[str, set[str]] = {}
    for entity in ("customer", "supplier"):
        for contact in CONTACTS:
            if (tid := links.to_internal(entity, str(contact.id))) is not None:
                owners.setdefault(tid, set()).add(str(contact.id))
    assert all(len(o) == 1 for o in owners.values()), {t: o for t, o in owners.items() if len(o) > 1}
    # …and exactly one new organisation per new contact, whatever its roles.
    new_contacts = {c.k for c in CONTACTS if ("new",) in c.expect.values()}
    assert len(sims.tribe.all("Relation_Organization")) == orgs_before + len(new_contacts)
    import_ids = Counter(o.get("ImportId") for o in sims.tribe.all("Relation_Organization") if o.get("ImportId"))
    assert all(n == 1 for n in import_ids.values()), import_ids

    # What landed is clean: numbers in their normal form, websites parsed, names trimmed.
    for contact in CONTACTS:
        tid = next((links.to_internal(ROLE[s], str(contact.id)) for s in contact.expect
                    if links.to_internal(ROLE[s], str(contact.id))), None)
        if tid is None:
            continue
        org = sims.tribe.get("Relation_Organization", tid)
        if "customers" in contact.expect:
            assert org["DebtorNumber"] == str(debtor(contact.k)), (contact.k, org["DebtorNumber"])
        if contact.website:
            assert org["Website"] == contact.website, (contact.k, org["Website"])
        if contact.k in EXPECTED_NAMES:
            assert org["Name"] == EXPECTED_NAMES[contact.k]
    for person in PERSONS:
        tid = links.to_internal("person", str(cid(person.k)))
        if person.name and tid:
            record = sims.tribe.get("Relation_Person", tid)
            assert (record["FirstName"], record["MiddleName"], record["LastName"]) == person.name, person.k
    # A contact held back changed nothing: the organisations it matched are as they were.
    for label in ("dup-a", "dup-b", "split-debtor", "split-creditor", "shared", "dup17-a", "dup17-b"):
        org = sims.tribe.get("Relation_Organization", seeded[label])
        assert org["Name"] == TRIBE_ORGS[label]["Name"], label
        for number in ("DebtorNumber", "CreditorNumber"):
            assert normal_key(org.get(number)) == normal_key(TRIBE_ORGS[label].get(number)), (label, number)

    # Second run: the quarantined records are tried again and stay where they are; nothing is written.
    sims.tribe.reset_counters()
    second = _run(dag, minutes_ahead=40)
    writes = {call: n for call, n in sims.tribe.counters()["calls"].items()
              if call.startswith(WRITES) and "oauth2" not in call}
    assert writes == {}, writes
    for row in run_counts(link_db, second.run_id):
        if row["step"] == "load":
            assert row["counts"].get("created", 0) == row["counts"].get("updated", 0) == 0, row
    assert {(q["stream"], q["record_id"]) for q in Quarantine(link_db, "poweroffice").open()} == set(quarantine)
