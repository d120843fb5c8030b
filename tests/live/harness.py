"""A live Airflow for tests: real components, real PostgreSQL, the simulators over HTTP.

``dag.test()`` runs a DAG in-process; it has no scheduler, so it cannot show what a backfill,
a cleared mapped task or a retry really do. This harness starts the real thing:

* **PostgreSQL** — a fresh metadata database ``airflow_live_<pid>`` and a fresh link database
  ``tribe_sync_live_<pid>`` (migrated with the package's Alembic migrations); both dropped in
  :meth:`LiveStack.stop`.
* **Simulators** — Tribe CRM and PowerOffice Go as real HTTP servers in *this* process
  (``sandbox.common.ServerThread``), so a test seeds, resets and inspects them through their
  Python state while the Airflow processes reach them over HTTP like any vendor API.
* **Airflow** — ``airflow api-server``, ``scheduler`` and ``dag-processor`` as subprocesses
  (LocalExecutor on PostgreSQL; tasks talk to the API server's execution API), each in its own
  process group with its log under the temporary ``AIRFLOW_HOME/component-logs/``. Every
  connection reaches every component as an ``AIRFLOW_CONN_*`` environment variable.
* **REST only** — tests drive Airflow through ``/api/v2`` with a JWT from ``POST /auth/token``
  (simple auth manager, user ``admin`` with a generated password): :class:`AirflowApi`.
  The CLI (:meth:`LiveAirflow.cli`) runs with exactly the components' environment.

Scheduling on timetables is off by default (``[scheduler] use_job_schedule = False``): only
runs a test asks for — manual triggers, backfills, clears — ever run, so a 5-minute safety poll
can never start a run in the middle of a test. Pass ``schedules=True`` to turn it on.

Use it as a context manager (everything is always torn down, in reverse order)::

    with LiveStack() as stack:
        stack.airflow.api.wait_for_dags(["tribe_invoices_to_poweroffice"])
        run = stack.airflow.api.trigger("tribe_invoices_to_poweroffice", conf={})
        stack.airflow.api.wait_for_run("tribe_invoices_to_poweroffice", run["dag_run_id"])

or from a shell: ``python -m tests.live.harness serve`` (``scripts/live_airflow.sh``).
Nothing here imports Airflow: the pytest process keeps its own (``dag.test()``) configuration.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = os.environ.get("TRIBE_SYNC_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
AIRFLOW_BIN = Path(sys.executable).with_name("airflow")
TERMINAL_RUN_STATES = frozenset({"success", "failed"})

__all__ = [
    "AirflowApi",
    "Component",
    "HarnessError",
    "LinkDatabase",
    "LiveAirflow",
    "LiveStack",
    "Postgres",
    "PostgresUnavailable",
    "Simulators",
    "StopWaiting",
    "wait_until",
]


class HarnessError(RuntimeError):
    """The live stack did not do what a test waited for (the message carries the evidence)."""


class PostgresUnavailable(HarnessError):
    """PostgreSQL is unreachable: the caller decides between skip (locally) and fail (CI)."""


class StopWaiting(HarnessError):
    """Raised by a polled condition when waiting longer cannot help (a component died, the DAG
    folder does not import); any other exception is retried until the timeout."""


def free_port() -> int:
    from sandbox.common.server import free_port as _free_port

    return _free_port()


def wait_until(predicate: Callable[[], Any], *, timeout: float, interval: float = 0.5,
               what: str = "condition", diagnostics: Callable[[], str] | None = None) -> Any:
    """Poll ``predicate`` until it returns something truthy; raise :class:`HarnessError` on
    timeout (with the last error and ``diagnostics()``), :class:`StopWaiting` at once."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            result = predicate()
            if result:
                return result
        except StopWaiting:
            raise
        except Exception as exc:  # noqa: BLE001 - keep polling; report the last error on timeout
            last_error = exc
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            extra = f"\n{diagnostics()}" if diagnostics else ""
            raise HarnessError(f"timed out after {timeout:.0f} s waiting for {what}{detail}{extra}")
        time.sleep(interval)


