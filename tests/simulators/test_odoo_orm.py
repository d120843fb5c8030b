"""ORM semantics over the wire: create dict vs list, x2many commands, value formats, write_date
at transaction start, multi-company visibility, per-version fields, name_search/name_get."""
from __future__ import annotations

import xmlrpc.client
from datetime import datetime

import pytest

from sandbox.odoo.clients import OdooServer


@pytest.fixture(scope="module")
def odoo():
    with OdooServer(version=17) as server:
        yield server


@pytest.fixture(scope="module", params=[17, 18, 19])
def any_version(request):
    with OdooServer(version=request.param) as server:
        yield server


def fault_of(call, *args, **kwargs) -> xmlrpc.client.Fault:
    with pytest.raises(xmlrpc.client.Fault) as caught:
        call(*args, **kwargs)
    return caught.value


def test_create_dict_gives_an_id_and_a_list_gives_ids(any_version):
    odoo = any_version
    assert isinstance(odoo.execute("res.partner", "create", {"name": "One"}), int)
    assert len(odoo.execute("res.partner", "create", [{"name": "Only"}])) == 1
    two = odoo.execute("res.partner", "create", [{"name": "A"}, {"name": "B"}])
    assert isinstance(two, list) and len(two) == 2 and two[1] == two[0] + 1
    body = odoo.call("res.partner", "create", {"name": "JSON-RPC"})
    assert isinstance(body["result"], int)


def test_one2many_commands(odoo):
    company = odoo.execute("res.partner", "create", {"name": "Commands BV", "is_company": True,
                                                     "child_ids": [(0, 0, {"name": "Kees"}), (0, 0, {"name": "Lies"})]})

    def children():
        return [r["name"] for r in odoo.execute("res.partner", "search_read", [("parent_id", "=", company)],
                                                 fields=["name"], order="name")]

    assert children() == ["Kees", "Lies"]
    kees, lies = odoo.execute("res.partner", "search", [("parent_id", "=", company)], order="name")
    loose = odoo.execute("res.partner", "create", {"name": "Mark"})
    odoo.execute("res.partner", "write", [company], {"child_ids": [(1, kees, {"name": "Kees Jr"}), (4, loose)]})
    assert children() == ["Kees Jr", "Lies", "Mark"]
    odoo.execute("res.partner", "write", [company], {"child_ids": [(3, loose)]})  # unlink: Mark stays, parentless
    assert children() == ["Kees Jr", "Lies"]
    assert odoo.execute("res.partner", "read", [loose], fields=["parent_id"])[0]["parent_id"] is False
    odoo.execute("res.partner", "write", [company], {"child_ids": [(2, lies)]})  # delete
    assert odoo.execute("res.partner", "search", [("id", "=", lies)], context={"active_test": False}) == []
    odoo.execute("res.partner", "write", [company], {"child_ids": [(6, 0, [loose])]})  # replace
    assert children() == ["Mark"]
    odoo.execute("res.partner", "write", [company], {"child_ids": [kees]})  # a plain id list replaces too
    assert children() == ["Kees Jr"]
    odoo.execute("res.partner", "write", [company], {"child_ids": [(5,)]})  # clear (short tuple, as OdooRPC sends)
    assert children() == []


def test_many2many_commands_and_bad_commands(odoo):
    taxes = odoo.execute("account.tax", "search", [("type_tax_use", "=", "sale")], order="id")
    product = odoo.execute("product.template", "create", {"name": "M2M", "taxes_id": [(6, 0, taxes[:2])]})

    def linked():
        return odoo.execute("product.template", "read", [product], fields=["taxes_id"])[0]["taxes_id"]

    assert linked() == taxes[:2]
    odoo.execute("product.template", "write", [product], {"taxes_id": [(4, taxes[2]), (3, taxes[0])]})
    assert linked() == [taxes[1], taxes[2]]
    odoo.execute("product.template", "write", [product], {"taxes_id": [(0, 0, {"name": "Eco 2%", "amount": 2.0})]})
    assert len(linked()) == 3
    odoo.execute("product.template", "write", [product], {"taxes_id": False})
    assert linked() == []
    missing = fault_of(odoo.execute, "product.template", "write", [product], {"taxes_id": [(4, 999999)]})
    assert missing.faultCode == 2 and "another model requires the record" in missing.faultString  # FK violation
    bad = fault_of(odoo.execute, "product.template", "write", [product], {"taxes_id": [(9, 0, 0)]})
    assert bad.faultCode == 1 and "Invalid x2many command" in bad.faultString


