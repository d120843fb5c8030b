"""Every task that calls an external API runs in the pool of the system it talks to, and every
pool the DAGs use is created by setup (``include/pools.json``)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tribe_operators.pools import api_pool, api_pools, step_pool

ROOT = Path(__file__).resolve().parents[2]
POOLS_FILE = ROOT / "include" / "pools.json"


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def _operator_class(task):
    return getattr(task, "operator_class", type(task))  # a MappedOperator names its class


def test_every_api_task_has_the_pool_of_its_system(dagbag):
    from tribe_operators.mapping.spec import load_stream
    from tribe_operators.operators.base import SyncOperator
    from tribe_operators.operators.express import ExpressOperator
    from tribe_operators.operators.stream import _StreamOperator

    checked = 0
    for dag_id, dag in dagbag.dags.items():
        for task in dag.tasks:
            cls = _operator_class(task)
            if issubclass(cls, ExpressOperator):  # a webhook run's steps: reads Tribe, writes the system
                assert task.pool == api_pool("tribe", task.integration), (dag_id, task.task_id, task.pool)
                checked += 1
                continue
            if not issubclass(cls, SyncOperator):  # the summary reads the link database only
                assert task.pool == "default_pool", (dag_id, task.task_id)
                continue
            assert task.pool in api_pools().values(), (dag_id, task.task_id, task.pool)
            if issubclass(cls, _StreamOperator):
                # The mapping file decides, so this also checks stream_systems()'s naming rule.
                spec = load_stream(task.integration, task.stream)
                side = spec.source.system if cls.step == "extract" else spec.target.system
                assert task.pool == api_pools()[side], (dag_id, task.task_id, task.pool)
            checked += 1
    assert checked > 40


def test_invoice_and_payment_tasks_take_the_scarcer_pool(dagbag):
    invoices = dagbag.dags["tribe_invoices_to_poweroffice"]
    assert invoices.get_task("find_sent_invoices").pool == "tribe_api"
    assert invoices.get_task("export_invoice").pool == "poweroffice_api"  # mapped: set in partial()
    assert dagbag.dags["poweroffice_payments_to_tribe"].get_task("sync_payments").pool == "poweroffice_api"  # mapped


def test_pool_rules():
    assert api_pool("tribe", "poweroffice") == "poweroffice_api"
    assert api_pool("tribe", "exact") == "exact_online_api"
    assert step_pool("poweroffice", "customers", "extract") == "poweroffice_api"
    assert step_pool("poweroffice", "customers", "load") == "tribe_api"
    assert step_pool("poweroffice", "tribe_products", "extract") == "tribe_api"
    assert step_pool("poweroffice", "tribe_products", "map") == "poweroffice_api"
    with pytest.raises(ValueError, match="no pool"):
        api_pool("sap")
    with pytest.raises(ValueError):
        api_pool()


def test_pools_file_defines_every_api_pool_with_a_size_and_a_reason():
    pools = json.loads(POOLS_FILE.read_text())
    assert set(pools) == set(api_pools().values())
    for name, spec in pools.items():
        assert isinstance(spec["slots"], int) and spec["slots"] >= 1, name
        assert len(spec["description"]) > 40, name
        assert spec.get("include_deferred") is False, name  # nothing defers; keep the slot semantics plain
    assert pools["exact_online_api"]["slots"] == 1  # no parallel calls (Exact's advice), single-use token


@pytest.mark.airflow
def test_pools_file_imports_with_airflows_own_cli_code(airflow_db):
    """What ``airflow pools import include/pools.json`` (compose's airflow-init) runs. The pools
    are dropped again: ``dag.test()`` must keep working without them (it runs tasks without
    the scheduler's pool check), which the integration tests then show."""
    from airflow.api.client import get_current_api_client
    from airflow.cli.commands.pool_command import pool_import_helper
    from airflow.models.pool import Pool

    try:
        imported, failed = pool_import_helper(str(POOLS_FILE))
        assert failed == []
        assert len(imported) == len(api_pools())
        for name, spec in json.loads(POOLS_FILE.read_text()).items():
            assert Pool.get_pool(name).slots == spec["slots"]
    finally:
        client = get_current_api_client()
        for name in api_pools().values():
            if Pool.get_pool(name) is not None:
                client.delete_pool(name)
