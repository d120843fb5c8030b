"""Where the simulator once answered unlike Odoo (issue 24, item 4), per version and protocol:
``read`` skips deleted ids, ``name_create``, ``name_search``'s and ``default_get``'s parameter
names, JSON-2's 500 for Python's errors, ``/doc-bearer/<model>.json``, unknown paths, and the
last line of a traceback."""
from __future__ import annotations

import xmlrpc.client

import pytest
import requests

from sandbox.odoo import ADMIN_UID, DEFAULT_API_KEY
from sandbox.odoo.clients import OdooServer


@pytest.fixture(scope="module", params=[17, 18, 19])
def odoo(request):
    with OdooServer(version=request.param) as server:
        server.gone = server.execute("res.partner", "create", {"name": "Deleted Later"})
        server.kept = server.execute("res.partner", "create", {"name": "Kept BV"})
        server.execute("res.partner", "unlink", [server.gone])
        yield server


def _result(body: dict) -> object:
    assert "error" not in body, body["error"]
    return body["result"]


def test_read_skips_deleted_ids_in_every_protocol(odoo):
    both, only_gone = [odoo.gone, odoo.kept], [odoo.gone]
    kept = [{"id": odoo.kept, "name": "Kept BV"}]
    assert odoo.execute("res.partner", "read", both, ["name"]) == kept
    assert odoo.execute("res.partner", "read", only_gone, ["name"]) == []
    legacy = odoo.proxy("object", legacy=True)
    assert legacy.execute_kw(odoo.db, ADMIN_UID, "admin", "res.partner", "read", [both], {"fields": ["name"]}) == kept
    assert _result(odoo.call("res.partner", "read", both, ["name"])) == kept
    assert _result(odoo.call("res.partner", "read", only_gone, fields=["name"])) == []
    if odoo.state.version >= 19:
        response = odoo.json2("res.partner", "read", ids=both, fields=["name"])
        assert response.status_code == 200 and response.json() == kept
        assert odoo.json2("res.partner", "read", ids=only_gone, fields=["name"]).json() == []
    # writing a deleted record still raises MissingError (Odoo's test asserts that too)
    with pytest.raises(xmlrpc.client.Fault) as caught:
        odoo.execute("res.partner", "write", only_gone, {"name": "x"})
    assert caught.value.faultCode == 2 and "Record does not exist or has been deleted" in caught.value.faultString


def test_name_create_answers_id_and_display_name(odoo):
    version = odoo.state.version
    pid, name = odoo.execute("res.partner", "name_create", f"Jansen {version}")
    assert name == f"Jansen {version}"
    assert odoo.execute("res.partner", "read", [pid], ["name", "email"]) == [
        {"id": pid, "name": name, "email": False}]
    # res.partner reads "Name <email>" as both; a bare address is the name too
    pid, name = _result(odoo.call("res.partner", "name_create", f"Piet de Boer <Piet{version}@Example.com>"))
    assert name == "Piet de Boer"
    assert odoo.execute("res.partner", "read", [pid], ["email"])[0]["email"] == f"piet{version}@example.com"
    pid, name = odoo.execute("res.partner", "name_create", f"info{version}@example.com")
    assert name == f"info{version}@example.com"
    with pytest.raises(xmlrpc.client.Fault) as caught:
        odoo.execute("res.partner", "name_create", "No Address", context={"force_email": True})
    assert caught.value.faultCode == 2 and "without email address" in caught.value.faultString
    # the generic ORM method on another model
    category = odoo.execute("product.category", "name_create", f"Widgets {version}")
    assert category[1] == f"Widgets {version}"
    if version >= 19:
        response = odoo.json2("res.partner", "name_create", name="Over JSON-2")
        assert response.status_code == 200 and response.json()[1] == "Over JSON-2"


