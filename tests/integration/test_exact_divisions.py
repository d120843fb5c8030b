"""``exact_to_tribe`` over two divisions (dag.test(), the Exact and Tribe simulators, real
Postgres): one mapped task group per division of the settings, each with its own links,
staging, sync cursors and counts; a record never crosses divisions.

The decision (the seed and Exact's reference say nothing of several divisions): **each
division's accounts are their own Tribe organisations**. Exact numbers accounts per division
(the Dutch and the Belgian division both have a debtor 1, "Bakkerij van der Berg" at
Kerkstraat 12 A, 1012 AB, in the simulator's seed), so a debtor number says nothing across
divisions, and one organisation fed by two divisions would have its number, address and
relationships overwritten by each in turn. A match by number or by name + address never lands
on an organisation another division links (``operators.scopes.OtherScopesHidden``)."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from sandbox.exact.entities import SPECS
from sandbox.exact.seed import BE, NL
from tests.integration.test_exact_import import imported, run
from tribe_operators.store.links import LinkStore
from tribe_operators.store.runs import run_counts
from tribe_operators.store.schema import staging
from tribe_operators.store.watermarks import Cursors

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
BELGIAN = {"be": {"key": str(BE), "title": "Tribe Demo BV (België)"}}
STREAMS = ("customers", "suppliers", "contacts", "products")  # the streams read by a sync cursor


def settings(monkeypatch: Any, **patch: Any) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_EXACT_SETTINGS", json.dumps(patch))


def by_scope(link_db: Any, dagrun: Any) -> dict[str, dict[tuple[str, str], dict[str, Any]]]:
    out: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    for r in run_counts(link_db, dagrun.run_id):
        out.setdefault(r["scope"], {})[(r["stream"], r["step"])] = r["counts"]
    return out


def staged_scopes(link_db: Any, dagrun: Any) -> dict[str, set[str]]:
    """``{scope: source ids staged}`` of a run."""
    with link_db.connect() as conn:
        rows = conn.execute(sa.select(staging.c.scope, staging.c.source_id).where(staging.c.run_id == dagrun.run_id))
        out: dict[str, set[str]] = {}
        for scope, source_id in rows:
            out.setdefault(scope, set()).add(source_id)
    return out


def accounts(exact: Any, division: int) -> dict[str, dict[str, Any]]:
    return dict(exact.state.store.table(division, "crm/Accounts"))


@pytest.fixture
def two_divisions(world):
    """The seed's own accounts of both divisions without their random VAT numbers (they fail
    the check; not what is tested here): the Belgian division's first accounts are the Dutch
    ones' twins — same name, code, postcode and house number."""
    tribe, exact = world
    for division in (NL, BE):
        for row in list(accounts(exact, division).values())[:8]:
            exact.state.store.update(division, SPECS["crm/accounts"], row, {"VATNumber": None})
    return tribe, exact


