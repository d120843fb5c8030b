"""A stream's conditions as Exact's OData v2 ``$filter`` (``odata_condition``): what v2 can say —
eq/ne/order on a plain field, ``in`` as an ``or``, text trimmed and quoted with quotes doubled,
booleans, guids as ``guid'…'`` — and nothing Exact would answer differently from the check here
(text ``ne``/orders, contains, not_in, dotted paths, floats stay local). Each term is parsed and
evaluated by the simulator's WCF-like filter, which keeps every record ``matches`` keeps."""
from __future__ import annotations

import pytest

from sandbox.exact.entities import ACCOUNT
from sandbox.exact.odata_filter import evaluate, parse_filter
from tribe_operators.mapping.filters import Condition, matches
from tribe_operators.systems.exact.odata import odata_condition

GUID = "0b9e4a52-8c6b-4a5e-9a53-2f5d3c1e7a10"


def cond(field: str = "", op: str = "eq", value: object = None) -> Condition:
    return Condition(field=field, op=op, value=value)


@pytest.mark.parametrize("condition,expected", [
    (cond("Blocked", "eq", False), "Blocked eq false"),
    (cond("Blocked", "ne", True), "Blocked ne true"),
    (cond("Country", "eq", "NL "), "trim(Country) eq 'NL'"),
    (cond("Name", "eq", "O'Brien Bakkerij"), "trim(Name) eq 'O''Brien Bakkerij'"),
    (cond("Code", "eq", "  25"), "trim(Code) eq '25'"),  # Exact pads codes to 18 characters
    (cond("Status", "in", ["C", "P"]), "(trim(Status) eq 'C' or trim(Status) eq 'P')"),
    (cond("AccountManager", "eq", GUID), f"AccountManager eq guid'{GUID}'"),
    (cond("Parent", "eq", None), "Parent eq null"),
    (cond("Division", "ge", 100), "Division ge 100"),
    (cond("Division", "lt", 3_000_000_000), "Division lt 3000000000L"),
    (Condition(op="any_of", value=[cond("IsSupplier", "eq", True), cond("Status", "eq", "C")]),
     "(IsSupplier eq true or trim(Status) eq 'C')"),
])
def test_what_exact_can_take(condition, expected):
    assert odata_condition(condition) == expected


@pytest.mark.parametrize("condition", [
    cond("Country", "ne", "NL"),  # Exact compares text case-insensitively: 'nl' would be left out
    cond("Name", "gt", "M"),
    cond("Name", "contains", "bakker"),
    cond("Country", "not_in", ["NL", "BE"]),
    cond("Account.Name", "eq", "X"),  # a navigation path: Exact refuses it
    cond("StandardSalesPrice", "gt", 1.5),
    cond("Blocked", "lt", True),
    cond("Parent", "gt", None),
    Condition(op="any_of", value=[cond("IsSupplier", "eq", True), cond("Name", "contains", "x")]),
])
def test_what_stays_to_check_here(condition):
    assert odata_condition(condition) is None


RECORDS = [
    {"Name": "O'Brien Bakkerij", "Country": "NL ", "Code": "                25", "Status": "C", "Blocked": False,
     "IsSupplier": True, "AccountManager": GUID, "Parent": None},
    {"Name": "o'brien bakkerij", "Country": "nl", "Code": "26", "Status": "c", "Blocked": True, "IsSupplier": False,
     "AccountManager": None, "Parent": GUID},
    {"Name": "Anders", "Country": None, "Code": None, "Status": None, "Blocked": None, "IsSupplier": None,
     "AccountManager": None, "Parent": None},
]


@pytest.mark.parametrize("condition", [
    cond("Blocked", "eq", False), cond("Blocked", "ne", True), cond("Country", "eq", "NL"),
    cond("Name", "eq", "O'Brien Bakkerij"), cond("Code", "eq", "25"), cond("Status", "in", ["C", "P"]),
    cond("AccountManager", "eq", GUID), cond("Parent", "eq", None), cond("Parent", "ne", None),
    Condition(op="any_of", value=[cond("IsSupplier", "eq", True), cond("Status", "eq", "C")]),
])
def test_exact_keeps_every_record_the_check_here_keeps(condition):
    node = parse_filter(odata_condition(condition), ACCOUNT[0], "Exact.Web.Api.Models.Account")
    for record in RECORDS:
        if matches(record, [condition]):
            assert evaluate(node, record), (condition, record)


def test_only_fields_exact_lists_as_filterable_reach_its_filter():
    """A 400 for an unfilterable field counts toward Exact's block: such conditions stay here."""
    from tribe_operators.systems.exact.odata import filter_for

    on_accounts = filter_for("crm/Accounts")
    assert on_accounts(Condition(field="Status", op="in", value=["C"])) == "(trim(Status) eq 'C')"
    assert on_accounts(Condition(field="Blocked", value=False)) is None
    assert on_accounts(Condition(field="Classification1", value="x")) is None
    assert on_accounts(Condition(op="any_of", value=[Condition(field="Status", value="C"),
                                                     Condition(field="Blocked", value=False)])) is None
    assert filter_for("financial/GLAccounts")(Condition(field="Code", value="8000")) is None
