"""The main job on a fresh machine: simulators + link database + every integration's DAGs.

``python -m sandbox.demo`` (wrapped by ``scripts/demo.sh``):

1. starts the simulators in the background (``python -m sandbox serve``: Tribe, PowerOffice
   Go, Odoo, Exact Online), seeded with the demo scenarios, unless they are already running from
   an earlier demo;
2. picks the link database: local PostgreSQL when reachable (database ``tribe_sync_demo``),
   otherwise an embedded SQLite file under ``.demo/``; migrates it;
3. runs the PowerOffice DAGs, then the Odoo ones, then the Exact ones (authorizing the app once),
   with ``dag.test()`` on a throwaway Airflow home;
4. prints what each created, updated, linked, skipped and quarantined.

Run it again and the second run finds nothing new. ``--reset`` starts over; ``--stop``
stops the background simulators.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEMO = Path(os.environ.get("TRIBE_SYNC_DEMO_DIR", ROOT / ".demo"))
PIDFILE = DEMO / "sandbox.pid"
# Tribe, PowerOffice, Odoo and the Odoo company's own Tribe tenant, Exact Online and the Exact
# company's own Tribe tenant; TRIBE_SYNC_DEMO_PORT moves all six (CI runs a SQLite and a
# PostgreSQL demo side by side).
_BASE = int(os.environ.get("TRIBE_SYNC_DEMO_PORT", "8081"))
TRIBE_PORT, PO_PORT, ODOO_PORT, ODOO_TRIBE_PORT = _BASE, _BASE + 1, _BASE + 2, _BASE + 3
EXACT_PORT, EXACT_TRIBE_PORT = _BASE + 4, _BASE + 5
PORTS = (TRIBE_PORT, PO_PORT, ODOO_PORT, ODOO_TRIBE_PORT, EXACT_PORT, EXACT_TRIBE_PORT)
PG_URL = os.environ.get("TRIBE_SYNC_DEMO_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _running() -> bool:
    import requests

    try:
        pid = int(PIDFILE.read_text())
        os.kill(pid, 0)
        return all(requests.get(f"http://127.0.0.1:{p}/_sandbox/state", timeout=2).ok for p in PORTS)
    except (OSError, ValueError, requests.RequestException):
        return False


def start_simulators() -> bool:
    """Start them unless running; True when they were started fresh (new data)."""
    if _running():
        return False
    for port in PORTS:
        if _port_taken(port):
            raise SystemExit(f"port {port} is already in use by another program (simulators of another "
                             "checkout? stop them with its scripts/demo.sh --stop)")
    log = open(DEMO / "sandbox.log", "w")  # noqa: SIM115 - lives as long as the child
    proc = subprocess.Popen([sys.executable, "-m", "sandbox", "serve", "--tribe-port", str(TRIBE_PORT),
                             "--poweroffice-port", str(PO_PORT), "--odoo-port", str(ODOO_PORT),
                             "--odoo-tribe-port", str(ODOO_TRIBE_PORT), "--exact-port", str(EXACT_PORT),
                             "--exact-tribe-port", str(EXACT_TRIBE_PORT)],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    PIDFILE.write_text(str(proc.pid))
    deadline = time.monotonic() + 120
    while not _running():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"simulators did not start; see {DEMO / 'sandbox.log'}")
        time.sleep(0.3)
    return True


def stop_simulators() -> None:
    try:
        os.killpg(int(PIDFILE.read_text()), signal.SIGTERM)
    except (OSError, ValueError):
        pass
    PIDFILE.unlink(missing_ok=True)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_port_taken(p) for p in PORTS):
        time.sleep(0.2)


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def link_database_url() -> str:
    """Local PostgreSQL if reachable (database tribe_sync_demo), else SQLite under .demo/."""
    import sqlalchemy as sa

    try:
        admin = sa.create_engine(sa.make_url(PG_URL).set(drivername="postgresql+psycopg2"),
                                 isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 2})
        with admin.connect() as conn:
            if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname='tribe_sync_demo'")).scalar():
                conn.execute(sa.text("CREATE DATABASE tribe_sync_demo"))
        admin.dispose()
        return str(sa.make_url(PG_URL).set(database="tribe_sync_demo").render_as_string(hide_password=False))
    except sa.exc.OperationalError:
        return f"sqlite:///{DEMO / 'links.db'}"


def _tribe_connection(port: int) -> str:
    return json.dumps({"conn_type": "tribe_crm", "host": f"http://127.0.0.1:{port}", "login": "tribe-sync",
                       "password": "tribe-secret"})


def configure_environment(db_url: str) -> None:
    """Airflow home, DAG folder and connections — all before Airflow is imported."""
    from sandbox.exact.clients import REDIRECT_URI
    from sandbox.exact.seed import NL
    from sandbox.exact.state import CLIENT_ID, CLIENT_SECRET  # the app's, as the App Center shows them
    from sandbox.odoo.state import DEFAULT_API_KEY  # the simulator's, as Odoo shows a new key once

    home = DEMO / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    conn_db = {"conn_type": "sqlite", "host": db_url.removeprefix("sqlite:///")} if db_url.startswith("sqlite") \
        else db_url
    os.environ.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW_CONN_TRIBE_SYNC_DB": json.dumps(conn_db) if isinstance(conn_db, dict) else conn_db,
        "AIRFLOW_CONN_TRIBE_DEFAULT": _tribe_connection(TRIBE_PORT),
        "AIRFLOW_CONN_POWEROFFICE_DEFAULT": json.dumps({
            "conn_type": "poweroffice_go", "host": f"http://127.0.0.1:{PO_PORT}", "login": "po-app-key",
            "password": "po-client-key", "extra": {"subscription_api_key": "po-subscription-key"}}),
        "AIRFLOW_CONN_ODOO_DEFAULT": json.dumps({
            "conn_type": "odoo", "host": f"http://127.0.0.1:{ODOO_PORT}", "login": "admin",
            "password": DEFAULT_API_KEY, "extra": {"database": "sandbox", "rate_per_second": 50}}),
        "AIRFLOW_CONN_EXACT_DEFAULT": json.dumps({
            "conn_type": "exact_online", "host": f"http://127.0.0.1:{EXACT_PORT}", "login": CLIENT_ID,
            "password": CLIENT_SECRET, "extra": {"division": NL, "redirect_uri": REDIRECT_URI}}),
        # The token chain is kept encrypted with Airflow's Fernet key: one key for every round.
        "AIRFLOW__CORE__FERNET_KEY": _fernet_key(),
    })
    for path in (ROOT, ROOT / "plugins"):
        sys.path.insert(0, str(path))


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    path = DEMO / "fernet.key"
    if not path.exists():
        path.write_text(Fernet.generate_key().decode())
    return path.read_text().strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reset", action="store_true", help="fresh simulators and an empty link database")
    parser.add_argument("--stop", action="store_true", help="stop the background simulators and exit")
    args = parser.parse_args(argv)
    DEMO.mkdir(parents=True, exist_ok=True)
    if args.stop or args.reset:
        stop_simulators()
        if args.stop:
            print("simulators stopped")
            return 0
    fresh = start_simulators()
    db_url = link_database_url()
    configure_environment(db_url)

    from tribe_operators.store.engine import engine_for, migrate
    from tribe_operators.store.schema import metadata

    engine = engine_for(url=db_url.replace("postgresql://", "postgresql+psycopg2://", 1))
    migrate(engine)
    if fresh:  # new simulator data: old links would point at records that no longer exist
        with engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
    subprocess.run([str(Path(sys.executable).with_name("airflow")), "db", "migrate"], check=True,
                   capture_output=True, env=os.environ.copy())
    print(f"link database: {engine.url.render_as_string(hide_password=True)}")
    print(f"simulators:    tribe :{TRIBE_PORT}, poweroffice :{PO_PORT}, odoo :{ODOO_PORT} with its tribe "
          f":{ODOO_TRIBE_PORT}, exact :{EXACT_PORT} with its tribe :{EXACT_TRIBE_PORT} "
          f"({'started' if fresh else 'reused'})")
    return run_and_report(engine)


# Third-party deprecation notices (Airflow's DAG-folder scanner, FastAPI's test client) that a
# newcomer cannot act on: the demo prints only its own lines. The test suite still shows them.
_THIRD_PARTY_NOTICES = (r"GitWildMatchPattern", r"Using `httpx` with `starlette.testclient`")


def quiet_third_party_notices() -> None:
    import warnings

    for message in _THIRD_PARTY_NOTICES:
        warnings.filterwarnings("ignore", message=f".*{message}")


def run_and_report(engine) -> int:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa
    from airflow.dag_processing.dagbag import DagBag

    quiet_third_party_notices()  # after Airflow's import, which sets filters of its own

    from sandbox.demo_story import invoice_story, lifecycle_story
    from tribe_operators.reports.summary import render_counts as render
    from tribe_operators.reports.summary import summarise
    from tribe_operators.store.ledger import ExportLedger
    from tribe_operators.store.links import LinkStore
    from tribe_operators.store.quarantine import Quarantine
    from tribe_operators.store.runs import run_counts
    from tribe_operators.store.schema import conflict_audit
    from tribe_operators.systems.tribe.hook import TribeCrmHook

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    started = time.monotonic()
    run = bag.dags["poweroffice_to_tribe"].test(logical_date=datetime.now(UTC))
    print(f"\nDAG poweroffice_to_tribe run {run.run_id}: {run.state} in {time.monotonic() - started:.1f} s\n")
    print(render(summarise(run_counts(engine, run.run_id))))
    links = LinkStore(engine, "poweroffice")
    print(f"\nlinks: {links.count('customer')} customers, {links.count('supplier')} suppliers, "
          f"{links.count('person')} persons, {links.count('product')} products")
    runs = [run]
    export = bag.dags["tribe_to_poweroffice"].test(logical_date=datetime.now(UTC))
    print(f"\nDAG tribe_to_poweroffice: {export.state}")
    print(render(summarise(run_counts(engine, export.run_id))))
    runs.append(export)
    for label, dagrun in invoice_story(bag, engine, f"http://127.0.0.1:{PO_PORT}"):
        counts = [r["counts"] for r in run_counts(engine, dagrun.run_id)]
        print(f"DAG {dagrun.dag_id} ({label}): {dagrun.state} {counts if counts else ''}")
        runs.append(dagrun)
    for label, dagrun in lifecycle_story(bag, engine, f"http://127.0.0.1:{PO_PORT}"):
        counts = {r["stream"]: r["counts"] for r in run_counts(engine, dagrun.run_id) if r["step"] == "load"}
        print(f"DAG {dagrun.dag_id} ({label}): {dagrun.state} products {counts.get('products')}, "
              f"customers {counts.get('customers')}")
        runs.append(dagrun)
    print(f"export ledger: {ExportLedger(engine, 'poweroffice').states()}")
    inactive = sum(1 for p in TribeCrmHook().iter_records("Product", filter="IsInactive eq true and ImportId ne null",
                                                          select=["ID"]))
    print(f"products archived in PowerOffice → Inactive in Tribe: {inactive}")
    with engine.connect() as conn:
        for row in conn.execute(sa.select(conflict_audit)).mappings():
            fields = ", ".join(f"{f} → {v['winner']}" for f, v in row["fields"].items())
            print(f"conflict on {row['stream']} tribe {row['tribe_id']} / poweroffice {row['external_id']}: {fields}")
    _quarantine_report(Quarantine(engine, "poweroffice"))
    runs += odoo_report(bag, engine)
    outcomes: dict[str, Any] = {}
    runs += exact_report(bag, engine, outcomes)
    return round_report(engine, runs, outcomes)


# What a round changed in Tribe or an accounting system: a second round over unchanged data
# writes nothing (the README's promise, checked by .ci/run on SQLite and on PostgreSQL).
# A payments run's "booked": a payment marked in Tribe first, booked in the accounting system.
_WRITE_COUNTS = {"created": "created", "updated": "updated", "linked": "linked", "unlinked": "unlinked",
                 "paid": "paid", "partial": "partial", "booked": "payments booked"}
_WRITE_STATUSES = ("draft", "booked", "posted", "sent")


def round_report(engine: Any, runs: list[Any], outcomes: dict[str, Any] | None = None) -> int:
    """Print and keep (``.demo/last_round.json``, with the acts' ``outcomes``: what the systems
    show for the demo's invoices) what this round wrote and how each run ended; 0 when every run
    succeeded."""
    from tribe_operators.store.outcomes import run_outcomes
    from tribe_operators.store.runs import run_counts

    written: dict[str, int] = dict.fromkeys((*_WRITE_COUNTS.values(), "invoices exported"), 0)
    for dagrun in runs:
        for row in run_counts(engine, dagrun.run_id):
            if row["step"] == "load":  # payments too: their counts are their load step's
                for key, label in _WRITE_COUNTS.items():
                    written[label] += int(row["counts"].get(key, 0))
        written["invoices exported"] += sum(1 for o in run_outcomes(engine, dagrun.run_id)
                                            if o["status"] in _WRITE_STATUSES)
    failed = [f"{r.dag_id} {r.run_id}" for r in runs if not str(r.state).endswith("success")]
    total = sum(written.values())
    shown = ", ".join(f"{n} {k}" for k, n in written.items() if n) or "nothing"
    print(f"\nthis round wrote: {shown}" + (f"; runs not successful: {', '.join(failed)}" if failed else ""))
    (DEMO / "last_round.json").write_text(json.dumps({
        "database": engine.url.get_backend_name(), "written": written, "total_written": total,
        "runs": {f"{r.dag_id} {r.run_id}": str(r.state) for r in runs}, "failed": failed, **(outcomes or {})},
        indent=2, default=str))
    return 1 if failed else 0


def _quarantine_report(quarantine: Any, shown: int = 12) -> None:
    open_rows = quarantine.open()
    print(f"quarantine: {len(open_rows)} open record(s)")
    for row in open_rows[:shown]:
        print(f"  {row['system']}/{row['stream']} {row['record_id']} [{row['field']}] {row['reason']}")


def odoo_report(bag: Any, engine: Any) -> list[Any]:
    """The Odoo act (``sandbox/demo_odoo.py``): each DAG's summary, the invoices per legal entity,
    and the archived partners that are former relationships in Tribe."""

    print(f"\n--- Odoo (a second company: its own Tribe tenant on :{ODOO_TRIBE_PORT}) ---")
    with _tenant(ODOO_TRIBE_PORT):
        return _odoo_act(bag, engine)


def exact_report(bag: Any, engine: Any, outcomes: dict[str, Any]) -> list[Any]:
    """The Exact act (``sandbox/demo_exact.py``): each DAG's summary, how the import matched, the
    Tribe-born customer with Exact's number, and the two invoices: booked with their PDFs, paid
    each way (what the systems show goes into ``outcomes["exact_invoices"]``)."""
    print(f"\n--- Exact Online (a third company: its own Tribe tenant on :{EXACT_TRIBE_PORT}) ---")
    with _tenant(EXACT_TRIBE_PORT):
        return _exact_act(bag, engine, outcomes)


@contextmanager
def _tenant(port: int) -> Iterator[None]:
    """Connections are read when a task builds its hook: the act's DAGs talk to its own Tribe tenant."""
    os.environ["AIRFLOW_CONN_TRIBE_DEFAULT"] = _tribe_connection(port)
    try:
        yield
    finally:
        os.environ["AIRFLOW_CONN_TRIBE_DEFAULT"] = _tribe_connection(TRIBE_PORT)


def _exact_act(bag: Any, engine: Any, outcomes: dict[str, Any]) -> list[Any]:
    import sqlalchemy as sa

    from sandbox.demo_exact import describe, exact_invoice_story, exact_story, invoice_outcomes
    from sandbox.exact_scenario import TRIBE_BORN
    from tribe_operators.reports.summary import render_counts as render
    from tribe_operators.reports.summary import summarise
    from tribe_operators.store.quarantine import Quarantine
    from tribe_operators.store.runs import run_counts
    from tribe_operators.store.schema import staging
    from tribe_operators.systems.tribe.hook import TribeCrmHook

    runs = []
    for label, dagrun in exact_story(bag, engine):
        print(f"\nDAG {dagrun.dag_id} ({label}): {dagrun.state}")
        print(render(summarise(run_counts(engine, dagrun.run_id))))
        with engine.connect() as conn:  # which key found each record Tribe already had
            found = Counter(str(row.match_keys) for row in conn.execute(
                sa.select(staging.c.match_keys).where(staging.c.run_id == dagrun.run_id,
                                                      staging.c.match_keys.is_not(None))))
        shown = {k.strip('"'): n for k, n in found.items() if k.strip('"').startswith("match:")}
        if shown:
            print("matched by " + ", ".join(f"{key.removeprefix('match:')}: {n}" for key, n in sorted(shown.items())))
        runs.append(dagrun)
    tribe = TribeCrmHook()
    for org in tribe.iter_records("Relation_Organization", filter=f"Name eq '{TRIBE_BORN}'",
                                  select=["Name", "DebtorNumber"]):
        print(f"Tribe-born customer {org['Name']}: debtor number {org['DebtorNumber']} (Exact's Code)")
    inactive = sum(1 for _ in tribe.iter_records("Product", filter="IsInactive eq true and ImportId ne null",
                                                 select=["ID"]))
    print(f"items ended in Exact → Inactive in Tribe: {inactive}")
    story, invoices = exact_invoice_story(bag, engine, f"http://127.0.0.1:{EXACT_PORT}")
    for label, dagrun, took in story:
        print(f"\nDAG {dagrun.dag_id} ({label}): {dagrun.state} in {took:.1f} s")
        for row in run_counts(engine, dagrun.run_id):
            if row["stream"] == "payments":
                print(f"  division {row['scope']}: {row['counts']}")
        runs.append(dagrun)
    outcomes["exact_invoices"] = invoice_outcomes(engine, invoices)
    for row in outcomes["exact_invoices"]:
        print(f"  {describe(row)}")
    _quarantine_report(Quarantine(engine, "exact"))
    return runs


def _odoo_act(bag: Any, engine: Any) -> list[Any]:
    from sandbox.demo_odoo import odoo_story
    from tribe_operators.reports.summary import render_counts as render
    from tribe_operators.reports.summary import summarise
    from tribe_operators.store.ledger import ExportLedger
    from tribe_operators.store.quarantine import Quarantine
    from tribe_operators.store.runs import run_counts
    from tribe_operators.systems.tribe.hook import TribeCrmHook

    story, invoices = odoo_story(bag, engine, f"http://127.0.0.1:{ODOO_PORT}")
    runs = []
    for label, dagrun in story:
        print(f"\nDAG {dagrun.dag_id} ({label}): {dagrun.state}")
        rows = run_counts(engine, dagrun.run_id)
        if dagrun.dag_id == "odoo_to_tribe":
            print(render(summarise(rows)))
        for row in rows:
            if row["stream"] == "payments":
                print(f"  legal entity {row['scope']}: {row['counts']}")
        runs.append(dagrun)
    tribe = TribeCrmHook()
    for invoice_id in invoices:
        number = tribe.get("Activity_Invoice", invoice_id).get("Number")
        for scope in ("default", "be"):
            row = ExportLedger(engine, "odoo", scope).get(invoice_id)
            if row is not None:
                print(f"  Tribe invoice {number} → Odoo {row.external_number or row.external_id} in legal entity "
                      f"{scope}: {row.state}")
    former = sum(1 for _ in tribe.iter_records("Relationship_Organization_CommercialRelationship_Customer",
                                               filter="IsFormer eq true", select=["ID"]))
    print(f"customers archived in Odoo → former customers in Tribe: {former}")
    _quarantine_report(Quarantine(engine, "odoo"))
    return runs


if __name__ == "__main__":
    sys.exit(main())
