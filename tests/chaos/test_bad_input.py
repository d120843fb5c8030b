"""Bad input never stops a batch: every kind in the corpus (``bad_input_corpus.py``) is quarantined
with its own field and a specific reason, every good record planted around it lands, and
nothing else is quarantined.

One real DAG run per direction (``dag.test()`` against the simulators and a PostgreSQL link
database): the PowerOffice → Tribe import, the Tribe → PowerOffice export and the invoice export.
A validation that goes missing lets its record through, and its row fails by name.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chaos.bad_input_corpus import (
    EXPORT,
    EXPORT_MAP_ADDITIONS,
    IMPORT,
    IMPORT_MAP_ADDITIONS,
    INVOICES,
    OSLO,
    Bad,
    InvoiceSide,
    PowerOfficeSide,
    TribeSide,
    good_export,
    good_import,
    good_invoices,
)
from tests.fixtures.records import orders_for
from tribe_operators.mapping.spec import load_stream, mappings_root
from tribe_operators.store.links import LinkStore
from tribe_operators.store.outcomes import run_outcomes
from tribe_operators.store.quarantine import Quarantine

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
ROOT = Path(__file__).resolve().parents[2]
SETTINGS_VARIABLE = "AIRFLOW_VAR_TRIBE_SYNC_POWEROFFICE_SETTINGS"
Planted = list[tuple[Bad, tuple[str, ...]]]


@pytest.fixture(scope="module")
def dags(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags")).dags


def _plant(side: Any, good: Callable[[Any, int], None], corpus: list[Bad]) -> Planted:
    """Good records, then every bad kind, then more good records: the bad ones sit among them."""
    good(side, 0)
    planted = [(case, case.ids(side)) for case in corpus]
    good(side, 1)
    return planted


def _maps_with(additions: dict[str, dict[str, str]]) -> str:
    """The settings Variable: the file's maps plus ``additions`` (a user's edit of one map entry)."""
    settings = yaml.safe_load((mappings_root() / "poweroffice" / "settings.yaml").read_text(encoding="utf-8"))
    return json.dumps({name: {**settings[name], **extra} for name, extra in additions.items()})


def _succeeded(dagrun: Any) -> bool:
    return str(dagrun.state).endswith("success")


def _linked(sims: Any, links: LinkStore, stream: str, record_id: str) -> bool:
    """Did the record land: linked, and its counterpart present in the other system?"""
    spec = load_stream("poweroffice", stream)
    if spec.direction == "import":
        tribe_id = links.to_internal(spec.target.link_entity, record_id)
        return tribe_id is not None and sims.tribe.get(spec.target.entity_set, tribe_id) is not None
    external = links.to_external(spec.target.link_entity, record_id)
    return external is not None and sims.po.get(spec.target.entity_set, external.split("/")[-1]) is not None


def _verdict(link_db: Any, planted: Planted, good: list[tuple[str, str]],
             landed: Callable[[str, str], bool]) -> list[str]:
    """Everything that is not as the corpus says, one line per problem."""
    rows = {(q["stream"], q["record_id"]): q for q in Quarantine(link_db, "poweroffice").open()}
    problems, expected = [], set()
    for case, ids in planted:
        for record_id in ids:
            expected.add((case.stream, record_id))
            row = rows.get((case.stream, record_id))
            if row is None:
                problems.append(f"{case.kind}: {case.stream} {record_id} was not quarantined")
            elif row["field"] != case.field or case.reason not in row["reason"]:
                problems.append(f"{case.kind}: quarantined as [{row['field']}] {row['reason']!r}; "
                                f"expected [{case.field}] '…{case.reason}…'")
            if landed(case.stream, record_id):
                problems.append(f"{case.kind}: {case.stream} {record_id} landed anyway")
    problems += [f"unexpected quarantine: {stream} {record_id} [{row['field']}] {row['reason']}"
                 for (stream, record_id), row in rows.items() if (stream, record_id) not in expected]
    problems += [f"good {stream} record {record_id} did not land" for stream, record_id in good
                 if not landed(stream, record_id)]
    return problems


def test_the_corpus_has_at_least_30_distinct_kinds_across_all_streams():
    kinds = [case.kind for case in (*IMPORT, *EXPORT, *INVOICES)]
    assert len(kinds) == len(set(kinds)) and len(kinds) >= 30
    imports = {"customers", "suppliers", "contacts", "persons", "product_groups", "products"}
    assert {case.stream for case in (*IMPORT, *EXPORT, *INVOICES)} == (
        imports | {f"tribe_{s}" for s in imports} | {"invoices"})


def test_import_quarantines_every_bad_kind_and_lands_the_rest(dags, sims, link_db, monkeypatch):
    side = PowerOfficeSide(sims.po)
    planted = _plant(side, good_import, IMPORT)
    monkeypatch.setenv(SETTINGS_VARIABLE, _maps_with(IMPORT_MAP_ADDITIONS))

    assert _succeeded(dags["poweroffice_to_tribe"].test(logical_date=datetime.now(UTC) + timedelta(minutes=20)))
    links = LinkStore(link_db, "poweroffice")
    problems = _verdict(link_db, planted, side.good, lambda stream, rid: _linked(sims, links, stream, rid))
    assert not problems, "\n".join(problems)


def test_export_quarantines_every_bad_kind_and_lands_the_rest(dags, sims, link_db, monkeypatch):
    side = TribeSide(sims.tribe)
    planted = _plant(side, good_export, EXPORT)
    monkeypatch.setenv(SETTINGS_VARIABLE, _maps_with(EXPORT_MAP_ADDITIONS))

    assert _succeeded(dags["tribe_to_poweroffice"].test(logical_date=datetime.now(UTC) + timedelta(minutes=20)))
    links = LinkStore(link_db, "poweroffice")
    problems = _verdict(link_db, planted, side.good, lambda stream, rid: _linked(sims, links, stream, rid))
    assert not problems, "\n".join(problems)


def test_invoice_export_quarantines_every_bad_invoice_and_exports_the_rest(dags, sims, link_db, monkeypatch):
    po, tribe = sims.po, sims.tribe
    customer = po.insert_customer(Name="Faktura Kunde AS", MailAddress=OSLO)
    po.insert_product(Name="Konsulenttime", Code="KONS-1", UnitPrice=250.0, UnitOfMeasureCode="HUR")
    with monkeypatch.context() as only_customers:  # the customer first, so invoices have one to go to
        only_customers.setenv(SETTINGS_VARIABLE, json.dumps({"enabled_streams": ["customers"]}))
        assert _succeeded(dags["poweroffice_to_tribe"].test(logical_date=datetime.now(UTC) + timedelta(minutes=20)))
    relationship = LinkStore(link_db, "poweroffice").to_internal("customer_relationship", str(customer["Id"]))
    product = tribe.insert("Product", {"Name": "Konsulenttime", "Code": "KONS-1", "SalesPrice": 250.0})
    unknown = tribe.insert("Product", {"Name": "Onbekend", "Code": "ONBEKEND-1", "SalesPrice": 10.0})
    side = InvoiceSide(tribe, relationship, product["ID"], unknown["ID"])
    planted = _plant(side, good_invoices, INVOICES)

    dagrun = dags["tribe_invoices_to_poweroffice"].test(logical_date=datetime.now(UTC))
    problems = _verdict(link_db, planted, side.good, lambda stream, rid: len(orders_for(po, rid)) == 1)
    assert not problems, "\n".join(problems)
    # Each bad invoice failed its own task, at once; the good ones' tasks succeeded.
    states = [str(ti.state) for ti in dagrun.get_task_instances() if ti.task_id == "export_invoice"]
    assert sorted(s.rsplit(".", 1)[-1] for s in states) == sorted(["failed"] * len(INVOICES)
                                                                   + ["success"] * len(side.good))
    # Each at its first try (a quarantined invoice is never retried; writing its summary row once
    # failed on a currency 'EURO' and turned the quarantine into retries), and every invoice of
    # the run has its row in the summary: the bad ones failed with their reason, as Tribe gave it.
    tries = {ti.map_index: ti.try_number for ti in dagrun.get_task_instances() if ti.task_id == "export_invoice"}
    assert set(tries.values()) == {1}, tries
    outcomes = {o["tribe_id"]: o for o in run_outcomes(link_db, dagrun.run_id)}
    bad = {record_id for _, ids in planted for record_id in ids}
    assert set(outcomes) == bad | {record_id for _, record_id in side.good}
    assert {tid for tid, o in outcomes.items() if o["status"] == "failed" and o["reason"]} == bad
    assert "EURO" in {o["currency"] for o in outcomes.values()}