# --------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------
class Postgres:
    """Create and drop throwaway databases on one server (``TRIBE_SYNC_TEST_PG``, trust auth)."""

    def __init__(self, admin_url: str | sa.URL = PG_ADMIN_URL) -> None:
        self.admin_url = sa.make_url(admin_url)
        self._engine: sa.Engine | None = None

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool,
                                            connect_args={"connect_timeout": 3})
        return self._engine

    def check(self) -> None:
        """Raise :class:`PostgresUnavailable` unless the server answers."""
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.OperationalError as exc:
            shown = self.admin_url.render_as_string(hide_password=True)
            raise PostgresUnavailable(f"{shown} is unreachable ({exc.orig})") from exc

    def url(self, database: str) -> sa.URL:
        return self.admin_url.set(database=database)

    def create(self, database: str) -> sa.URL:
        """A new, empty database (an old one of the same name is dropped first)."""
        self.drop(database)
        with self.engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
        return self.url(database)

    def drop(self, database: str) -> None:
        with self.engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


class LinkDatabase:
    """The package's link database on its own PostgreSQL database, migrated to head."""

    def __init__(self, postgres: Postgres, name: str | None = None) -> None:
        self.postgres = postgres
        self.name = name or f"tribe_sync_live_{os.getpid()}"
        self.url: sa.URL | None = None
        self._engine: sa.Engine | None = None

    def create(self) -> LinkDatabase:
        from tribe_operators.store.engine import migrate

        self.url = self.postgres.create(self.name)
        migrate(self.engine)
        return self

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            assert self.url is not None, "create() first"
            self._engine = sa.create_engine(self.url, pool_pre_ping=True)
        return self._engine

    def connection_env(self, conn_id: str = "tribe_sync_db") -> dict[str, str]:
        """``AIRFLOW_CONN_<ID>`` for the components (URI form, as tests/fixtures/database.py)."""
        assert self.url is not None, "create() first"
        uri = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return {f"AIRFLOW_CONN_{conn_id.upper()}": uri}

    def reset(self) -> None:
        """Empty every table (links, ledger, watermarks, staging, quarantine, runs…)."""
        from tribe_operators.store.schema import metadata

        with self.engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())

    def rows(self, table: str, *, order_by: Sequence[str] = ()) -> list[dict[str, Any]]:
        from tribe_operators.store.schema import metadata

        tbl = metadata.tables[table]
        query = sa.select(tbl).order_by(*(tbl.c[c] for c in order_by))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def drop(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self.url is not None:
            self.postgres.drop(self.name)
            self.url = None


# --------------------------------------------------------------------------------------------
# Simulators
# --------------------------------------------------------------------------------------------
class Simulators:
    """Tribe CRM and PowerOffice Go simulators on free ports of this process, empty but for
    their reference data (as a fresh tenant / client has)."""

    def __init__(self, *, tribe_extra: dict | None = None, po_extra: dict | None = None) -> None:
        from sandbox.common import ServerThread
        from sandbox.poweroffice import PowerOfficeState
        from sandbox.poweroffice import create_app as po_app
        from sandbox.tribe import TribeState
        from sandbox.tribe import create_app as tribe_app

        self.tribe = TribeState()
        self.po = PowerOfficeState()
        self._servers = [ServerThread(tribe_app(self.tribe)), ServerThread(po_app(self.po))]
        self._extra = {"tribe_extra": tribe_extra, "po_extra": po_extra}
        self._started: list[Any] = []

    @property
    def tribe_url(self) -> str:
        return self._servers[0].url

    @property
    def po_url(self) -> str:
        return self._servers[1].url

    def start(self) -> Simulators:
        for server in self._servers:
            server.start()
            self._started.append(server)
        return self

    def stop(self) -> None:
        while self._started:
            self._started.pop().stop()

    def connection_env(self) -> dict[str, str]:
        """``AIRFLOW_CONN_TRIBE_DEFAULT`` / ``AIRFLOW_CONN_POWEROFFICE_DEFAULT`` for the components."""
        from tests.fixtures.simulators import connection_env

        return connection_env(self.tribe_url, self.po_url, **self._extra)

    def reset(self) -> None:
        """Both back to reference data only: no records, faults, counters or recorded traffic.
        (Back-date a seeded record with its own stamp: ``LastChangedDateTimeOffset=…``.)"""
        self.tribe.reset()
        self.po.reset()


# --------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------
@dataclass
class Component:
    """One long-running Airflow process (its own process group, output to a log file)."""

    name: str
    argv: list[str]
    log_path: Path
    popen: subprocess.Popen | None = None
    _log: Any = None

    def start(self, env: dict[str, str], cwd: Path) -> Component:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.popen = subprocess.Popen(self.argv, env=env, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def terminate(self) -> None:
        """SIGTERM to the whole process group (start_new_session: its id is the leader's pid)."""
        if self.popen is not None:
            _signal_group(self.popen.pid, signal.SIGTERM)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM to the process group, wait for the leader, then SIGKILL what is left of it."""
        if self.popen is None:
            return
        self.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=max(0.0, timeout))
        _signal_group(self.popen.pid, signal.SIGKILL)  # stragglers (task processes, executor workers)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def tail(self, lines: int = 40) -> str:
        return tail_file(self.log_path, lines)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def tail_file(path: Path, lines: int = 40) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 256 * lines))
            text = fh.read().decode("utf-8", "replace")
    except OSError as exc:
        return f"<{path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])


def _processes_with_env(marker: str) -> list[int]:
    """PIDs whose environment carries ``marker`` (our unique AIRFLOW_HOME): only our own
    descendants can, so a process that left its group is still found — and nothing else is."""
    found = []
    needle = marker.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


# --------------------------------------------------------------------------------------------
# REST client
# --------------------------------------------------------------------------------------------
class AirflowApi:
    """The ``/api/v2`` calls the tests need, with a JWT from ``POST /auth/token``."""

    def __init__(self, base_url: str, username: str, password: str, *,
                 diagnostics: Callable[[], str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.password = password
        self.session = requests.Session()
        self._token: str | None = None
        self.diagnostics = diagnostics

    # -- plumbing ------------------------------------------------------------------------
    def token(self, *, refresh: bool = False) -> str:
        if self._token is None or refresh:
            response = self.session.post(f"{self.base_url}/auth/token", timeout=30,
                                         json={"username": self.username, "password": self.password})
            if response.status_code not in (200, 201):
                raise HarnessError(f"POST /auth/token: {response.status_code} {response.text[:500]}")
            self._token = response.json()["access_token"]
        return self._token

    def request(self, method: str, path: str, *, expect: Iterable[int] = (200, 201, 204), **kwargs: Any) -> Any:
        url = f"{self.base_url}/api/v2/{path.lstrip('/')}"
        kwargs.setdefault("timeout", 60)
        extra_headers = kwargs.pop("headers", {})
        for attempt in (1, 2):  # an expired token is fetched again once
            headers = {"Authorization": f"Bearer {self.token(refresh=attempt > 1)}", **extra_headers}
            response = self.session.request(method, url, headers=headers, **kwargs)
            if response.status_code != 401:
                break
        if response.status_code not in set(expect):
            raise HarnessError(f"{method} /api/v2/{path.lstrip('/')}: {response.status_code} {response.text[:2000]}")
        if not response.content:
            return None
        if "json" in response.headers.get("content-type", ""):
            return response.json()
        return response.text

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def _diag(self) -> str:
        return self.diagnostics() if self.diagnostics else ""

    # -- health and DAGs -----------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        response = self.session.get(f"{self.base_url}/api/v2/monitor/health", timeout=10)
        response.raise_for_status()
        return response.json()

    def import_errors(self) -> list[dict[str, Any]]:
        return self.get("importErrors", limit=100)["import_errors"]

    def dag(self, dag_id: str) -> dict[str, Any]:
        return self.get(f"dags/{dag_id}")

    def wait_for_dags(self, dag_ids: Iterable[str], *, timeout: float = 120,
                      import_error_grace: float = 15) -> dict[str, dict[str, Any]]:
        """Wait until the dag-processor has parsed (serialised) every DAG. Import errors of
        other files do not matter; while one of ours is missing, import errors that persist
        ``import_error_grace`` seconds end the wait at once (with their stack traces)."""
        wanted = list(dag_ids)
        found: dict[str, dict[str, Any]] = {}
        errors_since: list[float] = []

        def parsed() -> bool:
            for dag_id in wanted:
                if dag_id not in found:
                    with contextlib.suppress(HarnessError):
                        found[dag_id] = self.dag(dag_id)
            if len(found) == len(wanted):
                return True
            errors = self.import_errors()
            if not errors:
                errors_since.clear()
            elif not errors_since:
                errors_since.append(time.monotonic())
            elif time.monotonic() - errors_since[0] > import_error_grace:
                shown = "\n".join(f"{e['filename']}: {e['stack_trace'][-1500:]}" for e in errors)
                missing = sorted(set(wanted) - set(found))
                raise StopWaiting(f"DAGs {missing} not parsed; the DAG folder has import errors:\n{shown}")
            return False

        wait_until(parsed, timeout=timeout, interval=1.0, what=f"DAGs {wanted} to be parsed",
                   diagnostics=self._diag)
        return found

    def set_paused(self, dag_id: str, paused: bool) -> dict[str, Any]:
        return self.request("PATCH", f"dags/{dag_id}", json={"is_paused": paused})

    # -- runs ----------------------------------------------------------------------------
    def trigger(self, dag_id: str, *, conf: dict[str, Any] | None = None, logical_date: datetime | None = None,
                run_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"logical_date": logical_date.isoformat() if logical_date else None,
                                "conf": conf or {}}
        if run_id:
            body["dag_run_id"] = run_id
        return self.request("POST", f"dags/{dag_id}/dagRuns", json=body)

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self.get(f"dags/{dag_id}/dagRuns/{run_id}")

    def runs(self, dag_id: str, *, run_type: str | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": 100, "order_by": "logical_date"}
        if run_type:
            params["run_type"] = run_type
        return self.get(f"dags/{dag_id}/dagRuns", **params)["dag_runs"]

    def wait_for_run(self, dag_id: str, run_id: str, *, states: Iterable[str] = TERMINAL_RUN_STATES,
                     timeout: float = 180) -> dict[str, Any]:
        """Wait for the run to reach one of ``states`` (default: finished either way)."""
        wanted = set(states)
        return wait_until(lambda: (r := self.run(dag_id, run_id))["state"] in wanted and r, timeout=timeout,
                          interval=1.0, what=f"{dag_id} {run_id} to reach {sorted(wanted)}",
                          diagnostics=lambda: self.run_report(dag_id, run_id) + "\n" + self._diag())

    def wait_for_success(self, dag_id: str, run_id: str, *, timeout: float = 180) -> dict[str, Any]:
        """Wait for the run to finish; require ``success`` *and* no failed task instance (a run
        whose only leaf is an ``all_done`` summary succeeds even when tasks before it failed)."""
        run = self.wait_for_run(dag_id, run_id, timeout=timeout)
        self.require_success(dag_id, run)
        return run

    def require_success(self, dag_id: str, run: dict[str, Any]) -> None:
        """Raise with the run report unless the run and every task instance of it succeeded or skipped."""
        bad = [f"{ti['task_id']}[{ti['map_index']}]={ti['state']}"
               for ti in self.task_instances(dag_id, run["dag_run_id"]) if ti["state"] not in ("success", "skipped")]
        if run["state"] != "success" or bad:
            raise HarnessError(f"{dag_id} {run['dag_run_id']} ended {run['state']}"
                               f"{' with ' + ', '.join(bad) if bad else ''}\n{self.run_report(dag_id, run['dag_run_id'])}")

    # -- backfills -----------------------------------------------------------------------
    def create_backfill(self, dag_id: str, from_date: datetime, to_date: datetime, *, max_active_runs: int = 1,
                        conf: dict[str, Any] | None = None, reprocess_behavior: str = "none") -> dict[str, Any]:
        return self.request("POST", "backfills", json={
            "dag_id": dag_id, "from_date": from_date.isoformat(), "to_date": to_date.isoformat(),
            "max_active_runs": max_active_runs, "dag_run_conf": conf, "reprocess_behavior": reprocess_behavior})

    def backfills(self, dag_id: str) -> list[dict[str, Any]]:
        return self.get("backfills", dag_id=dag_id, limit=100)["backfills"]

    def wait_for_backfill(self, dag_id: str, backfill_id: int, *, timeout: float = 300) -> list[dict[str, Any]]:
        """Wait until every backfill run of the DAG has finished; returns them by logical date.

        The runs exist from the moment the backfill is created. (Not ``completed_at``: a
        periodic scheduler check sets it, seconds to tens of seconds later. The REST API does
        not say which backfill a run belongs to: one backfill per DAG at a time, as Airflow
        enforces anyway.)"""
        def finished() -> list[dict[str, Any]] | None:
            runs = [r for r in self.runs(dag_id, run_type="backfill") if r.get("backfill_id", backfill_id) == backfill_id]
            return runs if runs and all(r["state"] in TERMINAL_RUN_STATES for r in runs) else None

        return wait_until(finished, timeout=timeout, interval=1.0, what=f"backfill {backfill_id} of {dag_id} to finish",
                          diagnostics=lambda: "\n".join(self.run_report(dag_id, r["dag_run_id"])
                                                         for r in self.runs(dag_id, run_type="backfill")) + self._diag())

    # -- task instances ------------------------------------------------------------------
    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Every task instance of the run, each map index of a mapped task on its own."""
        out: list[dict[str, Any]] = []
        while True:
            page = self.get(f"dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=100, offset=len(out))
            out += page["task_instances"]
            if len(out) >= page["total_entries"] or not page["task_instances"]:
                return out

    def clear(self, dag_id: str, run_id: str, task_ids: Sequence[str | tuple[str, int]], *,
              only_failed: bool = True, **options: Any) -> list[dict[str, Any]]:
        """Clear task instances for real (the endpoint's default is a dry run); returns the
        task instances it cleared. ``task_ids`` items are ``task_id`` or ``(task_id, map_index)``."""
        body = {"dry_run": False, "dag_run_id": run_id, "only_failed": only_failed,
                "task_ids": [list(t) if isinstance(t, tuple) else t for t in task_ids], **options}
        return self.request("POST", f"dags/{dag_id}/clearTaskInstances", json=body)["task_instances"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> str:
        data = self.request("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
                            params={"map_index": map_index, "full_content": True},
                            headers={"Accept": "application/json"})
        if isinstance(data, dict):
            content = data.get("content")
            if isinstance(content, list):
                return "\n".join(_log_line(c) for c in content)
            return str(content)
        return str(data)

    def run_report(self, dag_id: str, run_id: str, *, log_lines: int = 40) -> str:
        """States of the run's task instances, plus the log tail of each failed one."""
        try:
            tis = self.task_instances(dag_id, run_id)
        except Exception as exc:  # noqa: BLE001 - a report must not hide the original failure
            return f"<task instances of {dag_id} {run_id} unavailable: {exc}>"
        lines = [f"task instances of {dag_id} {run_id}:"]
        for ti in sorted(tis, key=lambda t: (t["task_id"], t["map_index"])):
            label = ti["task_id"] + (f"[{ti['map_index']}]" if ti["map_index"] >= 0 else "")
            lines.append(f"  {label:<40} {ti['state']!s:<16} try {ti['try_number']}")
        for ti in tis:
            if ti["state"] in ("failed", "up_for_retry"):
                try:
                    log = self.task_log(dag_id, run_id, ti["task_id"], max(1, ti["try_number"]), ti["map_index"])
                except Exception as exc:  # noqa: BLE001
                    log = f"<log unavailable: {exc}>"
                tail = "\n".join(log.splitlines()[-log_lines:])
                lines.append(f"--- log of {ti['task_id']}[{ti['map_index']}] try {ti['try_number']} ---\n{tail}")
        return "\n".join(lines)

    # -- variables -----------------------------------------------------------------------
    def set_variable(self, key: str, value: Any) -> None:
        text = value if isinstance(value, str) else json.dumps(value)
        self.request("DELETE", f"variables/{key}", expect=(204, 404))
        self.request("POST", "variables", json={"key": key, "value": text})

    def delete_variable(self, key: str) -> None:
        self.request("DELETE", f"variables/{key}", expect=(204, 404))


def _log_line(entry: Any) -> str:
    """One structured log record as a line: time, level, event, then the rest (error details…)."""
    if not isinstance(entry, dict):
        return str(entry)
    head = " ".join(str(entry[k]) for k in ("timestamp", "level", "event") if entry.get(k))
    rest = {k: v for k, v in entry.items()
            if k not in ("timestamp", "level", "event", "logger", "filename", "lineno", "dag_id", "run_id", "task_id",
                         "map_index", "ti_id", "try_number", "loc") and v not in (None, "", [], {})}
    return f"{head} {json.dumps(rest, default=str)}" if rest else head


# --------------------------------------------------------------------------------------------
# Airflow
# --------------------------------------------------------------------------------------------
@dataclass
class LiveAirflow:
    """API server + scheduler + dag-processor on a fresh ``AIRFLOW_HOME`` and metadata database.

    Args:
        postgres: Where the metadata database ``airflow_live_<pid>`` is created (and dropped).
        connections: ``AIRFLOW_CONN_*`` (and any other) variables every component gets.
        workdir: Parent of ``AIRFLOW_HOME``. Omitted: a new temporary directory, removed at the
            end unless ``keep_workdir`` (to read the task logs afterwards); a given one is kept.
        parallelism: ``[core] parallelism`` (the LocalExecutor's worker count).
        schedules: Let the scheduler create runs from timetables (off: only requested runs).
        extra_env: More configuration, e.g. ``{"AIRFLOW__CORE__DEFAULT_POOL_TASK_SLOT_COUNT": "8"}``.
    """

    postgres: Postgres
    connections: dict[str, str] = field(default_factory=dict)
    workdir: Path | None = None
    parallelism: int = 4
    schedules: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)
    database: str = field(default_factory=lambda: f"airflow_live_{os.getpid()}")
    keep_workdir: bool = False
    username: str = "admin"

    def __post_init__(self) -> None:
        self.port = free_port()
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
        env = {
            **base,
            "PYTHONPATH": pythonpath,
            "PYTHONUNBUFFERED": "1",
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__CORE__FERNET_KEY": _fernet_key(),
            "AIRFLOW__CORE__AUTH_MANAGER":
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{self.username}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.home / "passwords.json"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.metadata_url,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": str(self.schedules),
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
            # The task supervisor notices its task process exited only when its select() times
            # out, after up to this many seconds: the default 5 holds every worker slot ~5 s
            # longer than the task took.
            "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__BUNDLE_REFRESH_CHECK_INTERVAL": "2",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "2",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        }
        env.update(self.connections)
        env.update(self.extra_env)
        return env

    # -- lifecycle -----------------------------------------------------------------------
    def start(self, *, timeout: float = 180) -> LiveAirflow:
        """Metadata database, ``airflow db migrate``, the three components; wait until the API
        answers with a token and reports the scheduler and dag-processor healthy."""
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
        ):
            self.components.append(Component(name, argv, logs / f"{name}.log").start(self.env, ROOT))

        def ready() -> bool:
            self._check_alive()
            health = self.api.health()
            self.api.token()
            return all(health.get(part, {}).get("status") == "healthy"
                       for part in ("metadatabase", "scheduler", "dag_processor"))

        wait_until(ready, timeout=timeout, interval=1.0, what="the API server, scheduler and dag-processor",
                   diagnostics=self.diagnostics)
        self.timings["start"] = time.monotonic() - started
        return self

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
                for pid in _processes_with_env(f"AIRFLOW_HOME={self.home}"):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
            self.components.clear()
            if self._db_created:
                self.postgres.drop(self.database)
                self._db_created = False
        finally:
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None

    def __enter__(self) -> LiveAirflow:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- CLI and diagnostics ---------------------------------------------------------------
    def cli(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``airflow <args>`` with exactly the components' environment."""
        result = subprocess.run([str(AIRFLOW_BIN), *args], env=self.env, cwd=ROOT, capture_output=True, text=True,
                                timeout=timeout)
        if check and result.returncode != 0:
            raise HarnessError(f"airflow {' '.join(args)} exited {result.returncode}:\n"
                               f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def diagnostics(self, lines: int = 40) -> str:
        """The tail of every component's log."""
        parts = []
        for component in self.components:
            state = "running" if component.alive() else f"exited {component.popen.returncode if component.popen else '?'}"
            parts.append(f"===== {component.name} ({state}) — {component.log_path} =====\n{component.tail(lines)}")
        return "\n".join(parts)


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


# --------------------------------------------------------------------------------------------
# Everything together
# --------------------------------------------------------------------------------------------
@dataclass
class LiveStack:
    """Simulators + link database + Airflow, started in that order and stopped in reverse.

    Args:
        postgres: The server for the link and metadata databases.
        airflow_options: Keyword arguments of :class:`LiveAirflow` (``parallelism``,
            ``schedules``, ``extra_env``, ``keep_workdir``…); ``connections`` are merged over
            the simulators' and the link database's (e.g. a third connection for a new hook).
    """

    postgres: Postgres = field(default_factory=Postgres)
    airflow_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sims: Simulators | None = None
        self.link: LinkDatabase | None = None
        self.airflow: LiveAirflow | None = None
        self.timings: dict[str, float] = {}

    def start(self) -> LiveStack:
        started = time.monotonic()
        self.postgres.check()
        # Each part is kept before it starts, so stop() also cleans up after a failed start.
        self.sims = Simulators()
        self.sims.start()
        self.link = LinkDatabase(self.postgres)
        self.link.create()
        connections = {**self.sims.connection_env(), **self.link.connection_env()}
        options = dict(self.airflow_options)
        connections.update(options.pop("connections", {}))
        self.airflow = LiveAirflow(self.postgres, connections=connections, **options)
        self.airflow.start()
        self.timings = {**self.airflow.timings, "total": time.monotonic() - started}
        return self

    def reset(self) -> None:
        """Simulators back to reference data, link database empty (between tests)."""
        assert self.sims is not None and self.link is not None
        self.sims.reset()
        self.link.reset()

    def stop(self) -> None:
        errors: list[BaseException] = []
        for step in (lambda: self.airflow and self.airflow.stop(), lambda: self.link and self.link.drop(),
                     lambda: self.sims and self.sims.stop(), self.postgres.dispose):
            try:
                step()
            except BaseException as exc:  # noqa: BLE001 - stop everything, then report
                errors.append(exc)
        if errors:
            raise errors[0]

    def __enter__(self) -> LiveStack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.live.harness serve``: the live stack until Ctrl-C, for poking at by hand."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tests.live.harness", description=main.__doc__)
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--schedules", action="store_true", help="let timetables create runs")
    args = parser.parse_args(argv)
    for path in (ROOT, ROOT / "plugins"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    with LiveStack(airflow_options={"schedules": args.schedules}) as stack:
        assert stack.airflow and stack.sims and stack.link
        print(f"Airflow     {stack.airflow.base_url}  (user {stack.airflow.username}, password "
              f"{stack.airflow.password})\nAIRFLOW_HOME {stack.airflow.home}\n"
              f"Tribe       {stack.sims.tribe_url}\nPowerOffice {stack.sims.po_url}\n"
              f"link DB     {stack.link.url.render_as_string(hide_password=True) if stack.link.url else '-'}\n"
              f"started in {stack.timings['total']:.1f} s; Ctrl-C stops and drops everything", flush=True)
        try:
            while not stop:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
