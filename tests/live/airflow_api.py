"""The Airflow REST API (``/api/v2``) calls the live tests need, with a JWT from ``/auth/token``."""
from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from tests.live.processes import HarnessError, StopWaiting, wait_until

__all__ = ["TERMINAL_RUN_STATES", "AirflowApi"]

TERMINAL_RUN_STATES = frozenset({"success", "failed"})


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

    def forget_runs(self, dag_id: str, *, timeout: float = 240) -> None:
        """Wait for every run of ``dag_id`` to finish, then delete them all (a test that
        triggered runs of a DAG another test counts the runs of)."""
        for run in self.runs(dag_id):
            self.wait_for_run(dag_id, run["dag_run_id"], timeout=timeout)
            self.request("DELETE", f"dags/{dag_id}/dagRuns/{run['dag_run_id']}", expect=(204, 404))

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
        """Wait for the run to finish; require ``success`` *and* no failed task instance (belt and
        braces: the run's state comes from its last work tasks, the summary teardown aside)."""
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

    # -- pools and connection types ------------------------------------------------------
    def import_pools(self, path: Path) -> list[str]:
        """Create or overwrite the pools of a ``airflow pools import`` file (one bulk call; the
        CLI would cost a 7 s Airflow start-up). Returns the pool names."""
        pools = json.loads(Path(path).read_text())
        entities = [{"name": name, "slots": p["slots"], "description": p["description"],
                     "include_deferred": p.get("include_deferred", False)} for name, p in pools.items()]
        result = self.request("PATCH", "pools", json={"actions": [
            {"action": "create", "entities": entities, "action_on_existence": "overwrite"}]})
        errors = (result or {}).get("create", {}).get("errors")
        if errors:
            raise HarnessError(f"importing {path}: {errors}")
        return list(pools)

    def pools(self) -> dict[str, dict[str, Any]]:
        return {p["name"]: p for p in self.get("pools", limit=100)["pools"]}

    def hook_meta(self) -> list[dict[str, Any]]:
        """The connection types and their form fields, as the UI's connection form reads them:
        ``GET /ui/connections/hook_meta`` (the UI's own API, outside ``/api/v2``)."""
        response = self.session.get(f"{self.base_url}/ui/connections/hook_meta", timeout=60,
                                    headers={"Authorization": f"Bearer {self.token()}"})
        if response.status_code != 200:
            raise HarnessError(f"GET /ui/connections/hook_meta: {response.status_code} {response.text[:1000]}")
        return response.json()

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
