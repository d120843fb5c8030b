"""The house-number part of a composite match key (name + postcode + house number + addition, as
Exact Online dedupes): one normal form on both sides, read by ``mapping.addresses.house_number_key``
— the number and addition an accounting system's street line was split into, and the ones typed
into Tribe's structured address."""
from __future__ import annotations

import pytest

from tribe_operators.dedupe.keys import key_tuple
from tribe_operators.mapping.addresses import addition_key, split_street

SHAPE = ("text", "postcode_nl", "house_number", "addition")


def key(number, addition, name="Bakkerij van der Berg", postcode="1012 AB"):
    return key_tuple((name, postcode, number, addition), SHAPE)


def line_key(line, name="Bakkerij van der Berg", postcode="1012 AB"):
    """The key of an address typed on one line (Exact's ``AddressLine1``), split as the mapping does."""
    _, number, suffix = split_street(line)
    return key(number, suffix, name, postcode)


@pytest.mark.parametrize("line", ["Kerkstraat 12 A", "Kerkstraat 12a", "Kerkstraat 12-a", "Kerkstraat 12/A",
                                  "Kerkstraat 12 - A"])
def test_a_line_typed_any_way_is_the_key_typed_into_tribe(line):
    assert line_key(line) == key(12, "a") == key("12", "A") == key("12a", None) == key(12.0, "-A") is not None


@pytest.mark.parametrize(("ours", "theirs"), [
    ((16, "bus 3"), (16, "3")),          # a Belgian box: its word does not count
    ((16, "bte 3"), ("16/3", None)),
    ((16, "boîte 3"), (16, "/3")),
    ((7, "bis"), ("7bis", None)),
    ((7, "bis"), (7, "BIS")),
])
def test_box_words_and_separators_do_not_count(ours, theirs):
    assert key(*ours) == key(*theirs) is not None


@pytest.mark.parametrize(("ours", "theirs"), [
    ((12, None), (12, "A")),     # no addition is an address of its own
    ((12, "A"), (12, "B")),
    ((12, None), (120, None)),
    ((12, "3"), (123, None)),
])
def test_different_houses_are_never_one_key(ours, theirs):
    assert key(*ours) != key(*theirs)


@pytest.mark.parametrize(("number", "addition"), [(None, None), (None, "A"), ("A", None), ("", "12")])
def test_no_house_number_is_no_key(number, addition):
    """Never a match on name and postcode alone: a record without a house number has no such key."""
    assert key(number, addition) is None


def test_a_post_office_box_is_no_house_number():
    assert line_key("Postbus 100") is None


def test_the_number_alone_reads_past_what_is_typed_with_it():
    assert key_tuple(("012a",), ("house_number",)) == key_tuple((12,), ("house_number",)) == ("12",)
    assert key_tuple(("A",), ("house_number",)) is None


@pytest.mark.parametrize(("addition", "expected"), [
    (None, ""), ("", ""), ("-a", "A"), ("/A", "A"), ("bus 3", "3"), ("b. 3", "3"), ("A bus 3", "A3"),
    ("hs", "HS"), ("Ⅱ", "II"), (True, ""),
])
def test_addition_key(addition, expected):
    assert addition_key(addition) == expected


def test_an_addition_alone_uses_the_same_normal_form():
    assert key_tuple(("bus 3",), ("addition",)) == key_tuple(("/3",), ("addition",)) == ("3",)
