"""Every DAG file imports cleanly and carries what operators of the Airflow UI rely on."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "poweroffice_to_tribe" in dagbag.dags


def test_every_dag_has_tags_owner_retries_and_docs(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        assert dag.default_args.get("owner") not in (None, "airflow"), dag_id
        assert dag.default_args.get("retries", 0) >= 2, dag_id
        assert dag.doc_md and len(dag.doc_md) > 100, dag_id
        assert dag.max_active_runs == 1, dag_id


def test_import_dag_has_a_real_data_interval_every_15_minutes(dagbag):
    from airflow.timetables.interval import CronDataIntervalTimetable

    dag = dagbag.dags["poweroffice_to_tribe"]
    assert isinstance(dag.timetable, CronDataIntervalTimetable)  # LocalCronIntervals: the same schedule, named
    assert dag.timetable.serialize()["expression"] == "*/15 * * * *"
    assert dag.catchup is False


def test_streams_run_in_order_and_end_in_a_summary(dagbag):
    dag = dagbag.dags["poweroffice_to_tribe"]
    for stream in ("customers", "suppliers"):
        assert dag.get_task(f"{stream}.extract").downstream_task_ids == {f"{stream}.map"}
        assert dag.get_task(f"{stream}.dedupe").downstream_task_ids == {f"{stream}.load"}
        # One contact, two roles: both are mapped before either decides, then they load in turn.
        assert dag.get_task(f"{stream}.dedupe").trigger_rule == "none_failed"
    assert dag.get_task("customers.dedupe").upstream_task_ids == {"customers.map", "suppliers.map"}
    assert dag.get_task("suppliers.dedupe").upstream_task_ids == {"customers.map", "suppliers.map", "customers.load"}
    assert {"contacts.extract", "persons.extract"} <= dag.get_task("suppliers.load").downstream_task_ids
    assert "products.extract" in dag.get_task("product_groups.load").downstream_task_ids
    assert dag.get_task("products.load").downstream_task_ids == {"summary"}


@pytest.mark.parametrize("dag_id", ["poweroffice_to_tribe", "tribe_to_poweroffice", "tribe_invoices_to_poweroffice"])
def test_the_summary_is_a_teardown_so_the_run_colour_follows_the_streams(dagbag, dag_id):
    """The run's state comes from its last work tasks, not from the summary (which runs anyway)."""
    dag = dagbag.dags[dag_id]
    summary = dag.get_task("summary")
    assert summary.is_teardown and not summary.on_failure_fail_dagrun
    assert summary.trigger_rule == "all_done_setup_success"
    assert [t.task_id for t in dag.leaves] == ["summary"]
    # Every task right before the summary is a last work task: its failure fails the run.
    assert summary.upstream_task_ids and all(
        set(dag.get_task(t).downstream_task_ids) == {"summary"} for t in summary.upstream_task_ids)


def test_a_webhook_run_never_skips_a_stream_that_a_stream_it_runs_depends_on(dagbag):
    """Contacts are exported under their organisation's link, products under their group's: for
    every type a stream's mapping lists, the streams before it in tribe_to_poweroffice run too."""
    from tribe_operators.mapping.spec import load_stream

    dag = dagbag.dags["tribe_to_poweroffice"]
    streams = sorted({t.task_id.split(".")[0] for t in dag.tasks if t.task_id.endswith(".extract")})
    missing = []
    for stream in streams:
        before = {t.split(".")[0] for t in dag.get_task(f"{stream}.extract").get_flat_relative_ids(upstream=True)}
        for entity_type in load_stream("poweroffice", stream).source.webhook_types:
            missing += [f"{stream} lists {entity_type}, which {dependency} (before it) does not"
                        for dependency in sorted(before & set(streams))
                        if not load_stream("poweroffice", dependency).source.concerns(entity_type)]
    assert not missing, "\n".join(missing)
