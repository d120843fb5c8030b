"""Odoo under faults: relations exported to Odoo and invoices posted there, each exactly once.

Every Odoo call is a POST (here JSON-2, Odoo 19: one path per model and method), so each fault
hits reads and writes alike: 5xx, connection resets, timeouts, lost responses (the call ran, its
answer never came) and PostgreSQL serialization failures (the call was rolled back). Tribe customers, persons and
contacts go to Odoo through ``tribe_to_odoo``; Sent invoices through ``tribe_invoices_to_odoo``.
Each round is one DAG run with Airflow's own task retries (minus their wait); rounds repeat, as
the 5-minute schedule would, until every task of a run succeeds.

Then: one Odoo partner per Tribe record (a create whose answer was lost is found by its key,
never made twice) and one posted move per invoice (found by its Origin on an in-flight retry,
never posted twice).
"""
from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.conftest import FULL
from tests.fixtures.chaos import injected, no_retry_wait, record_faults, task_outcome
from tests.fixtures.records import ref, sent_invoice
from tests.fixtures.simulators import odoo_connection_env
from tribe_operators.store.links import Link, LinkStore

pytestmark = [pytest.mark.postgres, pytest.mark.airflow, pytest.mark.timeout(1800 if FULL else 300)]
ROOT = Path(__file__).resolve().parents[2]
MAX_ROUNDS = 10
# Which call draws which fault depends on the load step's threads, so the rates are high enough
# that every kind the checks below need is drawn in practically every run (P(none) well below 1 %).
FAULTS = {"error_5xx": 0.04, "timeout": 0.01, "connection_reset": 0.03, "lost_response": 0.10,
          "serialization_failure": 0.10, "timeout_sleep_s": 1.5, "seed": 14}


def _dag(dag_id: str) -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return no_retry_wait(DagBag(dag_folder=str(ROOT / "dags" / f"{dag_id}.py")).dags[dag_id])


@pytest.fixture
def quick(odoo_sims, monkeypatch):  # Odoo 19 (odoo_sims is parametrised below)
    """No pacing and no back-off between retries (waiting is not under test); short timeouts."""
    from tenacity import wait_none

    from tribe_operators.http.retry import build_retrying
    from tribe_operators.systems.odoo import hook as odoo_hook

    sims = odoo_sims
    for key, value in odoo_connection_env(sims.odoo_url, sims.odoo.db, timeout=1.0).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(odoo_hook, "build_retrying", partial(build_retrying, wait=wait_none()))
    return sims


def _under_faults(dag_id: str, sims: Any, faults: dict[str, Any]) -> dict[str, Any]:
    """Scheduled runs of ``dag_id`` (20 minutes apart) with Odoo failing as ``faults`` say, until
    one run has every task succeed; the faults cleared after. Returns what happened."""
    dag, start, started = _dag(dag_id), datetime.now(UTC), time.monotonic()
    sims.odoo.faults.update(faults)
    seen = record_faults(sims.odoo)
    rounds, failed, retries = 0, ["not run"], 0
    while failed and rounds < MAX_ROUNDS:
        rounds += 1
        for state in (sims.tribe, sims.odoo):
            state.clock.advance(20 * 60)
        failed, tried_again = task_outcome(dag.test(logical_date=start + timedelta(minutes=20 * rounds)))
        retries += tried_again
    injected_faults = injected(sims.odoo)
    sims.odoo.faults.clear()
    return {"failed": failed, "rounds": rounds, "retries": retries, "faults": injected_faults,
            "lost_paths": [path for kind, _, path in seen if kind == "lost_response"],
            "seconds": time.monotonic() - started}


