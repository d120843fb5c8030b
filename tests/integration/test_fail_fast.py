"""Fail fast on configuration (issue 28, item 4), end to end with dag.test(), the simulators and a
real link database: a connection or setting no retry can fix fails its task on the first try —
Airflow's retries are configured (retries=2) and would otherwise run — and the run's note says
what to fix; a renamed connection extra (PowerOffice's ``subscription_key``) still works, with a
deprecation warning in the task log and the note. A settings fault inside the mapped task group
of a per-division import ends dag.test() with the run failed, not waiting on retries."""
from __future__ import annotations

import importlib
import inspect
import json
import logging
import pkgutil
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.fixtures.chaos import no_retry_wait
from tests.fixtures.simulators import connection_env
from tests.integration.conftest import dag_named
from tests.integration.test_invoice_export_dag import run_note

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]


@pytest.fixture(scope="module")
def po_import(airflow_db: Any) -> Any:
    # Airflow's retries stay configured (2); only their wait goes, so a retry would show at once.
    return no_retry_wait(dag_named("poweroffice_to_tribe"))


@pytest.fixture(scope="module")
def exact_import(airflow_db: Any) -> Any:
    return dag_named("exact_to_tribe")  # with its retries and their wait (30 s, exponential)


def tries(dagrun: Any) -> dict[str, tuple[str, int]]:
    """``{task[map_index]: (state, try_number)}`` of a run."""
    return {(ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"):
            (str(ti.state).rsplit(".", 1)[-1], ti.try_number) for ti in dagrun.get_task_instances()}


def po_connection(sims: Any, monkeypatch: pytest.MonkeyPatch, *, drop: tuple[str, ...] = (), **extra: Any) -> None:
    conn = json.loads(connection_env(sims.tribe_url, sims.po_url)["AIRFLOW_CONN_POWEROFFICE_DEFAULT"])
    conn["extra"] = {**{k: v for k, v in conn["extra"].items() if k not in drop}, **extra}
    monkeypatch.setenv("AIRFLOW_CONN_POWEROFFICE_DEFAULT", json.dumps(conn))


@pytest.mark.timeout(180)
def test_an_unknown_connection_extra_fails_its_tasks_on_the_first_try(po_import, sims, link_db, monkeypatch):
    po_connection(sims, monkeypatch, page_sise=50)  # a typo of page_size
    sims.po.insert_customer(Name="Fjord Consulting AS")
    dagrun = po_import.test(logical_date=datetime.now(UTC) + timedelta(minutes=20))

    assert str(dagrun.state).endswith("failed")
    states = tries(dagrun)
    failed = {task: tried for task, (state, tried) in states.items() if state == "failed"}
    assert "customers.extract" in failed, states
    assert set(failed.values()) == {1}, failed  # no retry: retries=2 would make these 3
    assert "Fjord Consulting AS" not in {o["Name"] for o in sims.tribe.all("Relation_Organization")}
    note = run_note(dagrun)
    assert note.startswith("✖ fix: connection 'poweroffice_default': unknown extra field(s) ['page_sise']"), note
    assert "customers.extract" in note


@pytest.mark.timeout(180)
def test_the_old_subscription_key_name_works_with_a_deprecation_warning(po_import, sims, link_db, monkeypatch, caplog):
    po_connection(sims, monkeypatch, drop=("subscription_api_key",), subscription_key="po-subscription-key")
    sims.po.insert_customer(Name="Fjord Consulting AS")
    with caplog.at_level(logging.WARNING):
        dagrun = po_import.test(logical_date=datetime.now(UTC) + timedelta(minutes=20))

    assert str(dagrun.state).endswith("success"), tries(dagrun)
    assert "Fjord Consulting AS" in {o["Name"] for o in sims.tribe.all("Relation_Organization")}
    warning = ("connection 'poweroffice_default': extra 'subscription_key' is now 'subscription_api_key' "
               "(Subscription key); rename it in the connection")
    assert warning in caplog.text
    note = run_note(dagrun)
    assert f"deprecated: {warning}" in note and " created" in note, note


@pytest.mark.timeout(180)
def test_both_names_of_a_renamed_extra_with_different_values_fail_fast(po_import, sims, link_db, monkeypatch):
    po_connection(sims, monkeypatch, subscription_key="an-older-key")
    dagrun = po_import.test(logical_date=datetime.now(UTC) + timedelta(minutes=20))
    assert str(dagrun.state).endswith("failed")
    assert tries(dagrun)["customers.extract"] == ("failed", 1)
    assert "are both set, to different values: keep 'subscription_api_key' only" in run_note(dagrun)


# The Exact import runs once per division: a mapped task group. A settings fault met inside it
# (customers read relation type Customer, which this Variable takes out) fails that task at
# once; everything after it ends upstream_failed, one level a second (dag.test()'s loop), and
# dag.test() returns in about 20 s. With retries (retry_delay 30 s, exponential: no_retry_wait is
# not applied here) it sat over 5 minutes in "No tasks to run" waiting for them, and then failed
# the try_number check below. (The timeout marker is a backstop only: under dag.test() its alarm
# did not fire at 150 s in that case.)
@pytest.mark.timeout(150)
@pytest.mark.parametrize("world", [{"calls_per_minute": 100_000, "timeout": 2}], indirect=True, ids=["unpaced"])
def test_a_settings_fault_in_a_mapped_group_ends_the_run_failed(exact_import, world, link_db, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_EXACT_SETTINGS", json.dumps({"relation_types": {"Customer": None}}))
    dagrun = exact_import.test(logical_date=datetime.now(UTC) + timedelta(minutes=20))

    assert str(dagrun.state).endswith("failed")
    states = tries(dagrun)
    assert states["division.customers.extract[0]"] == ("failed", 1), states
    assert states["division.customers.load[0]"][0] == "upstream_failed"
    assert "relation_types.Customer is not in the settings" in run_note(dagrun)


def test_every_operator_fails_fast_on_configuration():
    """Each operator class of the core (stream, invoices, payments, deletions, scopes, summary)
    goes through ``fails_fast``: a new family cannot miss it."""
    from airflow.sdk import BaseOperator

    import tribe_operators.operators as package
    from tribe_operators.operators.base import TribeOperator

    found = []
    for module in pkgutil.iter_modules(package.__path__):
        loaded = importlib.import_module(f"{package.__name__}.{module.name}")
        for _, cls in inspect.getmembers(loaded, inspect.isclass):
            if issubclass(cls, BaseOperator) and cls.__module__ == loaded.__name__ and cls is not TribeOperator:
                assert issubclass(cls, TribeOperator), cls
                if cls.execute is not BaseOperator.execute:  # not an abstract base (SyncOperator)
                    found.append(cls)
                    assert getattr(cls.execute, "__fails_fast__", False), cls
    assert {c.__name__ for c in found} >= {"ExtractOperator", "ExportInvoiceOperator", "SyncPaymentsOperator",
                                           "ForgetDeletedOperator", "ListScopesOperator", "SummaryOperator"}
