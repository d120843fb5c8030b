"""Stream filters: the conditions' meaning, and how each source's API is asked for them."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from tribe_operators.mapping.filters import Condition, conditions_for, matches, split
from tribe_operators.mapping.spec import load_stream

RECORD = {"Name": "Kaffebrenneriet AS", "Number": 10002, "IsArchived": False, "Organization": {"Name": "Keep"},
          "Empty": None}


@pytest.mark.parametrize(("condition", "holds"), [
    ({"field": "Number", "value": 10002}, True),
    ({"field": "Number", "op": "ne", "value": 10002}, False),
    ({"field": "Number", "op": "in", "value": [10001, 10002]}, True),
    ({"field": "Number", "op": "not_in", "value": [10001, 10002]}, False),
    ({"field": "Number", "op": "gt", "value": 10001}, True),
    ({"field": "Number", "op": "le", "value": 10001}, False),
    ({"field": "Empty", "op": "lt", "value": 5}, False),  # null compares false, as in OData and SQL
    ({"field": "Name", "op": "contains", "value": "BRENNERI"}, True),  # case-insensitive, as Tribe's contains()
    ({"field": "Organization.Name", "value": "Keep"}, True),
    ({"field": "Missing.Path", "value": None}, True),
    ({"field": "Name", "op": "gt", "value": 3}, False),  # text against a number: no order, no match
])
def test_a_condition_means_what_it_says(condition, holds):
    assert Condition.model_validate(condition).holds(RECORD) is holds


@pytest.mark.parametrize("bad", [{"field": "Number", "op": "in", "value": 10001},
                                 {"field": "Number", "op": "in", "value": []},
                                 {"field": "Name", "op": "contains", "value": 3},
                                 {"field": "Name", "op": "like", "value": "x"},
                                 {"field": "Name", "value": "x", "extra": 1}])
def test_a_malformed_condition_is_refused(bad):
    with pytest.raises(ValidationError):
        Condition.model_validate(bad)


def test_a_stream_reads_its_mappings_where_and_its_settings_filters():
    spec = load_stream("poweroffice", "customers")
    conditions = conditions_for(spec, {"filters": {"customers": [{"field": "IsArchived", "value": False}],
                                                   "suppliers": [{"field": "Number", "value": 1}]}})
    assert [(c.field, c.op, c.value) for c in conditions] == [("IsPerson", "eq", False), ("IsArchived", "eq", False)]
    assert matches({"IsPerson": False, "IsArchived": False}, conditions)
    assert not matches({"IsPerson": False, "IsArchived": True}, conditions)


def test_tribe_takes_every_condition_as_odata():
    from tribe_operators.systems.tribe.source import odata_condition

    def text(**c):
        return odata_condition(Condition.model_validate(c))

    assert text(field="Organization.Name", op="contains", value="O'Neill") == "contains(Organization/Name,'O''Neill')"
    assert text(field="Number", op="in", value=[1, 2]) == "(Number eq 1 or Number eq 2)"
    assert text(field="Code", op="not_in", value=["A"]) == "(Code ne 'A')"
    assert text(field="IsActive", value=True) == "IsActive eq true"
    guid = "5f0c6a8e-3c1b-4f7e-9a51-7d1e0b2c9a10"
    assert text(field="Phase.ID", value=guid) == f"Phase/ID eq {guid}"


def test_poweroffice_sends_what_a_list_parameter_takes_and_checks_the_rest_itself():
    from functools import partial

    from tribe_operators.systems.poweroffice.adapters import _parameter

    conditions = [Condition(field="Number", op="in", value=[10001, 10002]), Condition(field="IsPerson", value=False),
                  Condition(field="Number", op="gt", value=5)]
    sent, local = split(conditions, partial(_parameter, {"Number": "customerNos"}))
    assert sent == [("customerNos", "10001,10002")]
    assert [(c.field, c.op) for c in local] == [("IsPerson", "eq"), ("Number", "gt")]


def _with_relation_type(stream="customers"):
    from tribe_operators.mapping.spec import RelationTypeSpec

    spec = load_stream("poweroffice", stream)
    kind = RelationTypeSpec(field="Status", relationship="Customer")
    return spec.model_copy(update={"source": spec.source.model_copy(update={"relation_type": kind})})


def test_a_relation_type_map_picks_what_an_import_stream_reads():
    spec = _with_relation_type()
    conditions = conditions_for(spec, {"relation_types": {"Customer": ["C"], "Prospect": ["P", "S"]}})
    assert ("Status", "in", ["C"]) in [(c.field, c.op, c.value) for c in conditions]
    assert matches({"IsPerson": False, "Status": "C"}, conditions)
    assert not matches({"IsPerson": False, "Status": "P"}, conditions)


def test_a_relation_type_the_settings_do_not_map_fails_naming_the_key():
    from tribe_operators.exceptions import MappingConfigError

    with pytest.raises(MappingConfigError, match=r"relation_types\.Customer"):
        conditions_for(_with_relation_type(), {"relation_types": {"Supplier": ["S"]}})


def test_an_export_writes_the_first_code_of_its_relation_type():
    from tribe_operators.exceptions import RecordError
    from tribe_operators.mapping.transforms import MapContext, relation_type

    ctx = MapContext(settings={"relation_types": {"Customer": ["C", "K"]}})
    assert relation_type(None, ctx, {}, relationship="Customer") == "C"
    with pytest.raises(RecordError, match=r"relation_types\.Supplier"):
        relation_type(None, ctx, {}, relationship="Supplier")