@pytest.mark.parametrize("odoo_sims", [19], indirect=True)
def test_tribe_relations_reach_odoo_once_under_faults(quick, link_db, chaos_size):
    sims = quick
    customers, persons = chaos_size((40, 10), (300, 60))
    tribe = sims.tribe
    for i in range(customers):
        org = tribe.insert("Relation_Organization", {"Name": f"Chaos Klant {i} BV", "DebtorNumber": f"C-{i:04d}",
                                                     "EmailAddress": f"info{i}@chaos.example"})
        tribe.insert("Relationship_Organization_CommercialRelationship_Customer", {"Organization": {"ID": org["ID"]}})
        if i % 4 == 0:  # a contact of every fourth customer
            person = tribe.insert("Relation_Person", {"FirstName": "Kees", "LastName": f"Contact {i}"})
            tribe.insert("Relationship_Person_Contact_Standard", {"Relation": {"ID": org["ID"]},
                                                                  "Person": {"ID": person["ID"]}})
    for i in range(persons):
        person = tribe.insert("Relation_Person", {"FirstName": "Els", "LastName": f"Particulier {i}",
                                                  "DebtorNumber": f"P-{i:04d}"})
        tribe.insert("Relationship_Person_CommercialRelationship_Customer", {"Person": {"ID": person["ID"]}})

    outcome = _under_faults("tribe_to_odoo", sims, FAULTS)
    failed, rounds, retries, faults = outcome["failed"], outcome["rounds"], outcome["retries"], outcome["faults"]

    partners = [sims.odoo.read("res.partner", i) for i in sims.odoo.search("res.partner", [], active_test=False)]
    refs = Counter(p.get("ref") for p in partners if p.get("ref"))
    contacts = Counter((p.get("parent_id"), p.get("name")) for p in partners if p.get("parent_id"))
    problems = [f"ref {r}: {refs[r]} partners" for r in [f"C-{i:04d}" for i in range(customers)]
                + [f"P-{i:04d}" for i in range(persons)] if refs[r] != 1]
    problems += [f"contact {key}: {n} partners" for key, n in contacts.items() if n != 1]
    links = LinkStore(link_db, "odoo")
    problems += [f"{entity}: {links.count(entity)} links, {n} expected" for entity, n in
                 (("customer", customers), ("person", persons), ("contact", -(-customers // 4)))
                 if links.count(entity) != n]
    lost = [path for path in outcome["lost_paths"] if path.endswith("/res.partner/create")]
    print(f"\nodoo relation chaos: {customers} customers, {persons} persons, problems {len(problems)}, "
          f"faults {faults}, lost responses {len(lost)}, task retries {retries}, rounds {rounds}, "
          f"{outcome['seconds']:.0f} s")
    assert not failed, f"still failing after {rounds} rounds: {failed}"
    assert not problems, "\n".join(problems[:30])
    # The test could have failed: faults of several kinds, and creates whose answer was lost.
    assert len([k for k, n in faults.items() if n]) >= 3, faults
    assert lost, f"no create lost its answer: {faults}"


@pytest.mark.parametrize("odoo_sims", [19], indirect=True)
def test_invoices_are_posted_in_odoo_once_under_faults(quick, link_db, chaos_size):
    sims = quick
    n = chaos_size(30, 300)
    sims.odoo.seed(companies=0, individuals=0, products=2, invoices=0)
    links, relationships = LinkStore(link_db, "odoo"), []
    for i in range(5):
        partner = sims.odoo.insert("res.partner", {"name": f"Factuur Klant {i}", "is_company": True, "customer_rank": 1})
        org = sims.tribe.insert("Relation_Organization", {"Name": f"Factuur Klant {i}"})
        rel = sims.tribe.insert("Relationship_Organization_CommercialRelationship_Customer",
                                {"Organization": {"ID": org["ID"]}})
        links.bulk_bind([Link("customer", org["ID"], str(partner)), Link("customer_relationship", rel["ID"], str(partner))])
        relationships.append(rel["ID"])
    vat = ref(sims.tribe, "Datastore_VatGroup", "HIGH")
    entity = {e: ref(sims.tribe, "Datastore_LegalEntity", e) for e in ("NL", "BE")}
    invoices = [sent_invoice(sims.tribe, relationships[i % 5], [
        {"Description": f"Regel {i}", "Quantity": 1 + i % 3, "Price": 100.0 + i, "VatGroup": {"ID": vat}}],
        LegalEntity={"ID": entity["BE" if i % 3 == 0 else "NL"]}) for i in range(n)]

    # ~1 call in 4 per invoice is its create
    outcome = _under_faults("tribe_invoices_to_odoo", sims, {**FAULTS, "lost_response": 0.15})
    failed, rounds, retries, faults = outcome["failed"], outcome["rounds"], outcome["retries"], outcome["faults"]

    moves = [sims.odoo.read("account.move", m) for m in sims.odoo.search("account.move", [], active_test=False)]
    per_origin = Counter(m.get("invoice_origin") for m in moves if m.get("invoice_origin"))
    problems = [f"invoice {inv['Number']}: {per_origin['tribe:' + inv['ID']]} moves"
                for inv in invoices if per_origin[f"tribe:{inv['ID']}"] != 1]
    problems += [f"move {m['id']} of {m['invoice_origin']} is {m['state']}" for m in moves
                 if m.get("invoice_origin") and m["state"] != "posted"]
    lost = [path for path in outcome["lost_paths"] if path.endswith("/account.move/create")]
    print(f"\nodoo invoice chaos: {n} invoices, problems {len(problems)}, faults {faults}, "
          f"lost creates {len(lost)}, task retries {retries}, "
          f"rounds {rounds}, {outcome['seconds']:.0f} s")
    assert not failed, f"still failing after {rounds} rounds: {failed}"
    assert not problems, "\n".join(problems[:30])
    assert lost and faults.get("serialization_failure"), f"no create lost its answer or no serialization failure: {faults}"
