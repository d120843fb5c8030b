"""Token endpoint calls over a simulated day of scheduled runs ÷ the minimum, per connection.
Target: ≤ 1.1 with the token shared through the encrypted token store (``http/auth.py``,
``store/tokens.py``), beside today's behaviour (each task process fetches its own) in the same run.

**The day.** The schedules and tasks are the real DAGs' (``dags/``, parsed with a DagBag): the
PowerOffice installation's ``poweroffice_to_tribe`` (every 15 min), ``tribe_to_poweroffice``
and ``tribe_invoices_to_poweroffice`` (every 5 min), ``poweroffice_payments_to_tribe`` (every
4 h): every run of 00:00–23:55 UTC. Each task is a task process: it builds its own hooks, as
Airflow's task runner does, and calls the API once through each. Which hooks a task builds
follows its step (``operators/stream.py``): extract → the source; map and dedupe → the target
(lookups); load → target and source (the number written back); ``find_sent_invoices`` → Tribe;
``export_invoice`` (one mapped instance a run) and ``sync_payments`` → both; ``summary`` and
``scopes`` → none. The tasks of all runs due at one minute go through 4 worker slots
(threads) in dependency order, so tasks of one connection ask for a token at the same moment.

**The clock.** Both simulators (PowerOffice: 20-minute tokens; Tribe: 1 hour — their
references') and our auth read one simulated clock, set to each run's time (a task of wave
``w`` of its minute at +5·w s): a day passes in minutes of real time and the lifetimes are the
real ones, nothing scaled. A fresh hook holds no token in memory: what a new task process has.

**The arithmetic.** The minimum per connection is ceil(86,400 s ÷ lifetime): 72 PowerOffice
tokens, 24 Tribe tokens. A shared token is used while it is valid for more than the renewal
margin (60 s); the first task after that fetches the next. Runs come every 5 minutes and both
lifetimes are multiples of 5 minutes, so a renewal falls on the run at the old token's end:
one fetch per lifetime, plus any fetch two processes make at once (the store's lock — a
PostgreSQL advisory lock, SQLite's ``BEGIN IMMEDIATE`` — lets one fetch and the other read it).
Without the store every task process that calls a system fetches: the old figure is the
number of such task processes ÷ the minimum.
"""
from __future__ import annotations

import math
import os
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench._support import ensure_path, isolate_airflow, scratch_database

TARGET = 1.1
DAY_S = 86_400
SLOTS = 4  # worker slots: tasks of one minute at once
WAVE_S = 5  # a wave of tasks starts this long after the previous one
# The PowerOffice installation's DAGs: (source, target).
DAGS = {"poweroffice_to_tribe": ("poweroffice", "tribe"), "tribe_to_poweroffice": ("tribe", "poweroffice"),
        "tribe_invoices_to_poweroffice": ("tribe", "poweroffice"),
        "poweroffice_payments_to_tribe": ("poweroffice", "tribe")}
DAY0 = datetime(2026, 12, 1, tzinfo=UTC)


class SimClock:
    """A clock set by the bench (``at``), strictly increasing between settings, as the
    simulators' ``Clock`` is (its ``advance`` moves it too)."""

    def __init__(self, start: datetime) -> None:
        self._now, self._lock = start, threading.Lock()

    def at(self, moment: datetime) -> None:
        with self._lock:
            self._now = max(self._now, moment)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)

    def now(self) -> datetime:
        with self._lock:
            self._now += timedelta(microseconds=1)
            return self._now


def _systems(task_id: str, source: str, target: str) -> tuple[str, ...]:
    """The hooks a task process builds (see the docstring)."""
    step = task_id.rsplit(".", 1)[-1]
    return {"extract": (source,), "map": (target,), "dedupe": (target,), "load": (target, source),
            "find_sent_invoices": ("tribe",), "export_invoice": ("tribe", "poweroffice"),
            "sync_payments": (source, target)}.get(step, ())