def test_each_division_has_its_own_links_staging_cursors_and_counts(exact_import, two_divisions, link_db, monkeypatch):
    tribe, exact = two_divisions
    # The Dutch division alone first, then the Belgian one joins (the order a customer adds them).
    settings(monkeypatch)
    first = run(exact_import, 1)
    nl_links = {e: LinkStore(link_db, "exact").bulk_to_internal(e, accounts(exact, NL)) for e in ("customer", "supplier")}
    assert nl_links["customer"], "the Dutch customers arrive"
    assert set(by_scope(link_db, first)) == {"default"}

    settings(monkeypatch, scopes=BELGIAN)
    exact.state.reset_counters()
    second = run(exact_import, 2)
    counts = by_scope(link_db, second)
    assert set(counts) == {"default", "be"}
    # Each division read its own endpoint: the Dutch one idle (one sync call a stream and the
    # re-reads of what it holds), the Belgian one its first import.
    for stream in STREAMS:
        assert counts["default"][(stream, "load")]["created"] == 0, (stream, counts["default"])
    assert counts["be"][("customers", "load")]["created"] > 0
    assert {k for k in exact.state.counters()["by_division"]} == {str(NL), str(BE)}
    # Staging: the Belgian rows are the Belgian division's records, under its own scope.
    staged = staged_scopes(link_db, second)
    be_ids = {str(i) for path in ("crm/Accounts", "crm/Contacts", "logistics/Items", "logistics/ItemGroups")
              for i in exact.state.store.table(BE, path)}
    assert staged["be"] and staged["be"] <= be_ids and not staged["be"] & staged.get("default", set())
    # Cursors: one per division and stream, each where its own division's Timestamps are.
    for stream in STREAMS:
        nl, be = (Cursors(link_db, "exact", s).get(stream, "import") for s in ("default", "be"))
        assert nl is not None and be is not None, stream
    be_accounts = accounts(exact, BE)
    assert Cursors(link_db, "exact", "be").get("customers", "import") == max(r["_ts"] for r in be_accounts.values())
    # Links: the Belgian accounts are bound in the Belgian scope only, each to an organisation of its own.
    be_links = {e: LinkStore(link_db, "exact", "be").bulk_to_internal(e, be_accounts) for e in ("customer", "supplier")}
    assert be_links["customer"] and set(be_links["customer"]) <= set(be_accounts)
    assert not LinkStore(link_db, "exact").bulk_to_internal("customer", be_accounts)
    nl_orgs = {*nl_links["customer"].values(), *nl_links["supplier"].values()}
    be_orgs = {*be_links["customer"].values(), *be_links["supplier"].values()}
    assert not nl_orgs & be_orgs, "an organisation linked by both divisions"
    orgs = imported(tribe)
    assert {orgs[a]["ID"] for a in be_links["customer"]} == set(be_links["customer"].values())


def test_a_twin_account_in_the_other_division_never_takes_the_first_ones_organisation(exact_import, two_divisions,
                                                                                     link_db, monkeypatch):
    """'Bakkerij van der Berg', debtor 1, Kerkstraat 12 A, 1012 AB, in both divisions: the
    number and the name + address find the Dutch one's organisation, which is the Dutch
    division's; the Belgian account gets its own."""
    tribe, exact = two_divisions
    settings(monkeypatch)
    run(exact_import, 1)
    settings(monkeypatch, scopes=BELGIAN)
    second = run(exact_import, 2)
    twins = {d: next(a for a in accounts(exact, d).values() if a["Name"] == "Bakkerij van der Berg") for d in (NL, BE)}
    assert twins[NL]["Code"] == twins[BE]["Code"] and twins[NL]["Postcode"] == twins[BE]["Postcode"]
    nl_org = LinkStore(link_db, "exact").to_internal("customer", twins[NL]["ID"])
    be_org = LinkStore(link_db, "exact", "be").to_internal("customer", twins[BE]["ID"])
    assert nl_org and be_org and nl_org != be_org
    assert LinkStore(link_db, "exact", "be").to_external("customer", nl_org) is None
    orgs = imported(tribe)
    assert orgs[twins[BE]["ID"]]["ID"] == be_org and orgs[twins[NL]["ID"]]["ID"] == nl_org
    assert by_scope(link_db, second)["be"][("customers", "load")]["matched"] == 0


def test_a_webhook_run_reads_only_the_division_that_sent_it(exact_import, two_divisions, link_db, monkeypatch):
    tribe, exact = two_divisions
    settings(monkeypatch, scopes=BELGIAN)
    exact.state.reset_counters()
    dagrun = exact_import.test(logical_date=datetime.now(UTC) + timedelta(hours=1),
                               run_conf={"scope": "be", "division": BE, "topic": "Accounts", "action": "Update",
                                         "entity_type": "Accounts", "entity_id": "x"})
    assert str(dagrun.state).endswith("success"), dagrun.state
    assert set(exact.state.counters()["by_division"]) == {str(BE)}
    assert set(by_scope(link_db, dagrun)) == {"be"}
    assert LinkStore(link_db, "exact", "be").count("customer") > 0 and LinkStore(link_db, "exact").count() == 0
