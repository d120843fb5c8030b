"""The summary task's counts table: one aligned row per stream, whatever the stream's name."""
from __future__ import annotations

from tribe_operators.operators.summary import COLUMNS, render, summarise


def test_every_row_lines_up_with_the_header_also_for_long_stream_names():
    rows = [{"stream": "customers", "step": "load", "counts": {"created": 3, "quarantined": 1}},
            {"stream": "customers", "step": "map", "counts": {"quarantined": 2}},
            {"stream": "tribe_product_groups", "step": "load", "counts": {"updated": 12345}}]
    table = summarise(rows)
    assert table["customers"]["quarantined"] == 3 and table["tribe_product_groups"]["updated"] == 12345
    header, rule, *lines = render(table).splitlines()
    assert len({len(header), len(rule), *map(len, lines)}) == 1
    column_ends = [header.index(c) + len(c) for c in COLUMNS]
    for line in lines:
        assert [line[:end].rstrip()[-1].isdigit() for end in column_ends] == [True] * len(COLUMNS), line