def test_value_formats(odoo):
    # JSON carries a control character that XML cannot; XML-RPC answers without it.
    pid = odoo.call("res.partner", "create", {"name": "Formats\x01 BV", "country_id": 1})["result"]
    assert odoo.call("res.partner", "read", [pid], fields=["name"])["result"][0]["name"] == "Formats\x01 BV"
    [row] = odoo.execute("res.partner", "read", [pid], fields=["name", "country_id", "parent_id", "child_ids",
                                                               "customer_rank", "create_date"])
    assert row["name"] == "Formats BV"  # XML-illegal control characters are stripped
    assert row["country_id"] == [1, "Netherlands"] and row["parent_id"] is False and row["child_ids"] == []
    assert row["customer_rank"] == 0
    datetime.strptime(row["create_date"], "%Y-%m-%d %H:%M:%S")
    [plain] = odoo.execute("res.partner", "read", [pid], fields=["country_id"], load="_classic_write")
    assert plain["country_id"] == 1  # what OdooRPC asks for
    move = odoo.execute("account.move", "create", {"move_type": "out_invoice", "partner_id": pid,
                                                   "invoice_date": datetime(2026, 1, 31, 15, 0)})
    assert odoo.execute("account.move", "read", [move], fields=["invoice_date"])[0]["invoice_date"] == "2026-01-31"
    bad = fault_of(odoo.execute, "res.partner", "write", [pid], {"type": "private"})
    assert bad.faultCode == 1 and "Wrong value for res.partner.type: 'private'" in bad.faultString
    iso = fault_of(odoo.execute, "res.partner", "search", [("write_date", ">", "2026-01-01T00:00:00Z")])
    assert "ValueError" in iso.faultString


def test_write_date_is_the_transaction_start_and_follows_the_clock(odoo):
    a, b = odoo.execute("res.partner", "create", [{"name": "Clock A"}, {"name": "Clock B"}])
    first = odoo.execute("res.partner", "read", [a, b], fields=["create_date", "write_date"])
    assert first[0]["write_date"] == first[1]["write_date"] == first[0]["create_date"]
    odoo.state.clock.advance(3600)
    odoo.execute("res.partner", "write", [a, b], {"ref": "moved"})
    later = odoo.execute("res.partner", "read", [a, b], fields=["create_date", "write_date"])
    assert later[0]["write_date"] == later[1]["write_date"]
    gap = datetime.fromisoformat(later[0]["write_date"]) - datetime.fromisoformat(first[0]["write_date"])
    assert 3600 <= gap.total_seconds() < 3700
    assert later[0]["create_date"] == first[0]["create_date"]
    # The column keeps microseconds that read() drops: '>' the value read still finds the row.
    assert a in odoo.execute("res.partner", "search", [("write_date", ">", later[0]["write_date"])])


def test_company_address_and_vat_reach_the_contacts(odoo):
    company = odoo.execute("res.partner", "create", {"name": "Sync BV", "is_company": True, "city": "Delft"})
    contact = odoo.execute("res.partner", "create", {"name": "Piet", "parent_id": company})
    invoice = odoo.execute("res.partner", "create", {"name": "Facturen", "parent_id": company, "type": "invoice",
                                                     "city": "Gouda"})
    before = odoo.execute("res.partner", "read", [contact], fields=["write_date"])[0]["write_date"]
    odoo.state.clock.advance(5)
    odoo.execute("res.partner", "write", [company], {"city": "Leiden", "vat": "NL004495445B01"})
    rows = {r["id"]: r for r in odoo.execute("res.partner", "read", [contact, invoice],
                                             fields=["city", "vat", "write_date"])}
    assert rows[contact]["city"] == "Leiden" and rows[invoice]["city"] == "Gouda"  # only contacts follow
    assert rows[contact]["vat"] == rows[invoice]["vat"] == "NL004495445B01"
    assert rows[contact]["write_date"] > before
    bad = fault_of(odoo.execute, "res.partner", "write", [company], {"vat": "NL123456789B01"})
    assert bad.faultCode == 2 and "does not seem to be valid" in bad.faultString


