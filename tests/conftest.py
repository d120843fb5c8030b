"""Test environment: a throwaway Airflow home, the link database, the simulators.

Airflow reads its configuration at import, so the environment is set before anything
imports it. The link database is real PostgreSQL (127.0.0.1:5432, database
``tribe_sync_test_<pid>``, one per session, dropped at the end); when it is unreachable the Postgres tests skip locally and **fail**
in CI (``CI=true``).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# One Airflow home (SQLite metadata DB) per pytest-xdist worker: SQLite takes one writer.
AIRFLOW_HOME = Path(os.environ.get("TRIBE_SYNC_TEST_AIRFLOW_HOME", ROOT / ".airflow-test")) / os.environ.get(
    "PYTEST_XDIST_WORKER", "main")
# Keys this file set in the pytest-xdist controller: its workers inherit its environment, and
# each must replace them with its own (else both workers share one SQLite file and migrate it
# at once: "table team already exists"). Keys a user set before pytest are left alone.
_SET_BY_US = "TRIBE_SYNC_TEST_ENV_KEYS"
inherited = set(filter(None, os.environ.get(_SET_BY_US, "").split(",")))
set_here = set()
for key, value in {
    "AIRFLOW_HOME": str(AIRFLOW_HOME),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
    "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME}/airflow.db",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
    "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
}.items():
    if key in inherited or key not in os.environ:
        os.environ[key] = value
        set_here.add(key)
os.environ[_SET_BY_US] = ",".join(sorted(set_here))
AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
for path in (ROOT, ROOT / "plugins"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

pytest_plugins = ["tests.fixtures.airflow_env", "tests.fixtures.database", "tests.fixtures.simulators",
                  "tests.fixtures.webhooks", "tests.fixtures.skips", "tests.fixtures.redis_store"]


def pytest_collection_modifyitems(config, items) -> None:  # noqa: ANN001 - pytest's hook signature
    """Tests marked ``long`` (minutes of waiting on a vendor's clock) first: on xdist workers they
    start at once and overlap everything else, instead of running alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)
