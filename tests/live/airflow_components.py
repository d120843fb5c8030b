"""The Airflow half of the live stack: ``airflow api-server``, ``scheduler``, ``dag-processor``,
``triggerer`` and two ``celery worker``\ s as subprocesses on a fresh ``AIRFLOW_HOME`` and
metadata database (CeleryExecutor, Redis as the broker, the results in PostgreSQL), their
environment, a scheduler restart to switch timetables on and off, the CLI with the same
environment, and log tails for failures. :mod:`tests.live.harness` puts it together with the
simulators and the link database."""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tests.fixtures.postgres import Postgres
from tests.live.airflow_api import AirflowApi
from tests.live.compose_env import compose_environment
from tests.live.processes import (
    Component,
    HarnessError,
    StartStop,
    StopWaiting,
    free_port,
    kill_processes_with_env,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_BIN = Path(sys.executable).with_name("airflow")
POOLS_FILE = ROOT / "include" / "pools.json"


@dataclass
class LiveAirflow(StartStop):
    """API server + scheduler + dag-processor + triggerer on a fresh ``AIRFLOW_HOME`` and metadata database.

    Args:
        postgres: Where the metadata database ``airflow_live_<pid>`` is created (and dropped).
        connections: ``AIRFLOW_CONN_*`` (and any other) variables every component gets.
        workdir: Parent of ``AIRFLOW_HOME``. Omitted: a new temporary directory, removed at the
            end unless ``keep_workdir`` (to read the task logs afterwards); a given one is kept.
        parallelism: ``[core] parallelism`` (task instances running at once, over all workers).
        executor: Empty: the compose file's (``CeleryExecutor``, ``workers`` of them); or
            ``LocalExecutor``.
        workers: Celery workers, each a process of its own with ``worker_concurrency`` slots.
        broker_url: The Celery broker (a Redis database of its own; emptied at start and stop).
        schedules: Let the scheduler create runs from timetables (off: only requested runs).
        extra_env: More configuration, e.g. ``{"AIRFLOW__CORE__DEFAULT_POOL_TASK_SLOT_COUNT": "8"}``.
    """

    postgres: Postgres
    connections: dict[str, str] = field(default_factory=dict)
    workdir: Path | None = None
    parallelism: int = 4
    executor: str = ""  # empty: the compose file's (CeleryExecutor)
    workers: int = 2
    worker_concurrency: int = 2
    broker_url: str = field(default_factory=lambda: os.environ.get("TRIBE_SYNC_LIVE_BROKER",
                                                                   "redis://127.0.0.1:6379/14"))
    schedules: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)
    database: str = field(default_factory=lambda: f"airflow_live_{os.getpid()}")
    keep_workdir: bool = False
    username: str = "admin"

    def __post_init__(self) -> None:
        self.port = free_port()
        self.trigger_log_port = free_port()
        self.password = secrets.token_urlsafe(16)
        self.components: list[Component] = []
        self.timings: dict[str, float] = {}
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.home: Path | None = None
        self.env: dict[str, str] = {}
        self._db_created = False
        self.api = AirflowApi(self.base_url, self.username, self.password, diagnostics=self.diagnostics)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def webhook_url(self) -> str:
        """Where Tribe posts its webhooks: the ``tribe_sync`` plugin's receiver in the API server."""
        return f"{self.base_url}/tribe-sync/webhooks/tribe"

    @property
    def exact_webhook_url(self) -> str:
        """Where Exact Online posts its webhooks (``webhooks subscribe --url``): the same receiver."""
        return f"{self.base_url}/tribe-sync/webhooks/exact"

    @property
    def metadata_url(self) -> str:
        return self.postgres.url(self.database).set(drivername="postgresql+psycopg2").render_as_string(
            hide_password=False)

    # -- environment ---------------------------------------------------------------------
    def build_env(self) -> dict[str, str]:
        """The environment of every component and CLI call: this process's, minus any Airflow
        configuration it carries (the pytest process has its own ``dag.test()`` home), plus ours."""
        assert self.home is not None
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("AIRFLOW", "_AIRFLOW")) and k not in ("PYTHONPATH",)}
        pythonpath = os.pathsep.join([str(ROOT), str(ROOT / "plugins"),
                                      *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))])
        # The compose file's common environment first (tests/live/compose_env.py): the executor,
        # the auth manager and its users, the shared secrets, the mappings' folder, the rate budget.
        compose = compose_environment(home=self.home, api_url=self.base_url)
        compose = {k: v for k, v in compose.items() if not k.startswith("AIRFLOW_CONN_")}
        env = {
            **base,
            **compose,
            "PYTHONPATH": pythonpath,
            "PYTHONUNBUFFERED": "1",
            "AIRFLOW_HOME": str(self.home),  # the CLI's; each component has one of its own (_component_env)
            "TRIBE_SYNC_LIVE_STACK": str(self.home),  # marks every process of this stack (stop)
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            # the compose file's folder rewritten (config/ → this home): the file we write
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.metadata_url,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(self.schedules),
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
            # The task supervisor notices its task process exited only when its select() times
            # out, after up to this many seconds: the default 5 holds every worker slot ~5 s
            # longer than the task took.
            "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__BUNDLE_REFRESH_CHECK_INTERVAL": "2",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "2",
            # The triggerer serves its logs on a fixed port (8794) otherwise: two stacks on one
            # machine (parallel CI jobs, a `serve` beside the suite) would collide.
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.trigger_log_port),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        }
        env["AIRFLOW__CORE__EXECUTOR"] = self.executor or env["AIRFLOW__CORE__EXECUTOR"]
        if env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor":
            env.update({  # the compose file's broker and results, on databases of this stack's own
                "AIRFLOW__CELERY__BROKER_URL": self.broker_url,
                "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.metadata_url.replace("+psycopg2", ""),
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.worker_concurrency),
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.live.worker_name.hostname",
            })
        env.update(self.connections)
        env.update(self.extra_env)
        return env

    def _component_env(self, name: str, **more: str) -> dict[str, str]:
        """A component's environment: the stack's, with an Airflow home of its own, as each
        container of the compose stack has — so a secret Airflow would generate per process and
        keep in its home (the JWT secret that signs task tokens) is not silently shared here."""
        assert self.home is not None
        home = self.home / "components" / name
        home.mkdir(parents=True, exist_ok=True)
        return {**self.env, "AIRFLOW_HOME": str(home), **more}

    def _broker(self) -> object:
        import redis

        client = redis.Redis.from_url(self.broker_url, socket_connect_timeout=3)
        try:
            client.ping()
        except redis.RedisError as exc:
            raise BrokerUnavailable(f"the Celery broker {self.broker_url} cannot be reached: {exc}") from exc
        return client

    def _start_workers(self, logs: Path) -> None:
        """Each worker a process of its own, named (its task instances' ``hostname``), serving its
        logs on a port of its own (two on one machine would collide on 8793)."""
        for n in range(1, self.workers + 1):
            name = f"worker{n}"
            env = self._component_env(name, TRIBE_SYNC_LIVE_WORKER=name,
                                      AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()))
            argv = [str(AIRFLOW_BIN), "celery", "worker", "--celery-hostname", f"{name}@%h",
                    "--concurrency", str(self.worker_concurrency)]
            self.components.append(Component(name, argv, logs / f"{name}.log").start(env, ROOT))

    def workers_ready(self) -> bool:
        return all(" ready." in c.tail(400) for c in self.components if c.name.startswith("worker"))

    # -- lifecycle -----------------------------------------------------------------------
    def start(self, *, timeout: float = 180) -> LiveAirflow:
        """Metadata database, ``airflow db migrate``, the four components; wait until the API
        answers with a token and reports the scheduler, dag-processor and triggerer healthy."""
        started = time.monotonic()
        if self.workdir is None and self.keep_workdir:
            self.workdir = Path(tempfile.mkdtemp(prefix="airflow-live-"))
        elif self.workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="airflow-live-")
            self.workdir = Path(self._tmp.name)
        self.home = self.workdir / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        # The simple auth manager keeps plaintext passwords in this file; ours is generated here.
        (self.home / "passwords.json").write_text(json.dumps({self.username: self.password}))
        self.env = self.build_env()

        self.executor = self.env["AIRFLOW__CORE__EXECUTOR"]
        if self.executor == "CeleryExecutor":
            self._broker().flushdb()  # no task messages of an earlier stack
        self.postgres.create(self.database)
        self._db_created = True
        result = self.cli("db", "migrate", timeout=300, check=False)
        if result.returncode != 0:
            raise HarnessError(f"airflow db migrate failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        self.timings["db_migrate"] = time.monotonic() - started

        logs = self.home / "component-logs"
        for name, argv in (
            ("api-server", [str(AIRFLOW_BIN), "api-server", "--host", "127.0.0.1", "--port", str(self.port),
                            "--workers", "1"]),
            ("scheduler", [str(AIRFLOW_BIN), "scheduler"]),
            ("dag-processor", [str(AIRFLOW_BIN), "dag-processor"]),
            ("triggerer", [str(AIRFLOW_BIN), "triggerer"]),
        ):
            self.components.append(Component(name, argv, logs / f"{name}.log").start(self._component_env(name), ROOT))
        if self.executor == "CeleryExecutor":
            self._start_workers(logs)

        def ready() -> bool:
            self._check_alive()
            health = self.api.health()
            self.api.token()
            return self.workers_ready() and all(health.get(part, {}).get("status") == "healthy"
                                                for part in ("metadatabase", "scheduler", "dag_processor", "triggerer"))

        wait_until(ready, timeout=timeout, interval=1.0,
                   what="the API server, scheduler, dag-processor, triggerer and Celery workers",
                   diagnostics=self.diagnostics)
        # Every API task runs in a pool (include/pools.json); the scheduler leaves a task whose
        # pool does not exist queued for ever. Setup does `airflow pools import` with that file.
        self.api.import_pools(POOLS_FILE)
        self.timings["start"] = time.monotonic() - started
        return self

    def set_schedules(self, enabled: bool, *, timeout: float = 120) -> None:
        """Restart the scheduler with ``[scheduler] use_job_schedule`` = ``enabled`` (it reads the
        option once, at start) and wait for the new one's heartbeat. Only between runs (with the
        LocalExecutor the scheduler takes the tasks it runs down with it)."""
        if enabled == self.schedules:
            return
        (old,) = [c for c in self.components if c.name == "scheduler"]
        old.stop(timeout=20)
        self.schedules = enabled
        self.env["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] = str(enabled)
        restarted = datetime.now(UTC)
        self.components[self.components.index(old)] = Component(old.name, old.argv, old.log_path).start(
            self._component_env(old.name), ROOT)

        def ready() -> bool:
            self._check_alive()
            health = self.api.health()["scheduler"]
            beat = health.get("latest_scheduler_heartbeat")
            return health["status"] == "healthy" and beat is not None and datetime.fromisoformat(beat) > restarted

        wait_until(ready, timeout=timeout, interval=0.5, what=f"the scheduler to restart (use_job_schedule={enabled})",
                   diagnostics=self.diagnostics)

    @contextlib.contextmanager
    def timetables_on(self) -> Iterator[None]:
        """Let the scheduler create runs from timetables inside the block; back as before after
        it (each switch restarts the scheduler, a few seconds). Pause what you unpaused first."""
        before = self.schedules
        self.set_schedules(True)
        try:
            yield
        finally:
            self.set_schedules(before)

    def _check_alive(self) -> None:
        dead = [c for c in self.components if not c.alive()]
        if dead:
            raise StopWaiting("Airflow component(s) exited: " + ", ".join(
                f"{c.name} (exit {c.popen.returncode if c.popen else '?'})" for c in dead) + "\n" + self.diagnostics())

    def stop(self) -> None:
        """Every component at once (SIGTERM, up to 20 s, then SIGKILL per process group); then
        anything still carrying our AIRFLOW_HOME; then the metadata database and the home."""
        try:
            for component in self.components:
                component.terminate()
            deadline = time.monotonic() + 20
            for component in self.components:
                component.stop(timeout=deadline - time.monotonic())
            if self.home is not None:
                kill_processes_with_env(f"TRIBE_SYNC_LIVE_STACK={self.home}")
            self.components.clear()
            if self.executor == "CeleryExecutor":
                with contextlib.suppress(Exception):
                    self._broker().flushdb()
            if self._db_created:
                self.postgres.drop(self.database)
                self._db_created = False
        finally:
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None

    # -- CLI and diagnostics ---------------------------------------------------------------
    def cli(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``airflow <args>`` with exactly the components' environment."""
        result = subprocess.run([str(AIRFLOW_BIN), *args], env=self.env, cwd=ROOT, capture_output=True, text=True,
                                timeout=timeout)
        if check and result.returncode != 0:
            raise HarnessError(f"airflow {' '.join(args)} exited {result.returncode}:\n"
                               f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def tribe_sync(self, *args: str, timeout: float = 120) -> str:
        """``python -m tribe_operators.cli <args>`` (the operator's CLI) with the components'
        environment: their connections, link database and Fernet key. Returns what it printed."""
        argv = [sys.executable, "-m", "tribe_operators.cli", *args]
        result = subprocess.run(argv, env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                                stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise HarnessError(f"tribe_operators.cli {' '.join(args[:2])} exited {result.returncode}:\n"
                               f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result.stdout

    def diagnostics(self, lines: int = 40) -> str:
        """The tail of every component's log."""
        parts = []
        for component in self.components:
            state = "running" if component.alive() else f"exited {component.popen.returncode if component.popen else '?'}"
            parts.append(f"===== {component.name} ({state}) — {component.log_path} =====\n{component.tail(lines)}")
        return "\n".join(parts)


class BrokerUnavailable(HarnessError):
    """The Celery broker (Redis) is not there: the live tests skip locally, fail in CI."""
