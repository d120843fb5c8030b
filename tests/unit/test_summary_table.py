"""The summary task's tables: aligned whatever the names, every invoice a row, a capped quarantine list."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tribe_operators.reports.summary import (COLUMNS, QUARANTINE_LIST_CAP, RunReport, needs_a_look, note_text,
                                             render_counts,
                                             render_invoices, render_quarantine, summarise)


def test_every_row_lines_up_with_the_header_also_for_long_stream_names():
    rows = [{"stream": "customers", "step": "load", "counts": {"created": 3, "quarantined": 1, "conflicts": 2}},
            {"stream": "customers", "step": "map", "counts": {"quarantined": 2}},
            {"stream": "tribe_product_groups", "step": "load", "counts": {"updated": 12345}}]
    table = summarise(rows)
    assert table["customers"]["quarantined"] == 3 and table["tribe_product_groups"]["updated"] == 12345
    assert table["customers"]["conflicts"] == 2
    header, rule, *lines = render_counts(table).splitlines()
    assert len({len(header), len(rule), *map(len, lines)}) == 1
    column_ends = [header.index(c) + len(c) for c in COLUMNS]
    for line in lines:
        assert [line[:end].rstrip()[-1].isdigit() for end in column_ends] == [True] * len(COLUMNS), line


def _invoice(number, status, **extra):
    return {"number": number, "customer": "Fjord Consulting AS", "amount": Decimal("1250.00"), "currency": "NOK",
            "status": status, "scope": "default", "external_id": None, "external_number": None, "reason": None,
            **extra}


def test_the_invoice_table_has_a_row_per_invoice_with_its_id_and_reason():
    text = render_invoices([_invoice("10001", "booked", external_id="77", external_number="5001"),
                            _invoice("10002", "failed", reason="unit 'XX' is not mapped")])
    headline, header, _, first, second = text.splitlines()
    # The failed one's reason heads the table, on a line of its own (a wide row runs off-screen).
    assert headline == "invoice 10002 NOT exported: unit 'XX' is not mapped"
    assert header.split()[:4] == ["invoice", "customer", "amount", "status"]
    assert "10001" in first and "1,250.00 NOK" in first and "77 (5001)" in first and "booked" in first
    assert "10002" in second and "failed" in second and "unit 'XX' is not mapped" in second


def test_the_quarantine_list_is_capped_and_says_how_many_more():
    rows = [{"stream": "customers", "scope": "default", "record_id": str(i), "field": "CountryCode", "attempts": 1,
             "reason": "no such country"} for i in range(QUARANTINE_LIST_CAP + 7)]
    lines = render_quarantine(rows).splitlines()
    assert len(lines) == 1 + 2 + QUARANTINE_LIST_CAP + 1 and lines[-1] == "… and 7 more"


def test_the_note_flags_quarantine_first_and_counts_the_rest():
    report = RunReport(streams=summarise([{"stream": "customers", "step": "load",
                                           "counts": {"created": 238, "updated": 24}},
                                          {"stream": "customers", "step": "map", "counts": {"quarantined": 7}}]))
    assert note_text(report) == "⚠ 7 quarantined · 238 created · 24 updated"
    assert note_text(RunReport(streams=summarise([{"stream": "customers", "step": "load",
                                                   "counts": {"created": 0}}]))) == "nothing changed"
    invoices = RunReport(invoices=[_invoice("1", "posted"), _invoice("2", "posted"), _invoice("3", "failed")])
    assert note_text(invoices) == "⚠ 1 failed · 2 posted"
    assert note_text(RunReport()) is None


def test_a_run_that_sees_old_open_quarantine_again_says_so_apart_from_what_it_quarantined():
    """Each run retries the open quarantine: a backfill's every day re-sees the same rows. Only
    rows first seen since the run started are its own (the ⚠); the others are "still open from
    before", and a run with nothing new is not flagged."""
    start = datetime(2026, 1, 2, tzinfo=UTC)
    old = [{"stream": "customers", "scope": "default", "record_id": str(i), "field": "Name", "attempts": 3,
            "reason": "is empty", "first_seen_at": start - timedelta(days=1)} for i in range(19)]
    new = [{"stream": "customers", "scope": "default", "record_id": f"n{i}", "field": "Name", "attempts": 1,
            "reason": "is empty", "first_seen_at": start + timedelta(seconds=5)} for i in range(2)]
    steps = [{"stream": "customers", "step": "load", "counts": {"created": 0}},
             {"stream": "customers", "step": "map", "counts": {"quarantined": 21}}]  # old ones seen again, too
    quiet = RunReport(streams=summarise(steps[:1] + [{"stream": "customers", "step": "map",
                                                      "counts": {"quarantined": 19}}]),
                      quarantined=old, started_at=start)
    assert note_text(quiet) == "19 still open from before · nothing changed" and not needs_a_look(quiet)
    busy = RunReport(streams=summarise(steps), quarantined=old + new, started_at=start)
    assert note_text(busy) == "⚠ 2 quarantined · 19 still open from before" and needs_a_look(busy)
    assert busy.totals() == {"quarantined": 2, "still_open": 19}
    text = render_quarantine([{**r, "new": busy.is_new(r)} for r in old + new]).splitlines()
    assert text[0] == "2 quarantined in this run's window, 19 still open from before (tried again)"
    assert "this run" in text[3] and "n0" in text[3] and "2026-01-01 00:00" in text[5]  # new ones first
    # Without steps (an invoice run) a row's first sighting is what is new.
    invoices = RunReport(invoices=[_invoice("1", "failed")], quarantined=[{**old[0], "attempts": 1}])
    assert note_text(invoices) == "⚠ 1 quarantined · 1 failed"
    again = RunReport(invoices=[_invoice("1", "failed")], quarantined=[old[0]])
    assert note_text(again) == "⚠ 1 failed · 1 still open from before"


def test_a_difference_no_rule_settles_flags_the_run():
    """An invoice Paid in Tribe that Exact still shows open with no journal to book it in: the
    payments run counts a difference, and its note and the page's flag say so."""
    report = RunReport(streams=summarise([{"stream": "payments", "step": "paid_in_crm",
                                            "counts": {"differences": 1, "booked": 0}}]))
    assert report.streams["payments"]["differences"] == 1
    assert needs_a_look(report) and note_text(report).startswith("⚠ 1 differences")
    quiet = RunReport(streams=summarise([{"stream": "payments", "step": "paid_in_crm", "counts": {"booked": 1}}]))
    assert not needs_a_look(quiet) and not note_text(quiet).startswith("⚠")
