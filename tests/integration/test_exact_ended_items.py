"""An Exact item whose end date passes without an edit becomes Inactive in Tribe by the daily look
at end dates (Tribe's Exact article: "Deactivated products in Exact Online are marked as Inactive
in Tribe CRM"; issue 26: "by the poll with webhooks off").

An item given an end date ahead is imported active. Days later that date has passed, yet nothing
in Exact changed: no Timestamp, no webhook, so the sync endpoint never returns it again. Once a
day (Amsterdam) ``products`` asks ``logistics/Items`` for the items whose EndDate passed since it
last looked (``sync.ended``): one call, and the product is Inactive; a preview before it counts
the item and writes nothing; a later run that day spends no call on it (dag.test(), the Exact and
Tribe simulators, real Postgres).

Time moves for both sides: the simulator's clock, and ours where it decides what has ended (the
day the look asks for, and ``date_passed`` in the mapping), both by the same offset.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from sandbox.exact.entities import SPECS
from sandbox.exact.seed import NL
from tests.integration.test_exact_import import run
from tests.integration.test_exact_preview import trigger
from tests.integration.test_exact_relations import held, writes
from tests.integration.test_exact_tokens import chain
from tribe_operators.store.links import LinkStore
from tribe_operators.store.runs import run_counts
from tribe_operators.store.schema import watermark

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
ITEMS = "GET logistics/items"  # the entity's own endpoint: the look at end dates, and re-reads by id


def move_clocks_on(monkeypatch: Any, link_db: Any, exact: Any, ahead: timedelta) -> None:
    """Both clocks ``ahead``: the simulator's, and ours in the modules that judge "has it ended"
    (a ``datetime`` whose now() is later). The stored access token is then old, as it would be."""
    from tribe_operators.http.pacing import forget_shared_limiters
    from tribe_operators.mapping import lifecycle
    from tribe_operators.sync import ended

    later = type("Later", (datetime,), {"now": classmethod(lambda cls, tz=None: datetime.now(tz) + ahead)})
    for module in (ended, lifecycle):
        monkeypatch.setattr(module, "datetime", later)
    exact.state.advance(ahead.total_seconds())
    forget_shared_limiters()
    with chain(link_db, exact).renewing() as (current, save, _):
        now = datetime.now(UTC)
        save(current.refresh_token, current.access_token, now - timedelta(seconds=100),
             issued_at=now - timedelta(seconds=700))


def looked_until(link_db: Any) -> datetime | None:
    with link_db.connect() as conn:
        return conn.execute(sa.select(watermark.c.value).where(
            watermark.c.integration == "exact", watermark.c.entity == "products@ended")).scalar()


def steps(link_db: Any, dagrun: Any) -> dict[str, dict[str, Any]]:
    return {r["step"]: r["counts"] for r in run_counts(link_db, dagrun.run_id) if r["stream"] == "products"}


def test_an_item_whose_end_date_passes_unedited_becomes_inactive_by_the_daily_look(exact_import, world, link_db,
                                                                                   monkeypatch):
    tribe, exact = world
    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_EXACT_SETTINGS",
                       json.dumps({"enabled_streams": ["product_groups", "products"]}))
    items = exact.state.store.table(NL, "logistics/Items")
    item = next(i for i in items.values() if i["Unit"] == "stuk" and i.get("EndDate") is None)
    today = datetime.now(AMSTERDAM).date()
    # Leaves the assortment after tomorrow: set now, long before that day is over.
    exact.state.store.update(NL, SPECS["logistics/items"], item,
                             {"EndDate": datetime.combine(today + timedelta(days=1), time())})
    first = run(exact_import, 1)
    product_id = LinkStore(link_db, "exact").to_internal("product", item["ID"])
    assert product_id is not None and tribe.get("Product", product_id)["IsInactive"] is False
    # A first read reads every item: no look at end dates, no call for it.
    assert "ended" not in steps(link_db, first)["extract"] and ITEMS not in exact.state.counters()["requests"]
    assert looked_until(link_db) is not None

    # The day after tomorrow, 01:00 in Amsterdam: the end date has passed; the item is untouched.
    stamp = item["_ts"]
    moment = datetime.combine(today + timedelta(days=2), time(1), AMSTERDAM)
    move_clocks_on(monkeypatch, link_db, exact, moment - datetime.now(AMSTERDAM))
    assert items[item["ID"]]["_ts"] == stamp
    rereads = {ITEMS: 1} if held(link_db, "products") else {}  # items of units Tribe lacks, read by id
    idle = {"GET sync/logistics/items": 1, "GET logistics/itemgroups": 1, "GET sync/deleted": 1, **rereads}
    mark = looked_until(link_db)

    # A preview counts it, writes nothing, and leaves the mark where it was.
    tribe.reset_counters()
    preview = trigger(exact_import, 2, dry_run=True)
    assert steps(link_db, preview)["extract"]["ended"] == 1, steps(link_db, preview)
    assert writes(tribe) == {} and tribe.get("Product", product_id)["IsInactive"] is False
    assert looked_until(link_db) == mark

    exact.state.reset_counters()
    second = trigger(exact_import, 3, dry_run=False)  # (a DAG object keeps the last conf)
    assert tribe.get("Product", product_id)["IsInactive"] is True
    counts = steps(link_db, second)
    assert counts["extract"]["ended"] == 1 and counts["load"]["updated"] == 1, counts
    # Exactly one call more than an idle run: the look at end dates.
    assert exact.state.counters()["requests"] == {**idle, ITEMS: idle.get(ITEMS, 0) + 1}, exact.state.counters()
    assert looked_until(link_db) > mark

    # Later that day: looked today already, no call for it.
    exact.state.reset_counters()
    third = trigger(exact_import, 4, dry_run=False)
    assert "ended" not in steps(link_db, third)["extract"]
    assert exact.state.counters()["requests"] == idle, exact.state.counters()
    assert tribe.get("Product", product_id)["IsInactive"] is True