def test_name_search_takes_args_until_18_and_domain_in_19(odoo):
    version = odoo.state.version
    right, wrong = ("args", "domain") if version <= 18 else ("domain", "args")
    found = odoo.execute("res.partner", "name_search", "Kept", **{right: [("id", "=", odoo.kept)]})
    assert found == [[odoo.kept, "Kept BV"]]
    with pytest.raises(xmlrpc.client.Fault) as caught:
        odoo.execute("res.partner", "name_search", "Kept", **{wrong: []})
    assert caught.value.faultCode == 1 and f"unexpected keyword argument '{wrong}'" in caught.value.faultString
    # positionally the domain is the second argument on every version
    assert odoo.execute("res.partner", "name_search", "Kept", [("id", "=", odoo.kept)]) == found
    if version >= 19:
        assert odoo.json2("res.partner", "name_search", name="Kept", domain=[("id", "=", odoo.kept)]).json() == found
        assert odoo.json2("res.partner", "name_search", name="Kept", args=[]).status_code == 422


def test_default_get_takes_fields_list_until_18_and_fields_in_19(odoo):
    right, wrong = ("fields_list", "fields") if odoo.state.version <= 18 else ("fields", "fields_list")
    assert odoo.execute("res.partner", "default_get", **{right: ["is_company", "active"]}) == {
        "is_company": False, "active": True}
    with pytest.raises(xmlrpc.client.Fault) as caught:
        odoo.execute("res.partner", "default_get", **{wrong: ["active"]})
    assert f"TypeError: default_get() got an unexpected keyword argument '{wrong}'" in caught.value.faultString
    if odoo.state.version >= 19:
        assert odoo.json2("res.partner", "default_get", fields=["active"]).json() == {"active": True}
        assert odoo.json2("res.partner", "default_get", fields_list=["active"]).status_code == 422


@pytest.mark.parametrize("odoo", [19], indirect=True)  # JSON-2 is 19's
def test_json2_answers_python_errors_500_and_user_errors_their_status(odoo):
    unknown_field = odoo.json2("res.partner", "search_read", domain=[], fields=["no_such_field"])
    body = unknown_field.json()
    assert unknown_field.status_code == 500 and body["name"] == "builtins.ValueError"
    assert body["message"] == "Invalid field 'no_such_field' on model 'res.partner'"
    assert body["arguments"] == [body["message"]] and body["context"] == {}
    assert body["debug"].rstrip().splitlines()[-1] == f"ValueError: {body['message']}"
    user_error = odoo.json2("res.partner", "create", vals_list=[{"name": "x", "vat": "BE0123456789"}])
    assert user_error.status_code == 422 and user_error.json()["name"] == "odoo.exceptions.ValidationError"


def _doc(odoo, path: str, key: str | None = DEFAULT_API_KEY, **headers: str) -> requests.Response:
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return requests.get(f"{odoo.url}/doc-bearer/{path}", headers=headers, timeout=10)


