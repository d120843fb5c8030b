"""A messy Exact Online address book through ``exact_to_tribe`` (dag.test(), the Exact and Tribe
simulators, real Postgres), twice: every account ends where the corpus (``tests/fixtures/
messy_exact.py``) says — linked to the Tribe organisation typed by hand with the same house
written otherwise, a new organisation where "12" meets "12A" or a post-office box meets a name,
held where two organisations answer, not imported when blocked or ended — and the second run
writes nothing. Every problem found is listed, not only the first."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from sandbox.exact.entities import SPECS
from sandbox.exact.seed import NL
from sandbox.tribe.reference import ref_id
from tests.fixtures.messy_exact import ACCOUNTS, NEW, OUT, TRIBE_ORGS
from tests.integration.test_exact_import import run
from tribe_operators.store.links import LinkStore
from tribe_operators.store.quarantine import Quarantine
from tribe_operators.store.runs import run_counts

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
ENTITY = {"customers": "customer", "suppliers": "supplier"}
ROLE_SETS = {"customers": "Relationship_Organization_CommercialRelationship_Customer",
             "suppliers": "Relationship_Organization_Supplier"}
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def seed_tribe(tribe: Any) -> dict[str, str]:
    """The organisations typed by hand (no Exact ID, no number); their Tribe ids by label."""
    ids = {}
    for label, (name, postcode, number, suffix, country) in TRIBE_ORGS.items():
        address = {"Street": "getypt", "Postalcode": postcode, "HouseNumber": number, "HouseNumberSuffix": suffix,
                   "Country": {"ID": ref_id("Datastore_Country", country)}}
        ids[label] = tribe.insert("Relation_Organization", {"Name": name, "InvoiceAddress": address})["ID"]
    return ids


def seed_exact(exact: Any) -> dict[str, str]:
    """The corpus's accounts (the seed's own blocked: out of this test); their Exact ids by label."""
    spec = SPECS["crm/accounts"]
    for row in list(exact.state.store.table(NL, "crm/Accounts").values()):
        exact.state.store.update(NL, spec, row, {"Blocked": True})
    today = exact.state.wall_now().replace(hour=0, minute=0, second=0, microsecond=0)
    ids = {}
    for account in ACCOUNTS:
        vals = {k: v for k, v in account.vals.items() if k not in ("ended", "ends_later")}
        if account.vals.get("ended"):
            vals["EndDate"] = today - timedelta(days=40)
        if account.vals.get("ends_later"):
            vals["EndDate"] = today + timedelta(days=30)
        ids[account.label] = exact.state.insert(NL, "crm/Accounts", vals)["ID"]
    return ids


def problems(tribe: Any, link_db: Any, accounts: dict[str, str], typed: dict[str, str]) -> list[str]:
    """Every account whose outcome is not the corpus's, named."""
    links, quarantine = LinkStore(link_db, "exact"), Quarantine(link_db, "exact")
    open_ = {stream: {q["record_id"]: q for q in quarantine.open(stream)} for stream in ENTITY}
    found: list[str] = []
    for account in ACCOUNTS:
        account_id = accounts[account.label]
        for stream, entity in ENTITY.items():
            tid = links.to_internal(entity, account_id)
            wanted = account.expect.get(stream)
            q = open_[stream].get(account_id)
            if wanted is None or wanted == OUT:  # not this role, or inactive: nothing at all
                if tid is not None or q is not None:
                    found.append(f"{account.label}/{stream}: expected nothing, got link {tid} / held {q and q['reason']}")
                continue
            if wanted[0] == "held":
                if tid is not None or q is None or wanted[2] not in q["reason"] or q["field"] != wanted[1]:
                    found.append(f"{account.label}/{stream}: expected held ({wanted[1]}: {wanted[2]}), got link {tid} "
                                 f"/ {q and (q['field'], q['reason'])}")
                continue
            if q is not None or tid is None:
                found.append(f"{account.label}/{stream}: expected {wanted}, got link {tid} / held {q and q['reason']}")
                continue
            if wanted == NEW and tid in typed.values():
                found.append(f"{account.label}/{stream}: expected a new organisation, linked to a typed one {tid}")
            if wanted[0] == "tribe" and tid != typed[wanted[1]]:
                found.append(f"{account.label}/{stream}: expected {wanted[1]} ({typed[wanted[1]]}), got {tid}")
            roles = [r for r in tribe.all(ROLE_SETS[stream]) if r["Organization"] == tid]
            if len(roles) != 1:
                found.append(f"{account.label}/{stream}: {len(roles)} {stream} relationships on {tid}")
        if account.lands:
            tid = next(t for t in (links.to_internal(e, account_id) for e in ENTITY.values()) if t)
            record = tribe.get("Relation_Organization", tid)
            address = tribe.get("Address", record["InvoiceAddress"]) if record.get("InvoiceAddress") else {}
            got = {k: address.get(k) for k in account.lands}
            if got != account.lands and not any(w[0] == "held" for w in account.expect.values()):
                found.append(f"{account.label}: lands with {got}, expected {account.lands}")
    return found


def test_the_messy_exact_book_lands_where_the_corpus_says(exact_import, world, link_db, monkeypatch):
    tribe, exact = world
    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_EXACT_SETTINGS", json.dumps({"enabled_streams": ["customers",
                                                                                               "suppliers"]}))
    typed = seed_tribe(tribe)
    accounts = seed_exact(exact)
    first = run(exact_import, 1)
    assert problems(tribe, link_db, accounts, typed) == []
    names = [o["Name"] for o in tribe.all("Relation_Organization")]
    for account in ACCOUNTS:  # nothing of an inactive account reaches Tribe
        if OUT in account.expect.values():
            assert account.vals["Name"] not in names, account.label
    # "12" and "12A" are two organisations; the typed one at 12 is untouched but for the link.
    fietsen = [o for o in tribe.all("Relation_Organization") if o["Name"] == "Fietsenmaker Molen"]
    assert len(fietsen) == 2
    # The ended account is read and counted out of scope in both roles; the blocked one is not read.
    steps = {(r["stream"], r["step"]): r["counts"] for r in run_counts(link_db, first.run_id)}
    assert steps[("customers", "map")]["out_of_scope"] == steps[("suppliers", "map")]["out_of_scope"] == 1, steps
    tribe.reset_counters()
    run(exact_import, 2)
    assert problems(tribe, link_db, accounts, typed) == []
    written = {c: n for c, n in tribe.counters()["calls"].items() if c.startswith(WRITES) and "oauth2" not in c}
    assert written == {}, written
