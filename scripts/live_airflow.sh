#!/usr/bin/env bash
# A real Airflow (api-server, scheduler, dag-processor, triggerer, two Celery workers; Redis as the
# broker, PostgreSQL for the metadata) against the
# simulators — see tests/live/harness.py. Needs PostgreSQL on 127.0.0.1:5432 (TRIBE_SYNC_TEST_PG) and
# Redis on 127.0.0.1:6379 (TRIBE_SYNC_LIVE_BROKER).
#
#   scripts/live_airflow.sh            the live checks: backfill == manual run over the same
#                                      window; clearing one failed mapped invoice re-runs only it
#   scripts/live_airflow.sh serve      start the stack, seed the demo scenario and import it once,
#                                      keep it up (prints URL, user, password) until Ctrl-C;
#                                      everything is dropped on the way out (--empty: no seeding)
#   scripts/live_airflow.sh [pytest args…]   e.g. -k backfill
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || bash scripts/setup.sh
if [ "${1:-}" = "serve" ]; then
  shift
  exec .venv/bin/python -m tests.live.harness serve "$@"
fi
exec .venv/bin/python -m pytest tests/live -m live "$@"
