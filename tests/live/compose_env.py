"""The live stack's Airflow configuration starts from the compose file's own common
environment (``x-airflow-common``), so a setting missing there — a shared JWT secret, the
mappings' folder, the executor — fails a live test instead of a user's first
``docker compose up``.

What only makes sense inside the compose network is rewritten for this machine: service host
names become 127.0.0.1, the containers' ``/opt/airflow/*`` folders this checkout's, the API
server's address the live one's. The secrets the file takes from ``.env`` come from
``scripts/compose_env.sh``, as a user's would. The live stack then sets what is its own: fresh
databases, free ports, its Airflow home, the simulators' connections.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

__all__ = ["COMPOSE_FILE", "compose_environment"]

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
_SERVICES = ("postgres", "redis", "link-db")
_REQUIRED = re.compile(r"^\$\{(\w+):\?[^}]*\}$")  # ${NAME:?message}: must come from .env


def _dotenv() -> dict[str, str]:
    """What ``scripts/compose_env.sh > .env`` would hold."""
    out = subprocess.run(["bash", str(ROOT / "scripts" / "compose_env.sh")], capture_output=True, text=True,
                         check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def compose_environment(*, home: Path, api_url: str) -> dict[str, str]:
    """The compose file's common environment, as it would be inside a container, for this machine."""
    compose: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    dotenv = _dotenv()
    folders = {"/opt/airflow/config": str(home), "/opt/airflow/include": str(ROOT / "include"),
               "/opt/airflow/dags": str(ROOT / "dags"), "/opt/airflow/plugins": str(ROOT / "plugins")}
    env: dict[str, str] = {}
    for key, raw in compose["x-airflow-common"]["environment"].items():
        value = str(raw)
        if (required := _REQUIRED.match(value)) is not None:
            value = dotenv[required.group(1)]
        for container, local in folders.items():
            value = value.replace(container, local)
        value = re.sub(r"https?://airflow-apiserver:8080", api_url, value)
        for service in _SERVICES:
            value = re.sub(rf"(@|//)({service})([:/])", r"\g<1>127.0.0.1\3", value)
        env[key] = value
    return env
