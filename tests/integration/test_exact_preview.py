"""The initial import's count first (Tribe's Exact article, "Import screen": pick the date range,
"Tribe will show the number of records to be imported"): a preview run (``dry_run``) of
``exact_to_tribe`` over a date range says per stream how many records the import would read,
create, link and quarantine; it writes nothing (no Tribe write, no link, no cursor, no
quarantine); it reads each stream once, 1,000 records a call; and the import of the same range
then does exactly what it said (dag.test(), the Exact and Tribe simulators, real Postgres)."""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.test_exact_relations import writes
from tribe_operators.reports.summary import note_text, read_report
from tribe_operators.store.links import LinkStore
from tribe_operators.store.quarantine import Quarantine
from tribe_operators.store.runs import run_counts
from tribe_operators.store.watermarks import Cursors

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
STREAMS = ("customers", "suppliers", "contacts", "product_groups", "products")
CURSORED = ("customers", "suppliers", "contacts", "products")
# What a preview promises, per stream: read, and what becomes of them.
PROMISED = {("extract", "extracted"), ("map", "quarantined"), ("map", "out_of_scope"), ("dedupe", "quarantined"),
            ("load", "created"), ("load", "updated"), ("load", "linked"), ("load", "skipped")}


def trigger(dag: Any, hours_ahead: float, **conf: Any) -> Any:
    dagrun = dag.test(logical_date=datetime.now(UTC) + timedelta(hours=hours_ahead), run_conf=conf)
    assert str(dagrun.state).endswith("success"), dagrun.state
    return dagrun


def promised(link_db: Any, dagrun: Any) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for r in run_counts(link_db, dagrun.run_id):
        for step, column in PROMISED:
            if r["step"] == step and column in r["counts"]:
                out.setdefault(r["stream"], {})[f"{step}.{column}"] = int(r["counts"][column])
    return out


def test_the_preview_writes_nothing_and_the_import_does_what_it_said(exact_import, world, link_db, caplog):
    tribe, exact = world
    window = {"from_date": "2000-01-01T00:00:00+00:00", "to_date": datetime.now(UTC).isoformat()}
    before = len(tribe.all("Relation_Organization"))
    tribe.reset_counters()
    exact.state.reset_counters()
    with caplog.at_level(logging.INFO):
        preview = trigger(exact_import, 1, dry_run=True, **window)
    # Nothing written: not in Tribe, not in the link store (links, cursors, quarantine).
    assert writes(tribe) == {}, writes(tribe)
    assert len(tribe.all("Relation_Organization")) == before
    assert LinkStore(link_db, "exact").count() == 0
    assert all(Cursors(link_db, "exact").get(s, "import") is None for s in CURSORED)
    assert all(not Quarantine(link_db, "exact").open(s) for s in STREAMS)
    # Few calls: at most one read of each stream (a sync page holds 1,000; customers and suppliers
    # are both accounts; item groups, a small table, have no sync endpoint), nothing else.
    calls = exact.state.counters()["requests"]
    assert sum(calls.values()) <= len(STREAMS) and all(c.startswith("GET ") for c in calls), calls
    said = promised(link_db, preview)
    assert set(said) == set(STREAMS)
    assert said["customers"]["load.created"] > 0 and said["contacts"]["load.created"] > 0
    # The preview, in the summary's log and the run's note.
    report = read_report(link_db, preview.run_id)
    note = note_text(report)
    assert note.startswith("preview") and "customers: read" in note, note
    assert "preview of the import" in caplog.text

    exact.state.reset_counters()
    done = trigger(exact_import, 2, dry_run=False, **window)
    assert promised(link_db, done) == said
    assert writes(tribe)  # and this time it wrote
    assert LinkStore(link_db, "exact").count("customer") == said["customers"]["load.created"] + said["customers"][
        "load.linked"] + said["customers"]["load.updated"]
