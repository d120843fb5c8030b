"""Odoo's domain language over XML-RPC: operators with SQL NULL rules, prefix logic, dotted
paths, hierarchy operators, active_test, order and paging, and invalid domains as ValueError."""
from __future__ import annotations

import xmlrpc.client

import pytest

from sandbox.odoo.clients import OdooServer


@pytest.fixture(scope="module")
def odoo():
    with OdooServer(version=17) as server:
        st = server.state
        nl, be, de = (st.search("res.country", [("code", "=", c)])[0] for c in ("NL", "BE", "DE"))
        ids = {}
        ids["alpha"] = st.insert("res.partner", {"name": "Alpha BV", "is_company": True, "country_id": nl,
                                                 "city": "Utrecht", "ref": "A1", "customer_rank": 2})
        ids["beta"] = st.insert("res.partner", {"name": "Beta NV", "is_company": True, "country_id": be,
                                                "city": "Gent", "customer_rank": 1, "supplier_rank": 1})
        ids["gamma"] = st.insert("res.partner", {"name": "Gamma GmbH", "is_company": True, "country_id": de,
                                                 "active": False})
        ids["anna"] = st.insert("res.partner", {"name": "Anna", "parent_id": ids["alpha"], "email": "anna@alpha.nl"})
        ids["bert"] = st.insert("res.partner", {"name": "Bert", "parent_id": ids["alpha"]})
        ids["carla"] = st.insert("res.partner", {"name": "Carla", "parent_id": ids["beta"], "email": "Carla@Beta.be"})
        ids["dirk"] = st.insert("res.partner", {"name": "Dirk_1", "parent_id": ids["anna"], "active": False})
        ids["eva"] = st.insert("res.partner", {"name": "Eva Jansen", "email": "eva@example.nl", "customer_rank": 5})
        server.ids = ids
        server.names = {v: k for k, v in ids.items()}
        yield server


def found(odoo, domain, **kwargs):
    """Names (fixture keys) of the matching partners among the test's own, sorted."""
    result = odoo.execute("res.partner", "search", domain, **kwargs)
    return sorted(odoo.names[i] for i in result if i in odoo.names)


def fault(odoo, domain, **kwargs) -> xmlrpc.client.Fault:
    with pytest.raises(xmlrpc.client.Fault) as caught:
        odoo.execute("res.partner", "search", domain, **kwargs)
    return caught.value


def test_equality_and_null_rules(odoo):
    assert found(odoo, [("name", "=", "Anna")]) == ["anna"]
    assert found(odoo, [("email", "=", False), ("parent_id", "!=", False)]) == ["bert"]
    # != also matches empty values (SQL: x != v OR x IS NULL)
    assert found(odoo, [("email", "!=", "anna@alpha.nl"), ("parent_id", "=", odoo.ids["alpha"])]) == ["bert"]
    assert "anna" in found(odoo, [("email", "!=", False)]) and "bert" not in found(odoo, [("email", "!=", False)])
    assert found(odoo, [("email", "=?", False), ("name", "=", "Bert")]) == ["bert"]  # =? with False: no condition


def test_comparisons(odoo):
    assert found(odoo, [("customer_rank", ">", 1)]) == ["alpha", "eva"]
    assert found(odoo, [("customer_rank", ">=", 1), ("customer_rank", "<", 5)]) == ["alpha", "beta"]
    assert found(odoo, [("customer_rank", "<=", 0), ("is_company", "=", True)]) == []
    assert found(odoo, [("write_date", ">", "2000-01-01 00:00:00"), ("name", "=", "Eva Jansen")]) == ["eva"]
    assert found(odoo, [("create_date", "<", "2000-01-01")]) == []