def test_multi_company_rules(odoo):
    other = odoo.execute("res.company", "create", {"name": "Sim Belgium BV"})  # the creator gets access
    theirs = odoo.execute("res.partner", "create", {"name": "Only Belgium", "company_id": other})
    shared = odoo.execute("res.partner", "create", {"name": "Everyone"})
    nl = {"context": {"allowed_company_ids": [1]}}
    assert theirs in odoo.execute("res.partner", "search", [("name", "in", ["Only Belgium", "Everyone"])])
    assert odoo.execute("res.partner", "search", [("name", "in", ["Only Belgium", "Everyone"])], **nl) == [shared]
    read = fault_of(odoo.execute, "res.partner", "read", [theirs], fields=["name"], **nl)
    write = fault_of(odoo.execute, "res.partner", "write", [theirs], {"ref": "x"}, **nl)
    assert read.faultCode == write.faultCode == 4  # AccessError
    assert "multi-company" in write.faultString
    invalid = fault_of(odoo.execute, "res.partner", "search", [], context={"allowed_company_ids": [1, 999]})
    assert invalid.faultCode == 4 and "Access to unauthorized or invalid companies." in invalid.faultString
    uid = odoo.state.add_user("nl-only", "pw", company_ids=[1])
    assert odoo.execute("res.partner", "search", [("id", "=", theirs)], uid=uid, password="pw") == []
    assert fault_of(odoo.execute, "res.partner", "search", [], uid=uid, password="pw",
                    context={"allowed_company_ids": [other]}).faultCode == 4
    # records of the current company: journals of the Belgian company are invisible from the Dutch one
    assert odoo.execute("account.journal", "search", [("company_id", "=", other)], **nl) == []


def test_readonly_user_and_private_methods(odoo):
    uid = odoo.state.add_user("reader", "pw", readonly=True)
    assert odoo.execute("res.partner", "search_count", [], uid=uid, password="pw") > 0
    denied = fault_of(odoo.execute, "res.partner", "create", {"name": "x"}, uid=uid, password="pw")
    assert denied.faultCode == 4 and "not allowed to create" in denied.faultString
    assert odoo.execute("res.partner", "check_access_rights", "write", False, uid=uid, password="pw") is False
    private = fault_of(odoo.execute, "res.partner", "_write", [1], {"name": "x"})
    assert private.faultCode == 4 and "Private methods" in private.faultString


def test_a_failing_call_changes_nothing_but_uses_up_ids(odoo):
    before = odoo.execute("res.partner", "create", {"name": "Before"})
    bad = fault_of(odoo.execute, "res.partner", "create", {"name": "Atomic BV", "child_ids": [
        (0, 0, {"name": "Created first"}), (0, 0, {"email": "nameless@atomic.example"})]})
    assert bad.faultCode == 2 and "Contacts require a name" in bad.faultString
    assert odoo.execute("res.partner", "search", ["|", ("name", "in", ["Atomic BV", "Created first"]),
                                                  ("email", "=", "nameless@atomic.example")]) == []
    after = odoo.execute("res.partner", "create", {"name": "After"})
    assert after > before + 1  # like PostgreSQL sequences, ids of a rolled-back call are not reused


def test_missing_records_and_unknown_fields(odoo):
    pid = odoo.execute("res.partner", "create", {"name": "Short-lived"})
    assert odoo.execute("res.partner", "unlink", [pid]) is True
    assert odoo.execute("res.partner", "unlink", [pid]) is True  # already gone: no complaint
    assert odoo.execute("res.partner", "exists", [pid]) == []
    assert odoo.execute("res.partner", "read", [pid], ["name"]) == []  # read skips deleted ids
    gone = fault_of(odoo.execute, "res.partner", "write", [pid], {"name": "x"})  # write does not
    assert gone.faultCode == 2 and f"res.partner({pid},)" in gone.faultString
    unknown = fault_of(odoo.execute, "res.partner", "create", {"name": "x", "colour": "red"})
    assert unknown.faultCode == 1 and "Invalid field 'colour' on model 'res.partner'" in unknown.faultString
    used = odoo.execute("res.partner", "create", {"name": "Has invoices"})
    odoo.execute("account.move", "create", {"move_type": "out_invoice", "partner_id": used})
    restricted = fault_of(odoo.execute, "res.partner", "unlink", [used])
    assert restricted.faultCode == 2 and "archive it instead" in restricted.faultString
    assert odoo.execute("res.partner", "action_archive", [used]) is True


