"""Composite dedupe keys with named normalisers (name + Dutch postcode + house number + addition,
as Exact Online dedupes), found in Tribe over HTTP: typing variants match, different additions —
and no addition against one — never do, and a page of keys costs one Tribe query."""
from __future__ import annotations

import pytest

from tribe_operators.dedupe.keys import key_tuple
from tribe_operators.mapping.spec import DedupeKey, load_stream

KEY = ["Name", "InvoiceAddress/Postalcode", "InvoiceAddress/HouseNumber", "InvoiceAddress/HouseNumberSuffix"]
SHAPE = {"InvoiceAddress/Postalcode": "postcode_nl", "InvoiceAddress/HouseNumber": "house_number",
         "InvoiceAddress/HouseNumberSuffix": "addition"}


@pytest.mark.parametrize(("a", "b"), [
    (("Bakkerij De Zon", "1234 AB", "12", "A"), ("bakkerij de zon", "1234ab", "12-A", None)),
    (("Bakkerij De Zon", "1234 AB", 12, ""), (" BAKKERIJ  DE ZON ", "1234-ab", "12", None)),
    (("Bakkerij De Zon", "1234AB", "12 a", ""), ("Bakkerij De Zon", "1234 ab", "12", "-A")),
])
def test_typing_variants_are_one_key(a, b):
    shape = DedupeKey(match=KEY, normalise=SHAPE).normalisers()
    assert key_tuple(a, shape) == key_tuple(b, shape) is not None


@pytest.mark.parametrize(("a", "b"), [
    (("Bakkerij De Zon", "1234 AB", "12", "A"), ("Bakkerij De Zon", "1234 AB", "12", "B")),
    (("Bakkerij De Zon", "1234 AB", "12", ""), ("Bakkerij De Zon", "1234 AB", "12", "A")),  # none is a value
    (("Bakkerij De Zon", "1234 AB", "12", ""), ("Bakkerij De Zon", "1234 AB", "120", "")),
    (("Bakkerij De Zon", "1234 AB", "12", ""), ("Bakkerij De Zon", "1235 AB", "12", "")),
])
def test_different_addresses_are_never_one_key(a, b):
    shape = DedupeKey(match=KEY, normalise=SHAPE).normalisers()
    assert key_tuple(a, shape) != key_tuple(b, shape)


def test_an_empty_postcode_is_no_key_but_an_empty_addition_is_a_value():
    shape = DedupeKey(match=KEY, normalise=SHAPE).normalisers()
    assert key_tuple(("Zon", "", "12", ""), shape) is None
    assert key_tuple(("Zon", "1234 AB", "12", None), shape) == ("zon", "1234ab", "12", "")


def test_a_normaliser_for_a_field_not_in_the_key_is_refused():
    with pytest.raises(ValueError, match="not in match"):
        DedupeKey(match=["Name"], normalise={"Postalcode": "postcode_nl"})
    with pytest.raises(ValueError, match="unknown normaliser"):
        DedupeKey(match=["Name"], normalise={"Name": "soundex"})


@pytest.fixture
def tribe(tribe_alone):
    return tribe_alone[0]


def test_tribe_finds_each_address_by_its_normal_form_in_one_query(tribe):
    from tribe_operators.systems.tribe.hook import TribeCrmHook
    from tribe_operators.systems.tribe.target import TribeTarget

    def org(name, postcode, number, suffix):
        return tribe.insert("Relation_Organization", {"Name": name, "InvoiceAddress": {
            "Postalcode": postcode, "HouseNumber": number, "HouseNumberSuffix": suffix}})["ID"]

    with_a, without, with_b = (org("Bakkerij De Zon", "1234 AB", 12, "A"), org("Bakkerij De Zon", "1234AB", 12, ""),
                               org("Bakkerij de Zon", "1234 ab", 12, "b"))
    org("Slagerij De Maan", "1234 AB", 12, "A")
    spec = load_stream("poweroffice", "customers").model_copy(
        update={"dedupe": [DedupeKey(match=KEY, normalise=SHAPE)]})
    asked = [("Bakkerij De Zon", "1234-ab", "12-A", None), ("BAKKERIJ DE ZON", "1234 AB", "12", ""),
             ("bakkerij de zon", "1234ab", "12", "B"), ("Bakkerij De Zon", "1234 AB", "14", "")]
    tribe.reset_counters()
    found = TribeTarget(TribeCrmHook()).find(spec, KEY, asked)
    assert {value: [r["ID"] for r in rows] for value, rows in found.items()} == {
        asked[0]: [with_a], asked[1]: [without], asked[2]: [with_b]}
    reads = {c: n for c, n in tribe.counters()["calls"].items() if c.startswith("GET Relation_Organization")}
    assert sum(reads.values()) == 1, reads
