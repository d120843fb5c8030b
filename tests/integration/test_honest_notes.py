"""Honest backfill notes: each run tries the open quarantine again, so every day of a backfill
re-sees the same bad records. The note and the summary count what a run quarantined in its own
window apart from what is still open from before — read from the link database as the
listener and the summary task read it."""
from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from tribe_operators.reports.summary import needs_a_look, note_text, read_report, render_quarantine
from tribe_operators.store.quarantine import Quarantine
from tribe_operators.store.runs import record_step

pytestmark = [pytest.mark.postgres]


def day(link_db, run_id, *, bad, created=0):
    """One backfilled day of ``customers``: extract, map (quarantining ``bad``), load."""
    started = datetime.now(UTC)
    time.sleep(0.01)  # first_seen_at of this day's rows come after its start
    record_step(link_db, run_id=run_id, dag_id="poweroffice_initial_import", integration="poweroffice",
                stream="customers", step="extract", counts={"extracted": len(bad)}, started_at=started)
    Quarantine(link_db, "poweroffice").add([{"record_id": r, "field": "Name", "reason": "is empty"} for r in bad],
                                           system="poweroffice", stream="customers", run_id=run_id)
    record_step(link_db, run_id=run_id, dag_id="poweroffice_initial_import", integration="poweroffice",
                stream="customers", step="map", counts={"quarantined": len(bad)}, started_at=started)
    record_step(link_db, run_id=run_id, dag_id="poweroffice_initial_import", integration="poweroffice",
                stream="customers", step="load", counts={"created": created}, started_at=started)
    return read_report(link_db, run_id)


def test_a_day_re_seeing_old_quarantine_says_so_apart_from_what_it_quarantined(link_db):
    old = [str(i) for i in range(19)]
    first = day(link_db, "backfill__2026-01-01", bad=old, created=40)
    assert note_text(first) == "⚠ 19 quarantined · 40 created"
    quiet = day(link_db, "backfill__2026-01-02", bad=old)  # nothing in its window: the old ones again
    assert note_text(quiet) == "19 still open from before · nothing changed" and not needs_a_look(quiet)
    busy = day(link_db, "backfill__2026-01-03", bad=[*old, "n1", "n2"], created=3)
    assert note_text(busy) == "⚠ 2 quarantined · 19 still open from before · 3 created" and needs_a_look(busy)
    listed = render_quarantine(busy.quarantined).splitlines()
    assert listed[0] == "2 quarantined in this run's window, 19 still open from before (tried again)"
    assert {line.split()[1] for line in listed[3:5]} == {"n1", "n2"} and "this run" in listed[3]
