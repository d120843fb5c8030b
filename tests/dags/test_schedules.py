"""What Airflow's DAG list shows for each DAG: its description, and its schedule in words with
its timezone (the summary; the cron is in the tooltip, the description) — read back from the
serialized DAG, as the scheduler and the API server see it, not from the DAG object."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The schedule column as a newcomer should read it (summary) per DAG.
SHOWN = {
    "poweroffice_to_tribe": "Every 15 minutes, UTC",
    "poweroffice_initial_import": "At 00:00, UTC",
    "tribe_to_poweroffice": "Every 5 minutes, UTC",
    "tribe_invoices_to_poweroffice": "Every 5 minutes, UTC",
    "poweroffice_payments_to_tribe": "Every 4 hours, UTC",
    "odoo_to_tribe": "At 02:00, Europe/Amsterdam",
    "tribe_to_odoo": "Every 5 minutes, UTC",
    "tribe_invoices_to_odoo": "Every 5 minutes, UTC",
    "odoo_payments_to_tribe": "At 03:00, Europe/Amsterdam",
    "exact_to_tribe": "Every hour, UTC",
    "tribe_to_exact": "Every 5 minutes, UTC",
    "tribe_invoices_to_exact": "Every 5 minutes, UTC",
    "exact_payments_to_tribe": "Every hour, UTC",
}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def readme_table() -> dict[str, tuple[str, str]]:
    """``dag_id → (direction, what)`` from README.md's DAG table."""
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \| [^|]+ \| ([^|]+) \|$", (ROOT / "README.md").read_text(), re.M)
    return {dag_id: (direction.strip(), what.strip()) for dag_id, direction, what in rows}


def roundtrip(dag):
    """The DAG as the DAG processor stores it and the scheduler / API server rebuild it."""
    from airflow.serialization.serialized_objects import DagSerialization

    return DagSerialization.from_dict(DagSerialization.to_dict(dag))


def test_every_dag_is_in_the_list_with_its_schedule_in_words_and_its_timezone(dagbag):
    assert set(dagbag.dags) == set(SHOWN)
    for dag_id, dag in dagbag.dags.items():
        served = roundtrip(dag)
        assert served.timetable.summary == SHOWN[dag_id], dag_id
        cron = dag.timetable.serialize()["expression"]
        assert served.timetable.description == f"{SHOWN[dag_id]} time (cron {cron}, {served.timetable.kind})"
        assert type(served.timetable) is type(dag.timetable)  # rebuilt through the plugin's registration


def test_the_timezone_changes_the_schedule_not_only_its_name(dagbag):
    """Named, still the same scheduling: Odoo's 02:00 is 02:00 in Amsterdam (00:00 / 01:00 UTC)."""
    from datetime import UTC, datetime

    from airflow.timetables.base import TimeRestriction

    timetable = roundtrip(dagbag.dags["odoo_to_tribe"]).timetable
    restriction = TimeRestriction(earliest=datetime(2026, 7, 1, tzinfo=UTC), latest=None, catchup=True)
    summer = timetable.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    assert summer.data_interval.end == datetime(2026, 7, 2, 0, 0, tzinfo=UTC)  # 02:00 CEST
    assert summer.data_interval.end - summer.data_interval.start == (datetime(2026, 7, 2) - datetime(2026, 7, 1))


def test_every_dag_has_a_description_in_the_words_of_the_readme(dagbag):
    table = readme_table()
    assert set(dagbag.dags) <= set(table)  # every DAG is in the README's table
    for dag_id, dag in dagbag.dags.items():
        direction, what = table[dag_id]
        description = roundtrip(dag).description
        assert description.startswith(direction), (dag_id, description)
        # The README's first item of "what" (e.g. "customers, suppliers → organisations") is in it.
        first = what.replace("**", "").replace("`", "").split(";")[0].strip()
        assert first in description, (dag_id, first, description)
