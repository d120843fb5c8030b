"""Fail fast on a missing map entry for every record (issue 28, item 4), end to end with dag.test(),
the PowerOffice simulator and a real link database: when no product of a run maps and each one
lacks an entry of the same settings map (unit_map), the map is at fault — the products are still
quarantined with the "Map it" action, and the map task fails on its first try (retries=2 stay
configured) with the run's note saying which setting and codes to add. One product that maps
keeps today's behaviour (the run succeeds, the others wait in quarantine), and a later run that
only re-reads the records already held does not fail again."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.fixtures.chaos import no_retry_wait
from tests.integration.conftest import dag_named
from tests.integration.test_fail_fast import tries
from tests.integration.test_invoice_export_dag import run_note
from tribe_operators.store.quarantine import Quarantine

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]


@pytest.fixture(scope="module")
def po_import(airflow_db: Any) -> Any:
    # Airflow's retries stay configured (2); only their wait goes, so a retry would show at once.
    return no_retry_wait(dag_named("poweroffice_to_tribe"))


def _products(po: Any, units: list[str]) -> list[str]:
    """Products with these PowerOffice units, changed an hour ago (inside the run's window)."""
    po.clock.advance(-3600)
    try:
        return [str(po.insert_product(Name=f"Vare {i}", Code=f"V-{i}", UnitOfMeasureCode=unit)["Id"])
                for i, unit in enumerate(units)]
    finally:
        po.clock.advance(3600)


def _held(link_db: Any) -> dict[str, dict[str, Any]]:
    return {q["record_id"]: q for q in Quarantine(link_db, "poweroffice").open("products")}


@pytest.mark.timeout(180)
def test_every_product_missing_a_unit_map_entry_fails_the_map_task_on_its_first_try(po_import, sims, link_db):
    ids = _products(sims.po, ["LTR", "MTR", "LTR"])  # not in unit_map (PCS, HUR, DAY, KGM → EA, …)
    dagrun = po_import.test(logical_date=datetime.now(UTC) + timedelta(minutes=20))

    assert str(dagrun.state).endswith("failed")
    states = tries(dagrun)
    failed = {task: tried for task, (state, tried) in states.items() if state == "failed"}
    assert failed == {"products.map": 1}, states  # no retry: retries=2 would make it 3
    assert states["products.load"][0] == "upstream_failed"
    assert states["customers.load"][0] == "success"  # the other streams went on
    note = run_note(dagrun)
    assert note.startswith("✖ fix: poweroffice/products: every record (3) needs an entry in settings unit_map "
                           "for code(s) 'LTR', 'MTR': map it (tribe-sync page: Map it), then clear the task"), note
    assert "products.map" in note
    held = _held(link_db)  # held as before: the page's "Map it" offers each code
    assert sorted(held) == sorted(ids)
    assert {(q["action"]["kind"], q["action"]["setting"], q["action"]["code"]) for q in held.values()} == \
        {("unmapped_code", "unit_map", "LTR"), ("unmapped_code", "unit_map", "MTR")}
    assert not [p for p in sims.tribe.all("Product") if p.get("Code", "").startswith("V-")]


@pytest.mark.timeout(180)
def test_one_product_that_maps_keeps_the_run_green_and_re_reads_alone_do_not_fail_it(po_import, sims, link_db):
    ids = _products(sims.po, ["LTR", "MTR", "HUR"])  # HUR is mapped
    dagrun = po_import.test(logical_date=datetime.now(UTC) + timedelta(minutes=20))

    assert str(dagrun.state).endswith("success"), tries(dagrun)
    assert not run_note(dagrun).startswith("✖")
    assert sorted(_held(link_db)) == sorted(ids[:2])
    assert {p["Code"] for p in sims.tribe.all("Product")} >= {"V-2"}

    # The next run reads nothing new; it only re-reads the two held products, which still do not
    # map: they are on the page already, and the run stays green.
    again = po_import.test(logical_date=datetime.now(UTC) + timedelta(minutes=40))
    assert str(again.state).endswith("success"), tries(again)
    assert sorted(_held(link_db)) == sorted(ids[:2])
    assert all(q["attempts"] == 2 for q in _held(link_db).values())
