#!/usr/bin/env bash
# Create .venv and install the pinned dependencies plus this package (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
UV_VERSION=0.13.9
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements.sha
want=$( (cat requirements.txt pyproject.toml; echo "uv $UV_VERSION") | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  # uv installs the same pinned set in ~15 s where pip takes ~90 s (CI installs on every run).
  # uv reads no pip configuration: behind a mirror set UV_INDEX_URL, or pip takes over here.
  if ! { .venv/bin/python -m pip install --quiet "uv==$UV_VERSION" \
         && .venv/bin/uv pip install --quiet --python .venv/bin/python -r requirements.txt; }; then
    echo "setup: uv could not install the requirements; installing them with pip" >&2
    .venv/bin/python -m pip install --quiet -r requirements.txt
  fi
  .venv/bin/python -m pip install --quiet --no-deps -e .
  echo "$want" > "$stamp"
fi
