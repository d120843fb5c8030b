"""The run note's configuration lines (``reports.note_listener.with_config``): what to fix comes
first, before the counts, the deprecations last, and the whole stays within Airflow's 1,000
characters."""
from __future__ import annotations

from tribe_operators.reports.note_listener import with_config
from tribe_operators.reports.summary import NOTE_LIMIT


def test_what_to_fix_comes_first_and_deprecations_last():
    note = with_config("⚠ 1 failed · 3 created", ["connection 'x': unknown extra field(s) ['a'] (load)"],
                       ["connection 'x': extra 'old' is now 'new'"])
    assert note == ("✖ fix: connection 'x': unknown extra field(s) ['a'] (load) · ⚠ 1 failed · 3 created · "
                    "deprecated: connection 'x': extra 'old' is now 'new'")


def test_a_run_without_counts_still_says_what_to_fix():
    assert with_config(None, ["settings of exact: overlap_seconds: not an integer (scopes)"], []) == (
        "✖ fix: settings of exact: overlap_seconds: not an integer (scopes)")


def test_nothing_to_say_leaves_the_note_as_it_was():
    assert with_config("3 created", [], []) == "3 created"
    assert with_config(None, [], []) is None


def test_the_note_fits_airflows_column():
    assert len(with_config("3 created", ["x" * 2000], [])) == NOTE_LIMIT