def test_doc_bearer_describes_a_model_on_19_only(odoo):
    response = _doc(odoo, "res.partner.json")
    if odoo.state.version < 19:
        assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
        return
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-cache, private"
    doc = response.json()
    assert (doc["model"], doc["name"], doc["doc"]) == ("res.partner", "Contact", None)
    assert doc["fields"]["name"]["type"] == "char" and doc["fields"]["name"]["module"] == "base"
    assert doc["fields"]["id"]["module"] is None  # magic fields come from no module
    methods = doc["methods"]
    assert methods["search"]["parameters"] == {"domain": {}, "offset": {"annotation": "int", "default": 0},
                                               "limit": {"annotation": "int | None", "default": None},
                                               "order": {"annotation": "str | None", "default": None}}
    assert methods["search"]["signature"] == "(domain, offset=0, limit=None, order=None)"
    assert methods["search"]["api"] == ["model", "readonly"] and methods["search"]["model"] == "core"
    assert list(methods["read"]["parameters"]) == ["fields", "load"] and "api" in methods["read"]
    assert list(methods["write"]["parameters"]) == ["vals"] and "api" not in methods["write"]
    assert list(methods["create"]["parameters"]) == ["vals_list"] and methods["create"]["api"] == ["model"]
    assert list(methods["name_search"]["parameters"]) == ["name", "domain", "operator", "limit"]
    assert list(methods["default_get"]["parameters"]) == ["fields"]
    assert methods["search_read"]["parameters"]["read_kwargs"] == {"kind": "VAR_KEYWORD"}
    assert methods["name_create"]["model"] == "res.partner" and "name_get" not in methods
    assert not [name for name in methods if name.startswith("_")]
    moves = _doc(odoo, "account.move.json").json()["methods"]
    assert moves["action_post"]["module"] == "account" and list(moves["action_post"]["parameters"]) == []
    # the client cache: the same document answers 304 to its ETag
    again = _doc(odoo, "res.partner.json", **{"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and not again.content


@pytest.mark.parametrize("odoo", [19], indirect=True)  # api_doc is 19's
def test_doc_bearer_needs_the_key_the_group_and_a_model(odoo):
    for key in (None, "wrong", "admin"):
        refused = _doc(odoo, "res.partner.json", key=key)
        assert refused.status_code == 401 and refused.json()["name"] == "werkzeug.exceptions.Unauthorized"
    uid = odoo.state.add_user("clerk", "secret")
    forbidden = _doc(odoo, "res.partner.json", key=odoo.state.add_api_key(uid))
    assert forbidden.status_code == 403 and forbidden.json()["name"] == "odoo.exceptions.AccessError"
    missing = _doc(odoo, "no.such.model.json")
    assert missing.status_code == 404 and missing.json()["name"] == "werkzeug.exceptions.NotFound"
    index = _doc(odoo, "index.json").json()
    assert "base" in index["modules"] and "api_doc" in index["modules"]
    partner = next(m for m in index["models"] if m["model"] == "res.partner")
    assert partner["fields"]["name"] == {"string": "Name"} and "search_read" in partner["methods"]


def test_an_unknown_path_is_an_html_404_even_for_json(odoo):
    for path in ("/web/no/such/route", "/no-such-path"):
        response = requests.post(odoo.url + path, json={"jsonrpc": "2.0", "method": "call", "params": {}}, timeout=5)
        assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
    on_json2 = odoo.json2("res.partner", "search", domain=[])
    if odoo.state.version < 19:
        assert on_json2.status_code == 404 and "<title>404 Not Found</title>" in on_json2.text
        assert requests.get(f"{odoo.url}/web/version", timeout=5).status_code == 404
    else:
        assert on_json2.status_code == 200


def test_tracebacks_end_as_python_prints_them(odoo):
    with pytest.raises(xmlrpc.client.Fault) as caught:
        odoo.execute("res.partner", "search", [("nope", "=", 1)])
    last = caught.value.faultString.rstrip().splitlines()[-1]
    assert last.startswith("ValueError: Invalid field res.partner.nope") and "builtins" not in last
    with pytest.raises(xmlrpc.client.Fault) as caught:
        odoo.execute("res.partner", "frobnicate", [])
    assert caught.value.faultString.rstrip().splitlines()[-1].startswith("AttributeError: The method")
    error = odoo.call("res.partner", "search", [("nope", "=", 1)])["error"]["data"]
    assert error["name"] == "builtins.ValueError"  # the name keeps the module; the traceback does not
    assert error["debug"].rstrip().splitlines()[-1] == f"ValueError: {error['message']}"
    user = odoo.call("res.partner", "create", {"name": "x", "vat": "BE0123456789"})["error"]["data"]
    assert user["debug"].rstrip().endswith(f"\nodoo.exceptions.ValidationError: {user['message']}")
    if odoo.state.version >= 19:
        missing = odoo.json2("no.model", "search", domain=[]).json()
        assert missing["debug"].rstrip().splitlines()[-1] == (
            "werkzeug.exceptions.NotFound: 404 Not Found: the model 'no.model' does not exist")