def test_in_and_not_in(odoo):
    assert found(odoo, [("city", "in", ["Utrecht", "Gent"]), ("is_company", "=", True)]) == ["alpha", "beta"]
    # contacts share their company's address, so Anna lives in Utrecht too
    assert found(odoo, [("city", "in", ["Utrecht"])]) == ["alpha", "anna", "bert"]
    assert found(odoo, [("parent_id", "in", [odoo.ids["beta"], False]), ("email", "!=", False)]) == ["carla", "eva"]
    assert "anna" not in found(odoo, [("city", "not in", ["Utrecht"])])
    assert "eva" in found(odoo, [("city", "not in", ["Utrecht"])])  # NULL city is "not in"
    assert found(odoo, [("id", "in", [])]) == []


def test_like_family(odoo):
    assert found(odoo, [("email", "like", "Beta")]) == ["carla"]
    assert found(odoo, [("email", "like", "beta")]) == []  # like is case-sensitive
    assert found(odoo, [("email", "ilike", "BETA")]) == ["carla"]
    assert found(odoo, [("name", "=like", "A%")]) == ["alpha", "anna"]
    assert found(odoo, [("name", "=ilike", "a%")]) == ["alpha", "anna"]
    assert found(odoo, [("name", "=ilike", "a_na")]) == ["anna"]  # _ is a one-character wildcard
    assert found(odoo, [("name", "ilike", "a_n")]) == ["anna", "beta"]  # "Beta NV": a, space, n
    assert found(odoo, [("name", "=like", "Dirk\\_1")], context={"active_test": False}) == ["dirk"]
    # not ilike matches empty values too
    assert found(odoo, [("email", "not ilike", "alpha"), ("parent_id", "=", odoo.ids["alpha"])]) == ["bert"]


def test_prefix_operators(odoo):
    assert found(odoo, ["|", ("name", "=", "Anna"), ("name", "=", "Bert")]) == ["anna", "bert"]
    assert found(odoo, ["&", ("parent_id", "=", odoo.ids["alpha"]), "!", ("name", "=", "Anna")]) == ["bert"]
    assert found(odoo, ["|", "&", ("is_company", "=", True), ("city", "=", "Gent"), ("name", "=", "Eva Jansen")]) \
        == ["beta", "eva"]
    # implicit & between terms, also after an explicit |
    assert found(odoo, ["|", ("name", "=", "Anna"), ("name", "=", "Carla"), ("email", "ilike", "alpha")]) == ["anna"]
    assert found(odoo, ["!", "|", ("is_company", "=", True), ("parent_id", "!=", False)]) == ["eva"]
    assert found(odoo, [(1, "=", 1), ("name", "=", "Anna")]) == ["anna"]


def test_dotted_paths_and_relational_values(odoo):
    assert found(odoo, [("parent_id.name", "ilike", "alpha")]) == ["anna", "bert"]
    assert found(odoo, [("parent_id.country_id.code", "=", "BE")]) == ["carla"]
    # a negative condition through a many2one still needs a parent
    assert found(odoo, [("parent_id.name", "!=", "Alpha BV")]) == ["carla"]
    assert found(odoo, [("child_ids.email", "ilike", "alpha.nl")]) == ["alpha"]
    # a name on a many2one: a name search on the comodel (Carla has her company's country)
    assert found(odoo, [("country_id", "=", "Belgium")]) == ["beta", "carla"]
    assert found(odoo, [("country_id", "ilike", "nether"), ("is_company", "=", True)]) == ["alpha"]
    assert found(odoo, [("country_id", "!=", "Belgium"), ("parent_id", "=", odoo.ids["beta"])]) == []
    assert found(odoo, [("child_ids", "in", [odoo.ids["carla"]])]) == ["beta"]
    assert "eva" in found(odoo, [("child_ids", "=", False)]) and "alpha" not in found(odoo, [("child_ids", "=", False)])
    assert found(odoo, [("child_ids", "any", [("name", "=", "Anna")])]) == ["alpha"]
    assert found(odoo, [("is_company", "=", True), ("child_ids", "not any", [("email", "!=", False)])]) == []


