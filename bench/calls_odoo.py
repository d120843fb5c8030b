"""API calls ÷ theoretical minimum for Odoo ⇄ Tribe, as ``bench/calls.py`` measures PowerOffice:
an initial import, its reverse run (echo: nothing written back), idle runs, 1 % changed on
either side and the reverse runs. Target ≤ 1.05; an idle run is one read per stream per side.

The real DAGs (``odoo_to_tribe``, ``tribe_to_odoo``) run with ``dag.test()`` against the Tribe
and Odoo simulators (in this process, rate limits off, no faults). Odoo's calls are counted by
the simulator per ``model.method``; the session's handshake (server version, login and the
model's ``fields_get``, once per task) is reported apart, like token calls.
"""
from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from bench._support import ROOT, ensure_path, isolate_airflow, scratch_database
from bench.calls import _migrate_airflow, measure_phase, report


def _seed(odoo: Any, n: int) -> None:
    """``n`` customer companies (one in five with a contact) and ``n // 10`` individual customers."""
    from faker import Faker

    fake = Faker("nl_NL")
    fake.seed_instance(5)
    nl = odoo.search("res.country", [["code", "=", "NL"]])[0]
    for i in range(n):
        company = odoo.insert("res.partner", {
            "name": f"{fake.company()} {i}", "is_company": True, "customer_rank": 1, "ref": f"D{10000 + i}",
            "street": fake.street_address(), "zip": fake.postcode(), "city": fake.city(), "country_id": nl,
            "email": f"info{i}@bedrijf{i}.nl", "phone": fake.phone_number()})
        if i % 5 == 0:
            odoo.insert("res.partner", {"name": f"{fake.first_name()} {fake.last_name()}", "parent_id": company,
                                        "type": "contact", "email": f"contact{i}@bedrijf{i}.nl"})
    for i in range(n // 10):
        odoo.insert("res.partner", {"name": f"{fake.first_name()} {fake.last_name()}", "customer_rank": 1,
                                    "ref": f"P{10000 + i}", "country_id": nl, "email": f"klant{i}@example.nl"})


def run(quick: bool = False, n: int | None = None) -> dict[str, Any]:
    isolate_airflow()
    ensure_path()
    from airflow.dag_processing.dagbag import DagBag

    from sandbox.common.server import ServerThread
    from sandbox.odoo import OdooState
    from sandbox.odoo import create_app as odoo_app
    from sandbox.tribe import TribeState
    from sandbox.tribe import create_app as tribe_app
    from tests.fixtures.postgres import airflow_conn_uri
    from tests.fixtures.simulators import connection_env, odoo_connection_env

    n = n or (300 if quick else 2_000)
    _migrate_airflow()
    tribe, odoo = TribeState(rate_limit=0), OdooState(version=17, check_vat=False)
    _seed(odoo, n)
    sims = {"tribe": tribe, "odoo": odoo}
    phases: list[dict[str, Any]] = []
    with ServerThread(tribe_app(tribe)) as t, ServerThread(odoo_app(odoo)) as o, \
            scratch_database("calls_odoo") as (engine, url):
        os.environ.update({**connection_env(t.url, "http://127.0.0.1:9"), **odoo_connection_env(o.url, odoo.db)})
        os.environ["AIRFLOW_CONN_TRIBE_SYNC_DB"] = airflow_conn_uri(url)
        bag = DagBag(dag_folder=str(ROOT / "dags"))
        dags = {"Odoo → Tribe": bag.dags["odoo_to_tribe"], "Tribe → Odoo": bag.dags["tribe_to_odoo"]}
        offset = timedelta(0)

        def phase(label: str, direction: str) -> None:
            nonlocal offset
            step = timedelta(days=1) if direction == "Odoo → Tribe" else timedelta(minutes=20)
            offset += step
            for state in sims.values():
                state.clock.advance(step.total_seconds())
            sizes = {("tribe", "Datastore_Country"): len(tribe.all("Datastore_Country")),
                     ("tribe", "Relation_Organization"): len(tribe.all("Relation_Organization")),
                     ("tribe", "Relation_Person"): len(tribe.all("Relation_Person")),
                     ("tribe", "Relationship_Person_Contact_Standard"):
                         len(tribe.all("Relationship_Person_Contact_Standard")),
                     ("odoo", "res.partner"): odoo.store.count("res.partner"), ("odoo", "res.country"): 1}
            phases.append(measure_phase(dags[direction], datetime.now(UTC) + offset, sims, engine, sizes, "odoo",
                                        label, direction))

        phase(f"initial import ({n:,} companies)", "Odoo → Tribe")
        phase("first reverse run after the import (echo: 0 writes)", "Tribe → Odoo")
        phase("idle", "Odoo → Tribe")
        phase("idle", "Tribe → Odoo")
        changed = odoo.search("res.partner", [["is_company", "=", True], ["customer_rank", ">", 0]])[::100]  # 1 %
        for pid in changed:
            odoo.call("res.partner", "write", [pid], {"phone": f"+31 20 {pid % 1000:03d} 0000"})
        phase(f"incremental, 1 % changed in Odoo ({len(changed)})", "Odoo → Tribe")
        phase("its reverse run (echo: 0 writes)", "Tribe → Odoo")
        organisations = [o["ID"] for o in tribe.all("Relation_Organization") if o.get("DebtorNumber")][::100]
        for tribe_id in organisations:
            tribe.update("Relation_Organization", tribe_id, {"EmailAddress": f"nieuw-{tribe_id[:8]}@klant.nl"})
        phase(f"incremental, 1 % changed in Tribe ({len(organisations)})", "Tribe → Odoo")
        phase("its reverse run (echo: 0 writes)", "Odoo → Tribe")

    return report("calls_odoo", phases, {"companies": n, "quick": quick}, apart="token / handshake")

if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
