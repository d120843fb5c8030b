"""End dates (``mapping.lifecycle``), a person's explicit middle name and title (``person_name``),
what they read (``mapping.reads``), and what one read for several roles asks of a source."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tribe_operators.exceptions import OutOfScope, RecordError
from tribe_operators.mapping.catalogue import known_transforms
from tribe_operators.mapping.filters import Condition, matches
from tribe_operators.mapping.lifecycle import date_passed, out_of_scope_if, passed
from tribe_operators.mapping.reads import field_paths, source_paths, target_fields
from tribe_operators.mapping.spec import FieldMap, load_stream
from tribe_operators.mapping.transforms import MapContext, person_name

CTX = MapContext()
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # 13:00 in Amsterdam


def ms(wall: datetime) -> str:
    """Exact's ``/Date(ms)/`` of an Amsterdam wall time (written as if it were UTC)."""
    return f"/Date({int(wall.replace(tzinfo=UTC).timestamp() * 1000)})/"


@pytest.mark.parametrize(("value", "expected"), [
    (None, False), ("", False),
    (ms(datetime(2026, 3, 9)), True),           # yesterday, a whole day: over
    (ms(datetime(2026, 3, 10)), False),         # today: "current date > EndDate" is not yet true
    (ms(datetime(2026, 3, 11)), False),
    (ms(datetime(2026, 3, 10, 12, 30)), True),  # 12:30 Amsterdam, a moment: before 13:00
    (ms(datetime(2026, 3, 10, 13, 30)), False),
    ("2026-03-09", True), ("2026-03-10", False), ("2026-03-10T11:59:00Z", True), ("2026-03-10T12:01:00+00:00", False),
    (date(2026, 3, 9), True), (date(2026, 3, 10), False),
    (datetime(2026, 3, 10, 11, 0, tzinfo=UTC), True), (datetime(2026, 3, 10, 12, 30, tzinfo=UTC), False),
])
def test_a_date_has_passed_when_it_lies_before_now_a_whole_day_when_it_is_over(value, expected):
    assert passed(value, now=NOW) is expected


def test_date_passed_is_a_flag_and_refuses_what_is_no_date():
    long_ago, ahead = ms(datetime(2001, 1, 1)), ms(datetime.now() + timedelta(days=30))
    assert date_passed(long_ago, CTX, {}) is True and date_passed(ahead, CTX, {}) is False
    assert date_passed(None, CTX, {}) is False  # no end date: active (an end date cleared: active again)
    with pytest.raises(RecordError, match="not a date"):
        date_passed("morgen", CTX, {})
    assert {"date_passed", "out_of_scope_if"} <= set(known_transforms())


def test_out_of_scope_if_puts_a_record_out_of_the_stream_on_true_only():
    with pytest.raises(OutOfScope, match="ended"):
        out_of_scope_if(True, CTX, {}, reason="the account has ended")
    assert out_of_scope_if(False, CTX, {}, reason="x") is False and out_of_scope_if(None, CTX, {}, reason="x") is None


TITLES = {"DR": "dr.", "IR": "ir."}


@pytest.mark.parametrize(("record", "expected"), [
    ({"FirstName": "Jan", "MiddleName": "van der", "LastName": "Berg", "Title": "DR"},
     {"FirstName": "Jan", "MiddleName": "van der", "LastName": "Berg", "Title": "dr."}),
    ({"FirstName": "Jan", "MiddleName": "van", "LastName": "der Berg", "Title": "DHR"},  # a salutation: no title
     {"FirstName": "Jan", "MiddleName": "van der", "LastName": "Berg", "Title": None}),
    ({"FirstName": "Els", "MiddleName": None, "LastName": "de Wit", "Title": " ir "},
     {"FirstName": "Els", "MiddleName": "de", "LastName": "Wit", "Title": "ir."}),
    ({"FirstName": "Els", "LastName": "Wit"}, {"FirstName": "Els", "MiddleName": None, "LastName": "Wit", "Title": None}),
])
def test_person_name_takes_an_explicit_middle_name_and_a_title_through_its_map(record, expected):
    args = {"middle": "MiddleName", "title": "Title", "titles": TITLES}
    assert person_name(None, CTX, record, **args) == expected


def test_person_name_without_the_new_args_is_as_before():
    assert person_name("Jan Willem van der Meer", CTX, {}) == {"FirstName": "Jan Willem", "MiddleName": "van der",
                                                               "LastName": "Meer"}
    assert person_name(None, CTX, {"FirstName": "Jan", "LastName": "Smit", "Title": "dr."}, title="Title")["Title"] == "dr."


def test_what_person_name_and_check_only_fields_read_and_write():
    fm = FieldMap(target="Person", source="FullName", transform="person_name",
                  args={"middle": "MiddleName", "title": "Title", "titles": TITLES})
    assert field_paths(fm) == ["FullName", "FirstName", "LastName", "MiddleName", "Title"]
    customers = load_stream("exact", "customers")
    assert "EndDate" in source_paths(customers) and "Ended" not in target_fields(customers)


def test_one_read_for_both_account_roles_asks_for_every_field_and_lets_each_role_s_rows_through():
    from tribe_operators.mapping.filters import conditions_for
    from tribe_operators.sync.steps import _read_spec

    roles = [load_stream("exact", "customers"), load_stream("exact", "suppliers")]
    wheres = {role.stream: conditions_for(role, {"relation_types": {"Customer": ["C"]}}) for role in roles}
    spec, where = _read_spec(roles, wheres)
    paths = source_paths(spec, where)
    assert {"Status", "IsSupplier", "Blocked", "Code", "EndDate", "Timestamp"} <= set(paths)
    supplier_only = {"Status": "", "IsSupplier": True, "Blocked": False}
    prospect = {"Status": "P", "IsSupplier": False, "Blocked": False}
    assert matches(supplier_only, where) and matches({**supplier_only, "Status": "C"}, where)
    assert not matches(supplier_only, wheres["customers"]) and matches(supplier_only, wheres["suppliers"])
    assert not matches(prospect, wheres["customers"]) and not matches(prospect, wheres["suppliers"])
    # A role that takes every row: the read lets every row through.
    spec, where = _read_spec(roles, {"customers": wheres["customers"], "suppliers": []})
    assert matches({"ID": "x", "Status": "P"}, where)
    assert where == [Condition(op="any_of", value=(*wheres["customers"], Condition(field="ID", op="ne", value=None)))]
