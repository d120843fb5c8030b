#!/usr/bin/env bash
# Print a .env for the compose stack: your UID (the containers write logs as you) and secrets
# every component must share (Fernet key, the JWT secret that signs task tokens, the API secret
# key). Run once: `scripts/compose_env.sh > .env`, then add your own AIRFLOW_CONN_* lines to
# talk to the real APIs (they replace the simulators' from compose/sandbox-connections.env).
set -euo pipefail
python3 - <<'PY'
import base64, os, secrets
print(f"AIRFLOW_UID={os.getuid()}")
print(f"AIRFLOW__CORE__FERNET_KEY={base64.urlsafe_b64encode(os.urandom(32)).decode()}")
print(f"AIRFLOW__API_AUTH__JWT_SECRET={secrets.token_urlsafe(48)}")
print(f"AIRFLOW__API__SECRET_KEY={secrets.token_urlsafe(32)}")
PY
