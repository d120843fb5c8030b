"""The initial import for a date range (Tribe's Exact article, "Import screen"), end to end
(dag.test(), the Exact and Tribe simulators, real Postgres): a run with from/to reads the records
*modified* in that range from Exact's bulk endpoints (not the sync endpoint after the cursor),
customers and suppliers still in one read; its preview counts what the import then does; the
sync cursors stay where they were. The stream's conditions reach Exact's ``$filter`` on such
reads. And consecutive ranges across the autumn clock change (25 Oct 2026, 02:00–03:00 Amsterdam
lived twice: Exact's ``Modified`` is wall time) lose nothing, a record read twice writing nothing
the second time."""
from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus
from zoneinfo import ZoneInfo

import pytest

from sandbox.exact.entities import SPECS
from sandbox.exact.seed import NL
from tests.integration.test_exact_import import imported
from tests.integration.test_exact_preview import promised, trigger
from tests.integration.test_exact_relations import accounts, writes
from tribe_operators.store.runs import run_counts
from tribe_operators.store.watermarks import Cursors

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
AMS = ZoneInfo("Europe/Amsterdam")
STREAMS = ["customers", "suppliers", "contacts"]


def settings(monkeypatch: Any, **extra: Any) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_EXACT_SETTINGS", json.dumps({"enabled_streams": STREAMS, **extra}))


def wall(moment: datetime) -> datetime:
    """A moment as the naive Amsterdam wall time Exact stamps ``Modified`` with."""
    return moment.astimezone(AMS).replace(tzinfo=None, fold=0)


def stamp(exact: Any, path: str, ids: list[str], modified: datetime) -> None:
    table = exact.state.store.table(NL, path)
    for record_id in ids:
        table[record_id]["Modified"] = modified


def steps(link_db: Any, dagrun: Any) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["stream"], r["step"]): r["counts"] for r in run_counts(link_db, dagrun.run_id)}


def test_a_date_range_reads_what_was_modified_in_it_and_the_preview_counts_what_the_import_does(
        exact_import, world, link_db, monkeypatch):
    tribe, exact = world
    settings(monkeypatch)
    now = datetime.now(UTC)
    # In the range: five accounts (one both customer and supplier, one a supplier only, one
    # blocked) and their contacts, modified two days ago; everything else was modified just now.
    chosen = [a for a in accounts(exact).values() if a["Name"] in (
        "Bakkerij van der Berg", "De Vries Installatietechniek B.V.", "Van den Heuvel & Zn.",
        "'t Hooghe Huys Catering", "Ter Horst Logistiek")]
    contacts = [c["ID"] for c in exact.state.store.table(NL, "crm/Contacts").values()
                if c["Account"] in {a["ID"] for a in chosen}]
    for account in chosen:  # the seed's random VAT numbers fail the check: not what is tested here
        exact.state.store.update(NL, SPECS["crm/accounts"], account, {"VATNumber": None})
    stamp(exact, "crm/Accounts", [a["ID"] for a in chosen], wall(now - timedelta(days=2)))
    stamp(exact, "crm/Contacts", contacts, wall(now - timedelta(days=2)))
    cursors = Cursors(link_db, "exact")
    for stream in STREAMS:  # where earlier scheduled runs left off
        cursors.advance(stream, "import", 7, "earlier")
    window = {"from_date": (now - timedelta(days=3)).isoformat(), "to_date": (now - timedelta(days=1)).isoformat()}

    exact.state.reset_counters()
    preview = trigger(exact_import, 1, dry_run=True, **window)
    assert writes(tribe) == {}
    said = promised(link_db, preview)
    calls = exact.state.counters()["requests"]
    # Read by Modified from the bulk endpoints, the accounts once for both roles; no sync read.
    assert calls.get("GET bulk/crm/accounts") == 1 and calls.get("GET bulk/crm/contacts") == 1, calls
    assert not any(c.startswith("GET sync/crm") for c in calls), calls

    exact.state.reset_counters()
    done = trigger(exact_import, 2, dry_run=False, **window)
    assert promised(link_db, done) == said
    counts = steps(link_db, done)
    live = [a for a in chosen if not a["Blocked"]]
    assert counts[("customers", "extract")]["extracted"] == sum(a["Status"] == "C" for a in live) == 3
    assert counts[("suppliers", "extract")]["extracted"] == sum(bool(a["IsSupplier"]) for a in live) == 2
    assert counts[("contacts", "extract")]["extracted"] == len(contacts)
    assert said["customers"]["load.created"] + said["customers"]["load.linked"] > 0 and writes(tribe)
    assert {a["ID"] for a in live if a["Status"] == "C"} <= set(imported(tribe))
    assert len(imported(tribe)) == len(live)  # nothing modified outside the range
    assert all(cursors.get(stream, "import") == 7 for stream in STREAMS)  # neither moved on nor back
    assert not any(c.startswith("GET sync/crm") for c in exact.state.counters()["requests"])


