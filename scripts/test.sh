#!/usr/bin/env bash
# The whole test suite (installs what it needs first).
#   scripts/test.sh              everything: most tests on three pytest-xdist workers (2 cores: many
#                                tests wait on a simulated vendor's clock, and the third worker uses
#                                the core a waiting one leaves idle; tests marked `long` go first;
#                                an idle worker steals queued tests from a busy one, where plain
#                                `load` left the last ~15 Exact tests in a row on one worker),
#                                then the tests that share Airflow's metadata DB with a running
#                                component (webhook receiver) and the live-Airflow suite, in one process
#   scripts/test.sh <pytest args> just that, in one process (e.g. tests/unit -k window)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "$#" -gt 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
SERIAL=(tests/integration/test_webhook_receiver.py tests/integration/test_exact_webhooks_receiver.py tests/live)
ignore=()
for path in "${SERIAL[@]}"; do ignore+=(--ignore="$path"); done
.venv/bin/python -m pytest -n "${PYTEST_WORKERS:-3}" --dist worksteal --durations=25 "${ignore[@]}"  # the slowest, named: where CI time goes
status=0
.venv/bin/python -m pytest "${SERIAL[@]}" || status=$?
# No secret, client key or token in any log the suite left (tests/log_scan.py names file and
# line). Also after a failed serial run, whose status then stays the script's.
.venv/bin/python -m tests.log_scan || { scan=$?; [ "$status" -ne 0 ] || status=$scan; }
exit "$status"
