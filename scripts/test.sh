#!/usr/bin/env bash
# The whole test suite (installs what it needs first). Usage: scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Two workers (pytest-xdist; the machine has 2 cores). Tests marked xdist_group share a worker
# (the live Airflow is started once). PYTEST_WORKERS=0 runs everything in one process.
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadgroup "$@"