def test_child_of_and_parent_of(odoo):
    alpha, anna = odoo.ids["alpha"], odoo.ids["anna"]
    assert found(odoo, [("id", "child_of", alpha)]) == ["alpha", "anna", "bert"]
    assert found(odoo, [("id", "child_of", alpha)], context={"active_test": False}) == ["alpha", "anna", "bert",
                                                                                         "dirk"]
    assert found(odoo, [("parent_id", "child_of", [alpha])]) == ["anna", "bert"]
    assert found(odoo, [("id", "parent_of", odoo.ids["dirk"])]) == ["alpha", "anna"]
    assert found(odoo, [("id", "child_of", "Beta NV")]) == ["beta", "carla"]  # by name
    assert found(odoo, [("id", "parent_of", anna), ("id", "!=", anna)]) == ["alpha"]


def test_active_test(odoo):
    assert "gamma" not in found(odoo, [])
    assert "gamma" in found(odoo, [], context={"active_test": False})
    assert found(odoo, [("active", "=", False)]) == ["dirk", "gamma"]  # naming 'active' disables the default
    assert "gamma" in found(odoo, [("active", "in", [True, False])])
    [row] = odoo.execute("res.partner", "read", [odoo.ids["gamma"]], fields=["active", "name"])
    assert row["active"] is False  # read by id ignores active_test
    [anna] = odoo.execute("res.partner", "read", [odoo.ids["anna"]], fields=["child_ids"])
    assert anna["child_ids"] == []  # child_ids lists active contacts only


def test_order_offset_limit_count(odoo):
    mine = [("id", "in", list(odoo.ids.values()))]
    all_ids = odoo.execute("res.partner", "search", mine, order="id desc")
    assert all_ids == sorted(all_ids, reverse=True)
    by_name = odoo.execute("res.partner", "search", mine, order="name asc, id")
    assert [odoo.names[i] for i in by_name] == ["alpha", "anna", "bert", "beta", "carla", "eva"]
    # NULLs last ascending, first descending
    cities = [odoo.names[i] for i in odoo.execute("res.partner", "search", mine, order="city desc, id")]
    assert cities == ["eva", "alpha", "anna", "bert", "beta", "carla"]
    assert odoo.execute("res.partner", "search", mine, order="id", offset=2, limit=2) == sorted(all_ids)[2:4]
    assert odoo.execute("res.partner", "search", mine, limit=0) != []  # limit 0: no limit
    assert odoo.execute("res.partner", "search_count", mine) == 6
    assert odoo.execute("res.partner", "search_count", mine, limit=4) == 4
    page = odoo.execute("res.partner", "search_read", mine, fields=["name"], order="name desc", limit=2)
    assert [r["name"] for r in page] == ["Eva Jansen", "Carla"]
    # default order of res.partner: complete_name, so contacts sort under their company
    default = [odoo.names[i] for i in odoo.execute("res.partner", "search", mine)]
    assert default.index("alpha") < default.index("anna") < default.index("beta")


@pytest.mark.parametrize(("domain", "kwargs", "expected"), [
    ([("nope", "=", 1)], {}, "Invalid field res.partner.nope in leaf"),
    ([("name", "~", "x")], {}, "Invalid operator"),
    ([("name", "=")], {}, "Invalid leaf"),
    (["|", ("name", "=", "x")], {}, "syntactically not correct"),
    ("name = x", {}, "Invalid domain"),
    ([("customer_rank", ">", "many")], {}, "ValueError"),
    ([("write_date", ">", "2024-01-01T10:00:00")], {}, "does not match format"),
    ([("name", "=", "x"), "name"], {}, "Invalid domain term"),
    ([], {"order": "name; drop table"}, 'Invalid "order" specified'),
    ([], {"order": "nope desc"}, "Invalid field 'nope' on model 'res.partner'"),
    ([], {"order": "child_ids"}, "not stored"),
])
def test_invalid_domains_are_value_errors(odoo, domain, kwargs, expected):
    caught = fault(odoo, domain, **kwargs)
    assert caught.faultCode == 1  # not a UserError: the generic fault with the traceback
    assert "ValueError" in caught.faultString.splitlines()[-1] and expected in caught.faultString
