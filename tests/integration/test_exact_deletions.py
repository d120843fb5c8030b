"""Deleted in Exact Online: the link goes, the Tribe organisation stays (Tribe's help article:
"Deleting data in Tribe CRM does not remove it from Exact Online, and vice versa"). Read from
Exact's ``sync/Deleted`` after its own cursor (one call an idle run), through the real source
adapter against the simulator, on the links an ``exact_to_tribe`` run bound."""
from __future__ import annotations

import json
from typing import Any

import pytest

from sandbox.exact.entities import SPECS
from sandbox.exact.seed import NL
from tests.integration.test_exact_import import imported, run
from tribe_operators.store.links import LinkStore
from tribe_operators.store.watermarks import Cursors

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]


def forget(link_db: Any, *, dry_run: bool = False) -> dict[str, int]:
    from tribe_operators.mapping.settings import load_settings
    from tribe_operators.mapping.spec import load_stream
    from tribe_operators.registry import get_system
    from tribe_operators.sync.deletions import forget_deleted

    settings = load_settings("exact")
    source = get_system("exact").adapter("source", None, {**settings["scopes"]["default"], "name": "default"}, settings)
    streams = [load_stream("exact", "customers")]
    return forget_deleted(link_db, "exact", "default", source, streams, run_id="test", dry_run=dry_run)


def test_an_account_deleted_in_exact_loses_its_link_and_its_organisation_stays(exact_import, world, link_db,
                                                                              monkeypatch):
    tribe, exact = world
    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_EXACT_SETTINGS", json.dumps({"enabled_streams": ["customers"]}))
    run(exact_import, 1)
    orgs = imported(tribe)
    links = LinkStore(link_db, "exact")
    gone = next(i for i in orgs if links.to_internal("customer", i) is not None)
    tribe_id = links.to_internal("customer", gone)
    assert forget(link_db)["unlinked"] == 0  # nothing deleted yet (the seed's own deletions are not ours)
    exact.state.store.delete(NL, SPECS["crm/accounts"], gone)
    exact.state.reset_counters()

    preview = forget(link_db, dry_run=True)
    assert preview["unlinked"] >= 1 and links.to_internal("customer", gone) == tribe_id  # a dry run drops nothing
    counts = forget(link_db)
    assert counts["deleted"] >= 1 and counts["unlinked"] >= 1, counts
    assert links.to_internal("customer", gone) is None
    assert links.to_internal("customer_relationship", gone) is None
    assert tribe.get("Relation_Organization", tribe_id) is not None  # deleting never propagates
    assert Cursors(link_db, "exact").get("deleted", "import") == counts["cursor"] > 0
    assert exact.state.counters()["requests"] == {"GET sync/deleted": 2}  # one call each, the dry run's too
    exact.state.reset_counters()
    assert forget(link_db) == {"deleted": 0, "unlinked": 0, "cursor": counts["cursor"]}  # idle: one call
    assert exact.state.counters()["requests"] == {"GET sync/deleted": 1}


def test_the_import_forgets_what_exact_deleted(exact_import, world, link_db, monkeypatch):
    """The same through ``exact_to_tribe`` (its ``forget_deleted`` task, per division)."""
    tribe, exact = world
    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_EXACT_SETTINGS", json.dumps({"enabled_streams": ["customers"]}))
    run(exact_import, 1)
    links = LinkStore(link_db, "exact")
    gone = next(i for i in imported(tribe) if links.to_internal("customer", i) is not None)
    tribe_id = links.to_internal("customer", gone)
    exact.state.store.delete(NL, SPECS["crm/accounts"], gone)
    run(exact_import, 2)
    assert links.to_internal("customer", gone) is None
    assert tribe.get("Relation_Organization", tribe_id) is not None
