"""Exact Online's settings: the relation-type maps (the seed's "General" step) and the filters
per stream (its "Sync and Filter" step) are checked against what Exact and Tribe have before any
record moves; a wrong one fails naming the key. The shipped file keeps today's behaviour."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tribe_operators.exceptions import MappingConfigError
from tribe_operators.mapping.filters import Condition, conditions_for, matches
from tribe_operators.mapping.settings import load_settings
from tribe_operators.mapping.spec import load_stream

ROOT = Path(__file__).resolve().parents[2]
VAR = "AIRFLOW_VAR_TRIBE_SYNC_EXACT_SETTINGS"


def _folder(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A mappings folder with exact's stream files and this settings text."""
    (tmp_path / "exact").mkdir()
    for path in (ROOT / "include" / "mappings" / "exact").glob("*.yaml"):
        if path.stem != "settings":
            (tmp_path / "exact" / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "exact" / "settings.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("TRIBE_SYNC_MAPPINGS", str(tmp_path))


def test_the_shipped_settings_map_a_tribe_customer_to_status_c_both_ways():
    settings = load_settings("exact")
    assert settings["relation_types"] == {"Customer": ["C"]}
    assert settings["filters"] == {}
    assert "tribe_products" in settings["enabled_streams"]


@pytest.mark.parametrize(("text", "says"), [
    ("relation_types: {Customer: [K]}\n", r"relation_types\.Customer: 'K' is not an Exact account Status \(C customer"),
    ("relation_types: {Customer: [c]}\n", r"relation_types\.Customer: 'c' is not an Exact account Status"),
    ("relation_types: {Customer: []}\n", r"relation_types\.Customer: name the Exact account Status"),
    ("relation_types: {Klant: [C]}\n", r"relation_types\.Klant: 'Klant' is not a Tribe commercial relationship type"),
    ("relation_types: {Supplier: [S]}\n", r"relation_types\.Supplier: Exact marks a supplier by the account's "
                                          r"IsSupplier flag"),
    ("relation_types: {Customer: [C], Prospect: [P, C]}\n", r"relation_types\.Prospect: Status C is "
                                                            r"relation_types\.Customer already"),
    ("relation_types: {Customer: C}\n", r"relation_types\.Customer: Input should be a valid list"),
    ("filters: {customer: [{field: Country, value: NL}]}\n", r"filters\.customer: exact has no stream 'customer' "
                                                             r"\(its streams: contacts, customers"),
    ("filters: {customers: [{field: Country, op: like, value: NL}]}\n", r"filters\.customers\.0\.op"),
])
def test_a_wrong_relation_type_or_filter_fails_naming_the_key(tmp_path, monkeypatch, text, says):
    _folder(tmp_path, text, monkeypatch)
    with pytest.raises(MappingConfigError, match=rf"settings of exact .*settings.yaml\): {says}"):
        load_settings("exact")


def test_the_variable_is_checked_the_same_way(tmp_path, monkeypatch):
    _folder(tmp_path, "relation_types: {Customer: [C]}\n", monkeypatch)
    monkeypatch.setenv(VAR, json.dumps({"relation_types": {"Prospect": ["P", "S"]}}))
    assert load_settings("exact")["relation_types"] == {"Customer": ["C"], "Prospect": ["P", "S"]}
    monkeypatch.setenv(VAR, json.dumps({"relation_types": {"Customer": ["X"]}}))
    with pytest.raises(MappingConfigError, match=r"\+ Variable tribe_sync_exact_settings\): relation_types\.Customer: "
                                                 r"'X' is not"):
        load_settings("exact")


def test_a_customer_exports_with_the_first_code_of_its_relation_type(tmp_path, monkeypatch):
    from tribe_operators.mapping.engine import Mapper
    from tribe_operators.mapping.transforms import MapContext

    spec = load_stream("exact", "tribe_customers")
    record = {"ID": "o1", "Name": "Klant BV", "DebtorNumber": "T-1"}
    for codes, status in ((["C"], "C"), (["P", "S"], "P")):
        fields = Mapper(spec, MapContext(settings={"relation_types": {"Customer": codes}})).map(record).fields
        assert fields["Status"] == status


def test_a_settings_filter_joins_the_streams_own_conditions_and_padded_codes_compare_trimmed():
    spec = load_stream("exact", "customers")
    conditions = conditions_for(spec, {"relation_types": {"Customer": ["C"]},
                                       "filters": {"customers": [{"field": "Country", "value": "NL"}]}})
    assert ("Country", "eq", "NL") in [(c.field, c.op, c.value) for c in conditions]
    account = {"Status": "C", "Blocked": False, "IsSupplier": False}
    assert matches({**account, "Country": "NL "}, conditions)  # Exact pads the country to three
    assert not matches({**account, "Country": "BE "}, conditions)
    assert Condition(field="Unit", op="in", value=["stuk"]).holds({"Unit": "stuk    "})
    assert not Condition(field="Unit", op="not_in", value=["stuk "]).holds({"Unit": "stuk"})


def test_a_product_exports_with_exacts_unit_code_and_item_group_and_an_unknown_unit_is_held_naming_the_field():
    from tribe_operators.exceptions import RecordError
    from tribe_operators.mapping.engine import Mapper
    from tribe_operators.mapping.transforms import MapContext

    spec = load_stream("exact", "tribe_products")
    lookups = {"units": {"Stuk": "stuk", "Uur": "uur"}, "item_groups": {"Diensten": "g-2"}}
    mapper = Mapper(spec, MapContext(lookups=lookups))
    product = {"ID": "p1", "Code": "P-0001", "Name": "Consultancy", "SalesPrice": 95, "PurchasePrice": 0,
               "Unit": {"Name": "Uur"}, "ProductGroup": {"Name": "Diensten"}}
    fields = mapper.map(product).fields
    assert (fields["Code"], fields["Description"], fields["Unit"], fields["ItemGroup"], fields["IsSalesItem"]) == (
        "P-0001", "Consultancy", "uur", "g-2", True)
    assert (fields["StandardSalesPrice"], fields["CostPriceStandard"]) == (95, 0)
    with pytest.raises(RecordError) as held:
        mapper.map({**product, "Unit": {"Name": "Dag"}})
    assert "Unit" in str(held.value) and "'Dag'" in str(held.value)
    with pytest.raises(RecordError, match=r"field 'Name': is 61 characters long; the target allows 60"):
        mapper.map({**product, "Name": "x" * 61})


def test_the_customers_import_reads_the_status_codes_the_settings_map_to_customer():
    """customers.yaml takes its Status codes from relation_types.Customer, not a code of its own:
    a user who maps A (no relation type) to Customer as well imports those accounts too."""
    spec = load_stream("exact", "customers")
    account = {"ID": "1", "Status": "A", "Blocked": False}
    assert not matches(account, conditions_for(spec, {"relation_types": {"Customer": ["C"]}}))
    assert matches(account, conditions_for(spec, {"relation_types": {"Customer": ["C", "A"]}}))
    assert not matches({**account, "Blocked": True}, conditions_for(spec, {"relation_types": {"Customer": ["C", "A"]}}))
    with pytest.raises(MappingConfigError, match=r"relation_types\.Customer is not in the settings"):
        conditions_for(spec, {"relation_types": {}})
