#!/usr/bin/env bash
# The whole test suite (installs what it needs first).
#   scripts/test.sh              everything, in two processes side by side: most tests on three
#                                pytest-xdist workers (2 cores: many tests wait on a simulated
#                                vendor's clock, and the third worker uses the core a waiting one
#                                leaves idle; tests marked `long` go first; an idle worker steals
#                                queued tests from a busy one, where plain `load` left the last ~15
#                                Exact tests in a row on one worker) and, beside them, in one process,
#                                the tests that share an Airflow home with a running component
#                                (webhook receivers) and the live-Airflow suite — mostly waiting on
#                                Airflow's scheduler, they no longer wait for the xdist part to end.
#                                Each has its own Airflow home, databases and Redis databases.
#                                The serial part's output follows the xdist part's.
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
mkdir -p .artefacts
serial_log=.artefacts/serial-tests.log
.venv/bin/python -m pytest "${SERIAL[@]}" >"$serial_log" 2>&1 &
serial=$!
status=0
.venv/bin/python -m pytest -n "${PYTEST_WORKERS:-3}" --dist worksteal --durations=25 "${ignore[@]}" \
  || status=$?  # the slowest, named: where CI time goes
serial_status=0
wait "$serial" || serial_status=$?
echo "---- webhook receivers and the live-Airflow suite (one process, run beside the above) ----"
cat "$serial_log"
[ "$status" -ne 0 ] || status=$serial_status
# No secret, client key or token in any log the suite left (tests/log_scan.py names file and
# line). Also after a failed run, whose status then stays the script's.
.venv/bin/python -m tests.log_scan || { scan=$?; [ "$status" -ne 0 ] || status=$scan; }
exit "$status"
