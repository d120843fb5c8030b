"""API calls ÷ theoretical minimum for Exact Online ⇄ Tribe, as ``bench/calls.py`` measures
PowerOffice: an initial import, its reverse run (echo: nothing written back), idle runs, 1 %
changed on either side and the reverse runs — and the Exact calls of an idle day per division
(Exact allows 5,000 a day per app and division; the target is ≤ 500, 10 %).

The real DAGs (``exact_to_tribe``, ``tribe_to_exact``) run with ``dag.test()`` against the Tribe
and Exact simulators (in this process; Exact's minute widened so the bench does not wait out
real minutes — its counts, not its pace, are measured here). Exact's calls are counted by the
simulator per endpoint; token calls are reported apart. A sync endpoint gives 1,000 rows a call.

The idle day is projected from measured idle runs: 24 hourly imports and 288 five-minute safety
polls of the export (an idle export reads only Tribe), i.e. 24 × the import's idle Exact calls
+ 288 × the export's.
"""
from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from bench._support import ROOT, ensure_path, isolate_airflow, scratch_database
from bench.calls import _migrate_airflow, measure_phase, report

IDLE_DAY_TARGET = 500


class _ExactCalls:
    """The Exact simulator's counters in the shape ``bench.calls`` reads (token calls named so)."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def counters(self) -> dict[str, Any]:
        counted = self.state.counters()
        return {"calls": {**counted["requests"], "POST oauth2/token": counted["token_calls"]}}


def _seed(exact: Any, division: int, n: int) -> None:
    from faker import Faker

    fake = Faker("nl_NL")
    fake.seed_instance(7)
    for i in range(n):
        exact.insert(division, "crm/Accounts", {
            "Name": f"{fake.company()} {i}", "Status": "C", "IsSupplier": i % 10 == 0, "Blocked": False,
            "AddressLine1": f"{fake.street_name()} {i % 200 + 1}", "Postcode": fake.postcode(), "City": fake.city(),
            "Country": "NL", "Email": f"info{i}@bedrijf{i}.nl"})


def run(quick: bool = False, n: int | None = None) -> dict[str, Any]:
    isolate_airflow()
    ensure_path()
    from airflow.dag_processing.dagbag import DagBag
    from cryptography.fernet import Fernet

    from sandbox.common.server import ServerThread
    from sandbox.exact.clients import REDIRECT_URI, ExactServer
    from sandbox.exact.entities import SPECS
    from sandbox.exact.seed import NL
    from sandbox.tribe import TribeState
    from sandbox.tribe import create_app as tribe_app
    from tests.fixtures.postgres import airflow_conn_uri
    from tests.fixtures.simulators import connection_env

    n = n or (1_500 if quick else 10_000)
    _migrate_airflow()
    tribe = TribeState(rate_limit=0)
    phases: list[dict[str, Any]] = []
    with ServerThread(tribe_app(tribe)) as t, ExactServer(minutely_limit=100_000) as exact, \
            scratch_database("calls_exact") as (engine, url):
        _seed(exact.state, NL, n)
        os.environ.update(connection_env(t.url, "http://127.0.0.1:9"))
        os.environ["AIRFLOW_CONN_TRIBE_SYNC_DB"] = airflow_conn_uri(url)
        os.environ["AIRFLOW__CORE__FERNET_KEY"] = Fernet.generate_key().decode()
        os.environ["AIRFLOW_CONN_EXACT_DEFAULT"] = json.dumps({
            "conn_type": "exact_online", "host": exact.url, "login": exact.state.client_id,
            "password": exact.state.client_secret,
            "extra": {"division": NL, "redirect_uri": REDIRECT_URI, "calls_per_minute": 100_000}})
        from sandbox.demo_exact import authorize_once

        authorize_once(engine)
        sims = {"tribe": tribe, "exact": _ExactCalls(exact.state)}
        bag = DagBag(dag_folder=str(ROOT / "dags"))
        dags = {"Exact → Tribe": bag.dags["exact_to_tribe"], "Tribe → Exact": bag.dags["tribe_to_exact"]}
        offset = timedelta(0)

        def phase(label: str, direction: str) -> dict[str, Any]:
            nonlocal offset
            offset += timedelta(hours=1)
            accounts = len(exact.state.store.table(NL, "crm/Accounts"))
            sizes = {("tribe", "Datastore_Country"): len(tribe.all("Datastore_Country")),
                     ("tribe", "Datastore_Unit"): len(tribe.all("Datastore_Unit")),
                     ("tribe", "Relation_Organization"): len(tribe.all("Relation_Organization")),
                     ("exact", "crm/Accounts"): accounts}
            phases.append(measure_phase(dags[direction], datetime.now(UTC) + offset, sims, engine, sizes, "exact",
                                        label, direction))
            return phases[-1]

        phase(f"initial import ({n:,} accounts)", "Exact → Tribe")
        phase("first reverse run after the import (echo: 0 writes)", "Tribe → Exact")
        idle_import = phase("idle", "Exact → Tribe")
        idle_export = phase("idle", "Tribe → Exact")
        rows = sorted(exact.state.store.table(NL, "crm/Accounts").values(), key=lambda r: r["ID"])[::100]  # 1 %
        for i, row in enumerate(rows):
            exact.state.store.update(NL, SPECS["crm/accounts"], row, {"Phone": f"+31 20 {i:03d} 0000"},
                                     exact.state.user)
        phase(f"incremental, 1 % changed in Exact ({len(rows)})", "Exact → Tribe")
        phase("its reverse run (echo: 0 writes)", "Tribe → Exact")
        organisations = [o["ID"] for o in tribe.all("Relation_Organization") if o.get("DebtorNumber")][::100]
        for tribe_id in organisations:
            tribe.update("Relation_Organization", tribe_id, {"EmailAddress": f"nieuw-{tribe_id[:8]}@klant.nl"})
        phase(f"incremental, 1 % changed in Tribe ({len(organisations)})", "Tribe → Exact")
        phase("its reverse run (echo: 0 writes)", "Exact → Tribe")

    day = 24 * idle_import["by_system"]["exact"] + 288 * idle_export["by_system"]["exact"]
    result = report("calls_exact", phases, {"accounts": n, "quick": quick,
                                            "idle_day_exact_calls": day, "idle_day_target": IDLE_DAY_TARGET},
                    apart="token")
    print(f"  an idle day, Exact calls per division: {day} (24 × {idle_import['by_system']['exact']} hourly imports "
          f"+ 288 × {idle_export['by_system']['exact']} export polls) — target ≤ {IDLE_DAY_TARGET}")
    return result


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
