#!/usr/bin/env bash
# The main job on a fresh machine: install, start the simulators, run the PowerOffice → Tribe
# sync on the embedded default, print the summary. Options: --reset, --stop.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m sandbox.demo "$@"
