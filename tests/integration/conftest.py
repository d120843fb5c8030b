"""Fixtures the Odoo flow tests share: its import and export DAGs, parsed once per module."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def dag_named(dag_id: str) -> Any:
    """One DAG of ``dags/<dag_id>.py``, parsed as the DAG processor parses it."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags" / f"{dag_id}.py")).dags[dag_id]


@pytest.fixture(scope="module")
def nightly(airflow_db: Any) -> Any:
    """``odoo_to_tribe``."""
    return dag_named("odoo_to_tribe")


@pytest.fixture(scope="module")
def export(airflow_db: Any) -> Any:
    """``tribe_to_odoo``."""
    return dag_named("tribe_to_odoo")
