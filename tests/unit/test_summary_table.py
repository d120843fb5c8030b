"""The summary task's tables: aligned whatever the names, every invoice a row, a capped quarantine list."""
from __future__ import annotations

from decimal import Decimal

from tribe_operators.reports.summary import (COLUMNS, QUARANTINE_LIST_CAP, RunReport, note_text, render_counts,
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
    header, _, first, second = text.splitlines()
    assert header.split()[:4] == ["invoice", "customer", "amount", "status"]
    assert "10001" in first and "1,250.00 NOK" in first and "77 (5001)" in first and "booked" in first
    assert "10002" in second and "failed" in second and "unit 'XX' is not mapped" in second


def test_the_quarantine_list_is_capped_and_says_how_many_more():
    rows = [{"stream": "customers", "scope": "default", "record_id": str(i), "field": "CountryCode", "attempts": 1,
             "reason": "no such country"} for i in range(QUARANTINE_LIST_CAP + 7)]
    lines = render_quarantine(rows).splitlines()
    assert len(lines) == 2 + QUARANTINE_LIST_CAP + 1 and lines[-1] == "… and 7 more"


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
