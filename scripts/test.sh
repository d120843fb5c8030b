#!/usr/bin/env bash
# The whole test suite (installs what it needs first).
#   scripts/test.sh              everything: most tests on two pytest-xdist workers (2 cores),
#                                then the tests that share Airflow's metadata DB with a running
#                                component (webhook receiver) and the live-Airflow suite, in one process
#   scripts/test.sh <pytest args> just that, in one process (e.g. tests/unit -k window)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "$#" -gt 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
SERIAL=(tests/integration/test_webhook_receiver.py tests/live)
ignore=()
for path in "${SERIAL[@]}"; do ignore+=(--ignore="$path"); done
.venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" "${ignore[@]}"
exec .venv/bin/python -m pytest "${SERIAL[@]}"
