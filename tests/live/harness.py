"""A live Airflow for tests: real components, real PostgreSQL, the simulators over HTTP.

``dag.test()`` runs a DAG in-process; it has no scheduler, so it cannot show what a backfill,
a cleared mapped task or a retry really do. This harness starts the real thing:

* **PostgreSQL** — a fresh metadata database ``airflow_live_<pid>`` and a fresh link database
  ``tribe_sync_live_<pid>`` (migrated with the package's Alembic migrations); both dropped in
  :meth:`LiveStack.stop`.
* **Simulators** — Tribe CRM, PowerOffice Go, Odoo and Exact Online as real HTTP servers in *this* process
  (``sandbox.common.ServerThread``), so a test seeds, resets and inspects them through their
  Python state while the Airflow processes reach them over HTTP like any vendor API.
* **Airflow** — ``airflow api-server``, ``scheduler``, ``dag-processor`` and ``triggerer`` as subprocesses
  (CeleryExecutor with two workers, Redis as the broker, PostgreSQL for the metadata and results;
  tasks talk to the API server's execution API), each in its own
  process group with its log under the temporary ``AIRFLOW_HOME/component-logs/``. Every
  connection reaches every component as an ``AIRFLOW_CONN_*`` environment variable.
* **Pools** — ``include/pools.json``, created through the REST API once the components are up
  (the scheduler never starts a task whose pool does not exist).
* **REST only** — tests drive Airflow through ``/api/v2`` with a JWT from ``POST /auth/token``
  (simple auth manager, user ``admin`` with a generated password): :class:`AirflowApi`.
  The CLI (:meth:`LiveAirflow.cli`) runs with exactly the components' environment.

Scheduling on timetables is off by default (``[scheduler] use_job_schedule = False``): only
runs a test asks for — manual triggers, backfills, clears — ever run, so a 5-minute safety poll
can never start a run in the middle of a test. Pass ``schedules=True`` to turn it on, or
switch it for a while (the scheduler restarts): ``with stack.airflow.timetables_on(): …``.

The Tribe connection carries a generated ``webhook_secret`` (:attr:`LiveStack.webhook_secret`):
register a simulator webhook with it, pointing at :attr:`LiveAirflow.webhook_url`, and Tribe's
signed events reach the receiver in the API server.

Exact Online's connection (``exact_default``) is there from the start, but its token chain lives
in the link database after a person's consent, which :meth:`LiveStack.reset` empties: a test
that talks to Exact calls :meth:`LiveStack.authorize_exact` first (the ``exact`` fixture), and
:meth:`LiveStack.subscribe_exact` to have Exact's signed events reach the receiver.

Use it as a context manager (everything is always torn down, in reverse order)::

    with LiveStack() as stack:
        stack.airflow.api.wait_for_dags(["tribe_invoices_to_poweroffice"])
        run = stack.airflow.api.trigger("tribe_invoices_to_poweroffice", conf={})
        stack.airflow.api.wait_for_run("tribe_invoices_to_poweroffice", run["dag_run_id"])

or from a shell: ``python -m tests.live.harness serve`` (``scripts/live_airflow.sh``).
Nothing here imports Airflow: the pytest process keeps its own (``dag.test()``) configuration.
"""
from __future__ import annotations

import secrets
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from tests.fixtures.postgres import Postgres, PostgresUnavailable
from tests.live.airflow_api import AirflowApi
from tests.live.airflow_components import POOLS_FILE, ROOT, LiveAirflow
from tests.live.processes import Component, HarnessError, StartStop, StopWaiting, wait_until
from tests.live.services import LinkDatabase, Simulators

