"""The mapping engine and transforms: VALID / INVALID tables, input never mutated."""
from __future__ import annotations

import copy

import pytest

from tribe_operators.exceptions import MappingConfigError, RecordError
from tribe_operators.mapping.engine import Mapper, content_hash
from tribe_operators.mapping.spec import StreamSpec, load_stream
from tribe_operators.mapping.addresses import split_street
from tribe_operators.mapping.transforms import MapContext, vat_number

CTX = MapContext(lookups={"countries": {"NO": "country-no", "NL": "country-nl"}})

GOOD = {
    "Id": 42, "Name": "  Fjord Tech AS ", "Number": 10042, "WebsiteUrl": "fjordtech.no",
    "EmailAddress": "Post@FjordTech.no", "PhoneNumber": "22 33 44 55", "OrganizationNumber": "923609016",
    "MailAddress": {"AddressLine1": "Storgata 12B", "ZipCode": "0155", "City": "Oslo", "CountryCode": "NO"},
    "IsPerson": False, "LastChangedDateTimeOffset": "2026-11-01T10:00:00.1234567+00:00",
}


@pytest.fixture(scope="module")
def customers() -> StreamSpec:
    return load_stream("poweroffice", "customers")


def test_maps_the_seed_organisation_table(customers):
    mapped = Mapper(customers, CTX).map(GOOD)
    assert mapped.fields == {
        "ImportId": "poweroffice:42",
        "Name": "Fjord Tech AS",
        "Website": "https://fjordtech.no",
        "DebtorNumber": "10042",
        "InvoiceAddress": {"Street": "Storgata", "HouseNumber": 12, "HouseNumberSuffix": "B", "Extra": None,
                           "Postalcode": "0155", "City": "Oslo", "Country": {"ID": "country-no"}},
        "EmailAddress": "Post@fjordtech.no",
        "PhoneNumber": "+47 22 33 44 55",
        "VatNumber": "NO923609016MVA",
    }


def test_input_is_not_mutated(customers):
    record = copy.deepcopy(GOOD)
    Mapper(customers, CTX).map(record)
    assert record == GOOD


def test_update_hash_ignores_only_create_fields(customers):
    a = Mapper(customers, CTX).map(GOOD)
    b = Mapper(customers, CTX).map({**GOOD, "Id": 43})  # only ImportId differs
    assert a.update_hash == b.update_hash
    c = Mapper(customers, CTX).map({**GOOD, "Name": "Other AS"})
    assert c.update_hash != a.update_hash


@pytest.mark.parametrize("change,field,reason", [
    ({"Name": None}, "Name", "is required"),
    ({"Name": "   "}, "Name", "is required"),
    ({"Name": "x" * 201}, "Name", "201 characters"),
    ({"OrganizationNumber": "923609017"}, "OrganizationNumber", "not a valid Norwegian organisation number"),
    ({"EmailAddress": "not-an-email"}, "EmailAddress", "not a valid e-mail"),
    ({"Number": -5}, "Number", "not a whole, positive number"),
    ({"MailAddress": {**GOOD["MailAddress"], "CountryCode": "XX"}}, "MailAddress", "country code 'XX'"),
    ({"Name": "Bad\ufffdName"}, "Name", "unreadable characters"),
])
def test_invalid_records_name_the_field_and_reason(customers, change, field, reason):
    with pytest.raises(RecordError) as info:
        Mapper(customers, CTX).map({**GOOD, **change})
    assert info.value.field == field
    assert reason in info.value.reason
    assert info.value.record_id == "42"


def test_all_bad_fields_are_reported(customers):
    with pytest.raises(RecordError) as info:
        Mapper(customers, CTX).map({**GOOD, "Name": None, "EmailAddress": "nope"})
    assert "EmailAddress" in str(info.value) and info.value.field == "Name"


@pytest.mark.parametrize("line,expected", [
    ("Storgata 12B", ("Storgata", 12, "B")),
    ("Keizersgracht 123-2", ("Keizersgracht", 123, "2")),
    ("Hoofdstraat 7 A", ("Hoofdstraat", 7, "A")),
    ("Postboks", ("Postboks", None, None)),
    ("Karl Johans gate 1", ("Karl Johans gate", 1, None)),
])
def test_split_street(line, expected):
    assert split_street(line) == expected


def test_vat_number_accepts_eu_vat_for_other_countries():
    assert vat_number("NL004495445B01", CTX, {"c": "NL"}, country_field="c") == "NL004495445B01"
    with pytest.raises(RecordError):
        vat_number("12345", CTX, {"c": "NL"}, country_field="c")


def test_content_hash_is_order_independent():
    assert content_hash({"a": 1, "b": {"c": 2}}) == content_hash({"b": {"c": 2}, "a": 1})


def test_mapping_files_are_validated(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "s.yaml").write_text("stream: s\nintegration: x\ndirection: sideways\n")
    with pytest.raises(MappingConfigError, match="direction"):
        load_stream("x", "s", str(tmp_path))
    bad_transform = (load_stream("poweroffice", "customers").model_dump(mode="json"))
    bad_transform["fields"][1]["transform"] = "no_such_thing"
    import yaml
    (tmp_path / "poweroffice").mkdir()
    (tmp_path / "poweroffice" / "customers.yaml").write_text(yaml.safe_dump(bad_transform))
    with pytest.raises(MappingConfigError, match="no_such_thing"):
        load_stream("poweroffice", "customers", str(tmp_path))