def test_a_filter_reaches_exacts_filter_and_fewer_rows_come_back(world, link_db, monkeypatch, caplog):
    """The settings' ``filters.customers`` (a name with a quote) on a read by Modified and on a
    read by id: sent in ``$filter`` (the URL the client sent), so Exact answers with fewer rows —
    fewer pages at five rows a page."""
    from tribe_operators.mapping.filters import conditions_for
    from tribe_operators.mapping.settings import load_settings
    from tribe_operators.mapping.spec import load_stream
    from tribe_operators.registry import get_system

    _, exact = world
    bakery = exact.state.insert(NL, "crm/Accounts", {"Name": "O'Brien Bakkerij", "Status": "C", "Country": "NL",
                                                     "AddressLine1": "Kerkstraat 1", "Postcode": "3511 AB"})
    other = next(a for a in accounts(exact).values() if a["Status"] == "C" and not a["Blocked"])
    settings(monkeypatch, filters={"customers": [{"field": "Name", "value": "O'Brien Bakkerij"}]})
    filtered = load_settings("exact")
    source = get_system("exact").adapter("source", None, {**filtered["scopes"]["default"], "name": "default"}, filtered)
    spec = load_stream("exact", "customers")
    exact.state.options.update({"bulk_page_size": 5})

    every = [row for page in source.extract(spec, None, None, where=conditions_for(spec, {**filtered, "filters": {}}))
             for row in page]
    unfiltered = exact.state.counters()["requests"]["GET bulk/crm/accounts"]
    exact.state.reset_counters()
    with caplog.at_level(logging.DEBUG, logger="urllib3.connectionpool"):
        wanted = [row for page in source.extract(spec, None, None, where=conditions_for(spec, filtered))
                  for row in page]
        by_id = source.fetch(spec, [bakery["ID"], other["ID"]], where=conditions_for(spec, filtered))
    sent = [unquote_plus(r.getMessage()) for r in caplog.records if "/api/v1/" in r.getMessage()]
    assert [r[0] for r in wanted] == [r[0] for r in by_id] == [bakery["ID"]]
    assert len(every) > 5 and unfiltered >= 2
    assert exact.state.counters()["requests"] == {"GET bulk/crm/accounts": 1, "GET crm/accounts": 1}
    assert len(sent) == 2 and all("trim(Name) eq 'O''Brien Bakkerij'" in url for url in sent), sent
    assert "trim(Status) eq 'C'" in sent[0]  # the mapping's own conditions too
    # Blocked is no field Exact lists as filterable on accounts: checked here only (a 400 counts).
    assert all("Blocked" not in url.split("$filter=")[1] for url in sent), sent


def test_consecutive_ranges_across_the_autumn_clock_change_lose_nothing(exact_import, world, link_db, monkeypatch):
    """Hourly ranges read as the clock runs, around 01:00 UTC on 25 Oct 2026 (03:00 summer time →
    02:00 winter time). Bound by bound, (00:30, 01:30] UTC is 02:30–02:30 wall and reads nothing,
    and (01:30, 02:30] starts at 02:30 wall: the account made at 01:15 UTC, stamped 02:15 in the
    second pass, would never be read. Each account is made just before the range it falls in is
    read; the one read by both ranges (the widened one and the next) writes nothing the second time."""
    tribe, exact = world
    monkeypatch.setenv("AIRFLOW_VAR_TRIBE_SYNC_EXACT_SETTINGS", json.dumps({"enabled_streams": ["customers"]}))
    change = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)
    made: dict[str, str] = {}

    def make(name: str, at_hours: float) -> None:
        account = exact.state.insert(NL, "crm/Accounts", {"Name": name, "Status": "C", "Country": "NL",
                                                          "AddressLine1": f"Klokstraat {len(made) + 1}"})
        stamp(exact, "crm/Accounts", [account["ID"]], wall(change + timedelta(hours=at_hours)))
        made[name] = account["ID"]

    def read(after_hours: float, hours_ahead: int) -> dict[str, Any]:
        since, until = (change + timedelta(hours=after_hours + h) for h in (0, 1))
        tribe.reset_counters()
        dagrun = trigger(exact_import, hours_ahead, from_date=since.isoformat(), to_date=until.isoformat())
        counts = steps(link_db, dagrun)
        return {**counts[("customers", "extract")], **counts[("customers", "load")], "writes": writes(tribe)}

    make("Zomertijd Kwart voor Drie", -0.25)  # 00:45 UTC, 02:45 summer time
    make("Wintertijd Kwart over Twee", 0.25)  # 01:15 UTC, 02:15 winter time
    first = read(-0.5, 1)  # (00:30, 01:30] UTC: every wall time of 02:00–03:00
    make("Wintertijd Kwart voor Drie", 0.75)  # 01:45 UTC, 02:45 winter time
    second = read(0.5, 2)  # (01:30, 02:30] UTC: 02:30–03:30 wall

    assert set(made.values()) <= set(imported(tribe)), made
    assert (first["extracted"], first["created"]) == (2, 2), first
    # 02:45 summer time read again beside 02:45 winter time: only the new one is written
    assert (second["extracted"], second["created"], second.get("updated", 0)) == (2, 1, 0), second
    assert not any(c.startswith(("PUT", "PATCH", "DELETE")) for c in second["writes"]), second["writes"]