__all__ = [
    "POOLS_FILE",
    "ROOT",
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


# What the README recommends a deployment sets, so the live figures are a deployment's: the
# package imported once per Celery worker process, not once per task (tribe_operators.celery_config).
DEPLOYMENT_SETTINGS = {"AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "tribe_operators.celery_config.CELERY_CONFIG"}


@dataclass
class LiveStack(StartStop):
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
        # In tribe_default's extra, as the README tells operators; the receiver reads it.
        self.webhook_secret = "whsec-live-" + secrets.token_hex(24)

    def start(self) -> LiveStack:
        started = time.monotonic()
        self.postgres.check()
        # Each part is kept before it starts, so stop() also cleans up after a failed start.
        self.sims = Simulators(tribe_extra={"webhook_secret": self.webhook_secret})
        self.sims.start()
        self.link = LinkDatabase(self.postgres)
        self.link.create()
        connections = {**self.sims.connection_env(), **self.link.connection_env()}
        options = dict(self.airflow_options)
        connections.update(options.pop("connections", {}))
        options["extra_env"] = {**DEPLOYMENT_SETTINGS, **options.get("extra_env", {})}
        self.airflow = LiveAirflow(self.postgres, connections=connections, **options)
        self.airflow.start()
        self.timings = {**self.airflow.timings, "total": time.monotonic() - started}
        return self

    def reset(self) -> None:
        """Simulators back to reference data, link database empty (between tests)."""
        assert self.sims is not None and self.link is not None
        self.sims.reset()
        self.link.reset()

    def authorize_exact(self) -> str:
        """The Exact app's one-time consent as an operator gives it: ``oauth authorize`` with the
        address the browser landed on. The first token pair goes into the link database,
        encrypted with the components' Fernet key. Returns what the CLI printed."""
        assert self.airflow is not None and self.sims is not None
        return self.airflow.tribe_sync("oauth", "authorize", "--conn", "exact_default",
                                       "--callback-url", self.sims.exact_consent())

    def subscribe_exact(self) -> str:
        """``webhooks subscribe``: Exact's topics (every division of the settings) to the receiver in
        the API server. Exact validates each with an empty POST about a second later."""
        assert self.airflow is not None
        return self.airflow.tribe_sync("webhooks", "subscribe", "--conn", "exact_default",
                                       "--url", self.airflow.exact_webhook_url)

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


def seed_and_import(stack: LiveStack, *, customers: int = 60, suppliers: int = 15, matched: int = 6) -> str:
    """The demo scenario in the simulators (with its bad records), then one run of the
    PowerOffice import, so the DAGs, the run notes and the tribe-sync page have something to show."""
    from sandbox.scenario import seed_demo

    assert stack.airflow and stack.sims
    seed_demo(stack.sims.tribe, stack.sims.po, customers=customers, suppliers=suppliers, matched=matched)
    api = stack.airflow.api
    api.wait_for_dags(["poweroffice_to_tribe"])
    api.set_paused("poweroffice_to_tribe", False)
    try:
        run = api.trigger("poweroffice_to_tribe")
        done = api.wait_for_run("poweroffice_to_tribe", run["dag_run_id"], timeout=300)
    finally:
        api.set_paused("poweroffice_to_tribe", True)
    return f"seeded the demo scenario; poweroffice_to_tribe {done['dag_run_id']}: {done['state']} ({done.get('note')})"


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.live.harness serve``: the live stack until Ctrl-C, for poking at by hand."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tests.live.harness", description=main.__doc__)
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--schedules", action="store_true", help="let timetables create runs")
    parser.add_argument("--empty", action="store_true",
                        help="start with empty simulators (default: the demo scenario, imported once)")
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
        if not args.empty:
            print(seed_and_import(stack), flush=True)
        print(f"Airflow     {stack.airflow.base_url}  (user {stack.airflow.username}, password "
              f"{stack.airflow.password})\nAIRFLOW_HOME {stack.airflow.home}\n"
              f"Tribe       {stack.sims.tribe_url}\nPowerOffice {stack.sims.po_url}\n"
              f"Exact       {stack.sims.exact_url}  (not authorized: tribe_operators.cli oauth authorize)\n"
              f"webhooks    {stack.airflow.webhook_url}  (secret {stack.webhook_secret})\n"
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