def day_plan(hours: float) -> tuple[list[tuple[datetime, str, list[tuple[str, ...]]]], dict[str, str]]:
    """``[(run time, dag_id, [systems of each task, in dependency order])]`` for the day's runs,
    from the parsed DAGs' own timetables and tasks; and each DAG's schedule in words."""
    from airflow.dag_processing.dagbag import DagBag
    from croniter import croniter

    bag = DagBag(dag_folder=str(Path(__file__).resolve().parents[1] / "dags"))
    plan, schedules = [], {}
    end = DAY0 + timedelta(hours=hours)
    for dag_id, (source, target) in DAGS.items():
        dag = bag.dags[dag_id]
        timetable = dag.timetable
        schedules[dag_id] = timetable.summary
        tasks = [_systems(t.task_id, source, target) for t in dag.topological_sort()]
        tasks = [t for t in tasks if t]
        times = croniter(timetable._expression, DAY0 - timedelta(seconds=1))
        while (when := times.get_next(datetime)) < end:
            plan.append((when.astimezone(UTC), dag_id, tasks))
    return sorted(plan, key=lambda p: p[0]), schedules


def simulate(plan: list[tuple[datetime, str, list[tuple[str, ...]]]], *, shared: bool, link_env: str,
             urls: tuple[str, str], sims: tuple[Any, Any], clock: SimClock) -> dict[str, Any]:
    """Run the day; the token endpoint calls each simulator counted, and the task processes."""
    from airflow.sdk._shared.secrets_masker.secrets_masker import reset_secrets_masker

    from tests.fixtures.simulators import connection_env
    from tribe_operators.http.pacing import forget_shared_limiters
    from tribe_operators.systems.poweroffice.hook import PowerOfficeHook
    from tribe_operators.systems.tribe.hook import TribeCrmHook

    tribe_state, po_state = sims
    # Client pacing off (the simulators' limits are off too): this counts tokens, not rates.
    os.environ.update(connection_env(*urls, tribe_extra={"rate_limit": 10**7},
                                     po_extra={"rate_per_second": 10**6}))
    if shared:
        os.environ["AIRFLOW_CONN_TRIBE_SYNC_DB"] = link_env
    else:
        os.environ.pop("AIRFLOW_CONN_TRIBE_SYNC_DB", None)  # no store: each process its own token
    forget_shared_limiters()
    issued_before = {"tribe": tribe_state.counters()["tokens_issued"],
                     "poweroffice": po_state.counters()["tokens_issued"]}
    processes: Counter[str] = Counter()
    waited: Counter[str] = Counter()  # renewals another process made while this one waited for the lock
    errors: Counter[str] = Counter()
    lock = threading.Lock()

    def task(systems: tuple[str, ...]) -> None:
        for system in systems:
            try:
                hook: Any = PowerOfficeHook() if system == "poweroffice" else TribeCrmHook()
                hook.client.auth.clock = clock.now  # both sides on the simulated clock
                if system == "poweroffice":
                    list(hook.iter_pages("Customers"))
                else:
                    hook.count("Relation_Organization")
                with lock:
                    processes[system] += 1
                    waited[system] += hook.client.auth.renewed_by_another
            except Exception as exc:  # noqa: BLE001 - counted, shown beside the figures
                with lock:
                    errors[f"{system}: {type(exc).__name__}: {str(exc)[:100]}"] += 1

    by_minute: dict[datetime, list[tuple[str, ...]]] = defaultdict(list)
    for when, _dag, tasks in plan:
        by_minute[when].extend(tasks)
    started = time.monotonic()
    with ThreadPoolExecutor(SLOTS) as pool:
        for when in sorted(by_minute):
            tasks = by_minute[when]
            for wave in range(0, len(tasks), SLOTS):
                clock.at(when + timedelta(seconds=WAVE_S * (wave // SLOTS)))
                list(pool.map(task, tasks[wave:wave + SLOTS]))
                # Those task processes ended: the next start with Airflow's masker empty (here, one
                # process keeping every token masked would rebuild an ever longer regex per token).
                reset_secrets_masker()
    fetched = {"tribe": tribe_state.counters()["tokens_issued"] - issued_before["tribe"],
               "poweroffice": po_state.counters()["tokens_issued"] - issued_before["poweroffice"]}
    return {"fetched": fetched, "processes": dict(processes), "waited": dict(waited), "errors": dict(errors),
            "wall_s": time.monotonic() - started}


def _backends(quick: bool) -> list[tuple[str, Any]]:
    """``(name, context manager giving (engine, AIRFLOW_CONN value))``: the embedded SQLite
    default, and PostgreSQL (CI's) unless quick or not reachable."""
    import contextlib
    import json

    @contextlib.contextmanager
    def sqlite() -> Any:
        from tribe_operators.store.engine import dispose_all, engine_for, migrate

        with tempfile.TemporaryDirectory(prefix="tribe_sync_bench_tokens_") as home:
            path = Path(home) / "links.db"
            engine = engine_for(url=f"sqlite:///{path}")
            migrate(engine)
            yield engine, json.dumps({"conn_type": "sqlite", "host": str(path)})
            dispose_all()

    @contextlib.contextmanager
    def postgres() -> Any:
        from tests.fixtures.postgres import airflow_conn_uri

        with scratch_database("tokens") as (engine, url):
            yield engine, airflow_conn_uri(url)

    found = [("SQLite", sqlite)]
    if not quick:
        from tests.fixtures.postgres import Postgres, PostgresUnavailable

        try:
            Postgres().check()
            found.append(("PostgreSQL", postgres))
        except PostgresUnavailable as exc:
            print(f"  (PostgreSQL skipped: {exc})")
    return found


def run(quick: bool = False) -> dict[str, Any]:
    ensure_path()
    isolate_airflow()
    from cryptography.fernet import Fernet

    from bench.report import write_result
    from sandbox.common import ServerThread
    from sandbox.poweroffice import PowerOfficeState
    from sandbox.poweroffice import create_app as po_app
    from sandbox.tribe import TribeState
    from sandbox.tribe import create_app as tribe_app

    os.environ.setdefault("AIRFLOW__CORE__FERNET_KEY", Fernet.generate_key().decode())
    hours = 6.0 if quick else 24.0
    plan, schedules = day_plan(hours)
    figures: dict[str, Any] = {}
    worst = 0.0
    params: dict[str, Any] = {"quick": quick, "hours": hours, "schedules": schedules, "runs": Counter(p[1] for p in plan),
                              "slots": SLOTS, "load_average_before": os.getloadavg()}
    for backend, database in _backends(quick):
        for shared in (True, False):
            clock = SimClock(DAY0)
            tribe_state, po_state = TribeState(clock=clock, rate_limit=0), PowerOfficeState(clock=clock, rate_limit=0)
            lifetimes = {"tribe": tribe_state.token_ttl_s, "poweroffice": po_state.token_ttl_s}
            with ServerThread(tribe_app(tribe_state)) as t, ServerThread(po_app(po_state)) as p, \
                    database() as (_engine, link_env):
                result = simulate(plan, shared=shared, link_env=link_env, urls=(t.url, p.url),
                                  sims=(tribe_state, po_state), clock=clock)
            label = f"{backend}, {'shared' if shared else 'each process its own (before)'}"
            for system in ("poweroffice", "tribe"):
                minimum = math.ceil(hours * 3600 / lifetimes[system])
                ratio = result["fetched"][system] / minimum
                figures[f"{label}: {system} tokens ÷ minimum"] = round(ratio, 3)
                figures[f"{label}: {system} tokens / minimum / task processes"] = (
                    f"{result['fetched'][system]:,} / {minimum} / {result['processes'].get(system, 0):,}")
                if shared:
                    worst = max(worst, ratio)
                    figures[f"{label}: {system} renewals found after waiting for another's"] = \
                        result["waited"].get(system, 0)
            figures[f"{label}: errors"] = sum(result["errors"].values())
            params[label] = {k: v for k, v in result.items() if k != "fetched"} | {"fetched": result["fetched"]}
    figures["worst shared ratio"] = round(worst, 3)
    params["load_average_after"] = os.getloadavg()
    errors = sum(v for k, v in figures.items() if k.endswith(": errors"))
    return write_result("tokens", figures, target=f"token calls ≤ {TARGET}× the minimum (one per token lifetime "
                        "per connection) over a simulated day of scheduled runs", passed=worst <= TARGET and not errors,
                        params=params)


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
