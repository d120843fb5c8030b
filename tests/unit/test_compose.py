"""docker-compose.yaml cannot be run here (no Docker engine): check that it hangs together."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-worker",
                    "airflow-triggerer", "airflow-init"}


def _connections(service: dict) -> dict[str, str]:
    """The AIRFLOW_CONN_* a service gets from its env files (the simulators' defaults; ``.env``,
    optional, is the user's and not in the repository)."""
    found: dict[str, str] = {}
    for entry in service.get("env_file", []):
        path = ROOT / (entry["path"] if isinstance(entry, dict) else entry)
        if not path.exists():
            assert isinstance(entry, dict) and entry.get("required") is False, path
            continue
        for line in path.read_text().splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.partition("=")
                found[key] = value
    return found


def _plain(volume: str) -> str:
    """``${AIRFLOW_PROJ_DIR:-.}/dags:/opt/…`` → ``./dags:/opt/…`` (the default of the variable)."""
    return re.sub(r"\$\{[^}:]*:-([^}]*)\}", r"\1", volume)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


def test_services_of_the_official_file_plus_link_db_and_simulators(compose):
    services = compose["services"]
    assert AIRFLOW_SERVICES | {"postgres", "redis", "link-db", "tribe-sim", "poweroffice-sim", "odoo-sim"} <= set(services)
    for simulator in ("tribe-sim", "poweroffice-sim", "odoo-sim"):
        assert services[simulator]["profiles"] == ["sandbox"]


def test_airflow_services_share_one_environment_with_celery_and_connections(compose):
    for name in AIRFLOW_SERVICES:
        env = compose["services"][name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://"), name
        # the workers share one rate budget per vendor account, in the stack's Redis
        assert env["AIRFLOW__TRIBE_SYNC__RATE_LIMIT_STORE"].startswith("redis://redis:6379/"), name
        connections = _connections(compose["services"][name])
        for conn in ("AIRFLOW_CONN_TRIBE_SYNC_DB", "AIRFLOW_CONN_TRIBE_DEFAULT", "AIRFLOW_CONN_POWEROFFICE_DEFAULT",
                     "AIRFLOW_CONN_ODOO_DEFAULT"):
            assert conn in connections and conn not in env, (name, conn)  # .env can replace them
        # Secrets every component must share (task tokens, log fetching), from .env, never literal here.
        for secret in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__CORE__FERNET_KEY"):
            assert env[secret].startswith(f"${{{secret}:?"), (name, secret)
        # The package is installed under /opt/tribe-sync: the mappings are the mounted include folder's.
        assert env["TRIBE_SYNC_MAPPINGS"] == "/opt/airflow/include/mappings", name


def test_connections_point_at_services_that_exist(compose):
    env = _connections(compose["services"]["airflow-scheduler"])
    link_db = env["AIRFLOW_CONN_TRIBE_SYNC_DB"]
    host = re.search(r"@([\w-]+):", link_db).group(1)
    assert host in compose["services"]
    creds = re.search(r"//(\w+):(\w+)@[\w-]+:\d+/(\w+)", link_db).groups()
    db_env = compose["services"][host]["environment"]
    assert creds == (db_env["POSTGRES_USER"], db_env["POSTGRES_PASSWORD"], db_env["POSTGRES_DB"])
    for conn in ("AIRFLOW_CONN_TRIBE_DEFAULT", "AIRFLOW_CONN_POWEROFFICE_DEFAULT", "AIRFLOW_CONN_ODOO_DEFAULT"):
        url = json.loads(env[conn])["host"]
        service, port = re.match(r"https?://([\w-]+):(\d+)", url).groups()
        assert service in compose["services"], conn
        host_ports = [p.split(":")[0] for p in compose["services"][service]["ports"] if p.endswith(f":{port}")]
        assert host_ports, conn
        # The demo's simulators listen on 8081-8084 of the same machine: the stack's must not.
        assert not set(host_ports) & {"8081", "8082", "8083", "8084"}, (conn, host_ports)


def test_volumes_are_declared_and_project_folders_mounted(compose):
    declared = set(compose["volumes"])
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = _plain(volume).split(":")[0]
            if not source.startswith(("$", ".", "/")):
                assert source in declared, (name, source)
    mounts = {_plain(v).split(":")[1] for v in compose["services"]["airflow-scheduler"]["volumes"]}
    assert {"/opt/airflow/dags", "/opt/airflow/plugins", "/opt/airflow/include"} <= mounts
    for folder in ("dags", "plugins", "include", "migrations", "sandbox"):
        assert (ROOT / folder).is_dir(), folder


def test_dependencies_refer_to_real_services_and_init_migrates_both_databases(compose):
    services = compose["services"]
    for name, service in services.items():
        for dep in service.get("depends_on", {}) or {}:
            assert dep in services, (name, dep)
    init = "\n".join(services["airflow-init"]["command"])
    assert "airflow db migrate" in init and "alembic" in init and "upgrade head" in init
    assert services["airflow-init"]["command"][1].startswith("set -euo pipefail")  # a failed step stops the stack
    # The simple auth manager reads its users from the environment, not the FAB login variables.
    assert not any(k.startswith("_AIRFLOW_WWW_USER") for k in services["airflow-init"]["environment"])


def test_init_creates_the_api_pools_from_the_mounted_include_folder(compose):
    init = "\n".join(compose["services"]["airflow-init"]["command"])
    pools = re.search(r"airflow pools import (\S+)", init)
    assert pools, "airflow-init must create the pools the DAGs' tasks run in"
    assert init.index("airflow db migrate") < pools.start()
    mounts = dict(_plain(v).split(":")[:2][::-1] for v in compose["services"]["airflow-init"]["volumes"])
    folder, name = pools.group(1).rsplit("/", 1)
    assert mounts[folder] == "./include" and (ROOT / "include" / name).is_file()


def test_images_are_pinned_and_the_build_uses_our_requirements(compose):
    for name, service in compose["services"].items():
        image = service.get("image", "")
        assert ":" in image and not image.endswith(":latest"), name
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "apache/airflow:3.3.2" in dockerfile and "requirements.txt" in dockerfile
    assert "grep -vE '^(pytest|" in dockerfile  # the test tools stay out of the image
    assert "COPY --chown=airflow:0 include" in dockerfile  # mappings inside the image too
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".git", ".env", "tests"} <= set(ignored)


def test_the_live_stack_starts_from_this_files_environment(tmp_path):
    """tests/live runs Airflow with the compose file's common environment, rewritten for this
    machine: what is missing here is missing there (a live test failed when the JWT secret was
    taken out of the file: every task's token was refused)."""
    from tests.live.compose_env import compose_environment

    env = compose_environment(home=tmp_path, api_url="http://127.0.0.1:9999")
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["TRIBE_SYNC_MAPPINGS"] == str(ROOT / "include" / "mappings")
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:9999/execution/"
    assert env["AIRFLOW__TRIBE_SYNC__RATE_LIMIT_STORE"] == "redis://127.0.0.1:6379/1"
    for secret in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__CORE__FERNET_KEY"):
        assert env[secret] and not env[secret].startswith("$"), secret  # from scripts/compose_env.sh
    leftovers = [k for k, v in env.items() if re.search(r"(@|//)(postgres|redis|link-db|airflow-apiserver)[:/]", v)]
    assert not leftovers, leftovers