def test_products_template_and_variant(odoo):
    template = odoo.execute("product.template", "create", {"name": "Widget", "default_code": "W-1", "list_price": 12})
    [variant] = odoo.execute("product.product", "search", [("product_tmpl_id", "=", template)])
    [row] = odoo.execute("product.product", "read", [variant], fields=["display_name", "lst_price", "default_code",
                                                                       "uom_id"])
    assert row["display_name"] == "[W-1] Widget" and row["lst_price"] == 12.0 and row["uom_id"][1] == "Units"
    made = odoo.execute("product.product", "create", {"name": "Gadget", "default_code": "G-1", "list_price": 5})
    [tmpl] = odoo.execute("product.product", "read", [made], fields=["product_tmpl_id"])
    assert odoo.execute("product.template", "read", [tmpl["product_tmpl_id"][0]], fields=["name", "default_code"])[0] \
        == {"id": tmpl["product_tmpl_id"][0], "name": "Gadget", "default_code": "G-1"}
    odoo.execute("product.product", "write", [made], {"list_price": 7.5})
    assert odoo.execute("product.template", "read", [tmpl["product_tmpl_id"][0]],
                        fields=["list_price"])[0]["list_price"] == 7.5
    odoo.execute("product.template", "write", [template], {"active": False})
    assert odoo.execute("product.product", "search", [("id", "=", variant)]) == []


def test_fields_get_per_version(any_version):
    odoo = any_version
    version = odoo.state.version
    partner = odoo.execute("res.partner", "fields_get", attributes=["type", "string", "relation", "required"])
    assert ("mobile" in partner) == (version < 19)
    assert partner["country_id"] == {"type": "many2one", "string": "Country", "relation": "res.country",
                                     "required": False}
    assert "company_type" in partner and "name_get" not in partner
    account = odoo.execute("account.account", "fields_get", ["company_id", "company_ids", "deprecated", "active"])
    assert set(account) == ({"company_ids", "deprecated"} if version == 18 else
                            {"company_ids", "active"} if version == 19 else {"company_id", "deprecated"})
    template = odoo.execute("product.template", "fields_get", attributes=["selection"])
    assert ("detailed_type" in template) == (version == 17)
    assert [k for k, _ in template["type"]["selection"]] == (["consu", "service"] if version == 17
                                                             else ["consu", "service", "combo"])
    assert ("category_id" in odoo.execute("uom.uom", "fields_get")) == (version < 19)
    if version < 19:
        pid = odoo.execute("res.partner", "create", {"name": "Mobile", "mobile": "+31 6 1234 5678"})
        assert odoo.execute("res.partner", "read", [pid], fields=["mobile"])[0]["mobile"] == "+31 6 1234 5678"
    else:
        gone = fault_of(odoo.execute, "res.partner", "create", {"name": "Mobile", "mobile": "+31 6 1234 5678"})
        assert "Invalid field 'mobile' on model 'res.partner'" in gone.faultString


def test_name_search_and_name_get(any_version):
    odoo = any_version
    pid = odoo.execute("res.partner", "create", {"name": "Zoekbaar BV", "ref": "DEB-777", "is_company": True})
    assert [pid, "Zoekbaar BV"] in odoo.execute("res.partner", "name_search", "DEB-777")  # ref is searched too
    key = "args" if odoo.state.version <= 18 else "domain"  # renamed in 19
    assert odoo.execute("res.partner", "name_search", "zoek", **{key: [("is_company", "=", True)]}) \
        == [[pid, "Zoekbaar BV"]]
    if odoo.state.version == 17:
        assert odoo.execute("res.partner", "name_get", [pid]) == [[pid, "Zoekbaar BV"]]
    else:
        gone = fault_of(odoo.execute, "res.partner", "name_get", [pid])
        assert gone.faultCode == 1 and "The method 'res.partner.name_get' does not exist" in gone.faultString
