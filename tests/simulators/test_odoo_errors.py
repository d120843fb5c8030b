"""Each Odoo error in each wire format: XML-RPC faults (integer and legacy string codes),
JSON-RPC error objects (HTTP 200, code per version), JSON-2 HTTP statuses (a UserError's own
status, 500 for Python's errors as Odoo's dispatcher answers them); bad input is never a
simulator bug; credentials (passwords, API keys, expiry, 2FA, unknown database)."""
from __future__ import annotations

import logging
import xmlrpc.client

import pytest
import requests

from sandbox.odoo import ADMIN_UID, DEFAULT_API_KEY
from sandbox.odoo.clients import OdooServer


def _prepare(server: OdooServer) -> OdooServer:
    ex = server.execute
    other = ex("res.company", "create", {"name": "Elsewhere BV"})
    server.hidden = ex("res.partner", "create", {"name": "Hidden", "company_id": other})
    server.gone = ex("res.partner", "create", {"name": "Gone"})
    ex("res.partner", "unlink", [server.gone])
    server.posted = ex("account.move", "create", {"move_type": "out_invoice", "partner_id": 1,
                                                  "invoice_line_ids": [(0, 0, {"name": "x", "price_unit": 5})]})
    ex("account.move", "action_post", [server.posted])
    return server


@pytest.fixture(scope="module", params=[17, 18, 19])
def odoo(request):
    with OdooServer(version=request.param) as server:
        yield _prepare(server)


@pytest.fixture(scope="module")
def odoo19():
    with OdooServer(version=19) as server:
        yield _prepare(server)


# (case, model, method, args, kwargs) -> Odoo exception; each protocol renders it its own way.
CASES = {
    "AccessError": ("res.partner", "read", lambda s: [[s.hidden], ["name"]],
                    {"context": {"allowed_company_ids": [1]}}),
    "ValidationError": ("res.partner", "create", lambda s: [{"name": "x", "vat": "BE0123456789"}], {}),
    "UserError": ("account.move", "action_post", lambda s: [[s.posted]], {}),
    "MissingError": ("res.partner", "write", lambda s: [[s.gone], {"name": "x"}], {}),
}
XMLRPC_CODES = {"AccessError": 4, "ValidationError": 2, "UserError": 2, "MissingError": 2}
JSON2_STATUS = {"AccessError": 403, "ValidationError": 422, "UserError": 422, "MissingError": 404}
LEGACY = {"AccessError": "warning -- AccessError", "ValidationError": "warning -- UserError",
          "UserError": "warning -- UserError", "MissingError": "warning -- MissingError"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_odoo_exceptions_in_xmlrpc_and_jsonrpc(odoo, case):
    model, method, args, kwargs = CASES[case]
    with pytest.raises(xmlrpc.client.Fault) as caught:
        odoo.execute(model, method, *args(odoo), **kwargs)
    assert caught.value.faultCode == XMLRPC_CODES[case]
    message = caught.value.faultString
    assert message and "Traceback" not in message  # the exception's own text, no traceback
    with pytest.raises(xmlrpc.client.Fault) as legacy:
        odoo.proxy("object", legacy=True).execute_kw(odoo.db, ADMIN_UID, "admin", model, method, args(odoo), kwargs)
    assert legacy.value.faultCode == f"{LEGACY[case]}\n\n{message}"
    body = odoo.call(model, method, *args(odoo), **kwargs)
    error = body["error"]
    assert error["code"] == (0 if odoo.state.version >= 19 else 200) and error["message"] == "Odoo Server Error"
    data = error["data"]
    assert data["name"] == f"odoo.exceptions.{case}" and data["message"] == message
    assert data["arguments"] == [message] and data["context"] == {}
    assert data["debug"].startswith("Traceback") and data["debug"].rstrip().endswith(f"{case}: {message}")


@pytest.mark.parametrize("case", sorted(CASES))
def test_odoo_exceptions_in_json2(odoo19, case):
    model, method, args, kwargs = CASES[case]
    values = args(odoo19)
    # the same call with JSON-2's named arguments
    names = {"read": ("ids", "fields"), "create": ("vals_list",), "action_post": ("ids",), "write": ("ids", "vals")}
    named = dict(zip(names[method], values if method != "create" else [values], strict=True))
    response = odoo19.json2(model, method, **named, **kwargs)
    assert response.status_code == JSON2_STATUS[case]
    body = response.json()
    assert body["name"] == f"odoo.exceptions.{case}" and set(body) == {"name", "message", "arguments", "context",
                                                                      "debug"}


def test_access_denied_everywhere(odoo):
    with pytest.raises(xmlrpc.client.Fault) as caught:
        odoo.execute("res.partner", "search", [], password="wrong")
    assert (caught.value.faultCode, caught.value.faultString) == (3, "Access Denied")
    with pytest.raises(xmlrpc.client.Fault) as legacy:
        odoo.proxy("object", legacy=True).execute_kw(odoo.db, ADMIN_UID, "wrong", "res.partner", "search", [[]])
    assert legacy.value.faultCode == "AccessDenied"
    error = odoo.call("res.partner", "search", [], password="wrong")["error"]
    assert error["data"]["name"] == "odoo.exceptions.AccessDenied" and error["data"]["message"] == "Access Denied"
    assert odoo.jsonrpc("common", "login", odoo.db, "admin", "wrong")["result"] is False
    assert odoo.jsonrpc("common", "login", odoo.db, "nobody", "admin")["result"] is False
    assert odoo.state.counters()["access_denied"] >= 3


def test_api_keys_2fa_and_unknown_database(odoo):
    key = odoo.state.add_api_key(expires_in_s=60)
    assert odoo.execute("res.partner", "search_count", [], password=key) > 0
    odoo.state.clock.advance(120)
    with pytest.raises(xmlrpc.client.Fault, match="Access Denied"):
        odoo.execute("res.partner", "search_count", [], password=key)
    uid = odoo.state.add_user("twofactor", "secret", totp=True)
    assert odoo.proxy("common").login(odoo.db, "twofactor", "secret") is False  # 2FA: no password over RPC
    user_key = odoo.state.add_api_key(uid)
    assert odoo.proxy("common").login(odoo.db, "twofactor", user_key) == uid
    with pytest.raises(xmlrpc.client.Fault) as caught:
        odoo.proxy("common").login("no_such_db", "admin", "admin")
    assert caught.value.faultCode == 1 and 'database "no_such_db" does not exist' in caught.value.faultString
    error = odoo.jsonrpc("object", "execute_kw", "no_such_db", ADMIN_UID, "admin", "res.partner", "search", [[]])
    assert error["error"]["data"]["name"] == "psycopg2.OperationalError"


def test_unknown_model_method_and_private_method(odoo):
    with pytest.raises(xmlrpc.client.Fault) as model:
        odoo.execute("no.such.model", "search", [])
    assert model.value.faultCode == 2 and model.value.faultString == "Object no.such.model doesn't exist"
    with pytest.raises(xmlrpc.client.Fault) as method:
        odoo.execute("res.partner", "frobnicate", [])
    expected = ("The method 'frobnicate' does not exist on the model 'res.partner'" if odoo.state.version == 17
                else "The method 'res.partner.frobnicate' does not exist")
    assert method.value.faultCode == 1 and f"AttributeError: {expected}" in method.value.faultString
    data = odoo.call("res.partner", "frobnicate", [])["error"]["data"]
    assert data["name"] == "builtins.AttributeError" and data["message"] == expected
    with pytest.raises(xmlrpc.client.Fault) as private:
        odoo.execute("res.partner", "_read", [1])
    assert private.value.faultCode == 4
    with pytest.raises(xmlrpc.client.Fault, match="Method not available exec_workflow"):
        odoo.proxy("object").exec_workflow(odoo.db, ADMIN_UID, "admin", "res.partner", "x", 1)


def test_bad_domain_is_a_value_error_in_each_protocol(odoo):
    with pytest.raises(xmlrpc.client.Fault) as caught:
        odoo.execute("res.partner", "search", [("nope", "=", 1)])
    # the traceback ends as Python prints it: "ValueError: ...", the class name as data.name says it
    assert caught.value.faultCode == 1 and caught.value.faultString.rstrip().splitlines()[-1].startswith(
        "ValueError: Invalid field res.partner.nope")
    assert odoo.call("res.partner", "search", [("nope", "=", 1)])["error"]["data"]["name"] == "builtins.ValueError"
    response = odoo.json2("res.partner", "search", domain=[("nope", "=", 1)])
    if odoo.state.version == 19:
        # not a UserError: Odoo's JSON-2 dispatcher answers 500 with the error body
        assert response.status_code == 500 and response.json()["name"] == "builtins.ValueError"


def test_json2_routing_and_binding_errors(odoo19):
    odoo = odoo19
    checks = [
        (odoo.json2("res.partner", "search", key="wrong", domain=[]), 401, "Invalid apikey"),
        (odoo.json2("res.partner", "search", key=None, domain=[]), 401, "Invalid apikey"),
        (odoo.json2("res.partner", "search", key="admin", domain=[]), 401, "Invalid apikey"),  # passwords: no
        (odoo.json2("no.model", "search", domain=[]), 404, "the model 'no.model' does not exist"),
        (odoo.json2("res.partner", "frobnicate"), 404, "The method 'res.partner.frobnicate' does not exist"),
        (odoo.json2("res.partner", "_read", ids=[1]), 403, "Private methods"),
        (odoo.json2("res.partner", "search", ids=[1], domain=[]), 422, "cannot call res.partner.search with ids"),
        (odoo.json2("res.partner", "search_count", domain=[], bogus_kwarg=1), 422, "unexpected keyword argument"),
        (odoo.json2("res.partner", "create", ids=[1], vals_list=[{"name": "x"}]), 422, "with ids"),
        (odoo.json2("res.partner", "search", headers={"X-Odoo-Database": "other"}, domain=[]), 404, "other"),
    ]
    for response, status, text in checks:
        assert response.status_code == status, (response.status_code, response.text)
        assert text in response.json()["message"]
    unauthorized = odoo.json2("res.partner", "search", key="wrong", domain=[])
    assert unauthorized.json()["name"] == "werkzeug.exceptions.Unauthorized"
    assert unauthorized.json()["arguments"] == ["Invalid apikey", 401]
    assert unauthorized.headers["WWW-Authenticate"].lower().startswith("bearer")
    for path in ("/json/2", "/json/2/res.partner", "/json/2/res.partner/search/extra"):
        hint = requests.post(odoo.url + path, json={}, timeout=5)
        assert hint.status_code == 404 and "Did you mean POST /json/2/<model>/<method>?" in hint.json()["message"]
    assert requests.get(f"{odoo.url}/json/2/res.partner/search", timeout=5).status_code == 404
    bad_json = requests.post(f"{odoo.url}/json/2/res.partner/search", data="{nope",
                             headers={"Authorization": f"bearer {DEFAULT_API_KEY}",
                                      "Content-Type": "application/json"}, timeout=5)
    assert bad_json.status_code == 400 and "could not parse the body as json" in bad_json.json()["message"]
    # a body that is not an object is ignored, so search_read runs without arguments
    listed = requests.post(f"{odoo.url}/json/2/res.partner/search_read", json=[1, 2],
                           headers={"Authorization": f"bearer {DEFAULT_API_KEY}"}, timeout=5)
    assert listed.status_code == 200 and isinstance(listed.json(), list)


def test_jsonrpc_envelope_rules(odoo):
    url = f"{odoo.url}/jsonrpc"
    assert requests.post(url, data="{", headers={"Content-Type": "application/json"}, timeout=5).text \
        == "Invalid JSON data"
    assert requests.post(url, json=[1], timeout=5).text == "Invalid JSON-RPC data"
    assert requests.post(url, data="x=1", timeout=5).status_code == 400  # form data: not a JSON route
    body = requests.post(url, json={"jsonrpc": "2.0", "id": "abc", "params": {"service": "common",
                                                                             "method": "version"}}, timeout=5).json()
    assert body["id"] == "abc" and body["result"]["server_version"] == f"{odoo.state.version}.0"
    # no route: werkzeug's HTML 404 even for a JSON request (Odoo's "http" dispatcher until a route matches)
    unknown = requests.post(f"{odoo.url}/web/no/such/route", json={"jsonrpc": "2.0", "params": {}}, timeout=5)
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("text/html")
    assert requests.get(f"{odoo.url}/web/no/such/route", timeout=5).status_code == 404


BAD_XMLRPC = [
    b"not xml at all", b"<?xml version='1.0'?><methodCall><methodName>x</methodName>",
    xmlrpc.client.dumps(("sandbox", "two", "admin", "res.partner", "search", [[]]), "execute_kw").encode(),
    xmlrpc.client.dumps(("sandbox", 2, "admin", 5, "search", [[]]), "execute_kw").encode(),
    xmlrpc.client.dumps(("sandbox", 2, "admin", "res.partner", "search", "notalist"), "execute_kw").encode(),
    xmlrpc.client.dumps(("sandbox", 2, "admin", "res.partner", "search", [[]], ["kw"]), "execute_kw").encode(),
    xmlrpc.client.dumps(("sandbox", 2, "admin", "res.partner", "read", [["x"]]), "execute_kw").encode(),
    xmlrpc.client.dumps(("sandbox", 2, "admin", "res.partner", "write", [[1], "vals"]), "execute_kw").encode(),
    xmlrpc.client.dumps(("sandbox", 2, "admin", "res.partner", "create", [[1, 2]]), "execute_kw").encode(),
    xmlrpc.client.dumps(("sandbox", 2, "admin", "res.partner", "search", [[]], {"context": [1]}), "execute_kw").encode(),
    xmlrpc.client.dumps(("sandbox", 2, "admin", "res.partner", "search", [[]], {"limit": "many"}),
                        "execute_kw").encode(),
    xmlrpc.client.dumps(("sandbox", 2, "admin", "res.partner", "write", [[1], {"child_ids": "x"}]),
                        "execute_kw").encode(),
    xmlrpc.client.dumps(("sandbox", 2, "admin", "res.partner", "search_read", [[]], {"fields": 5}),
                        "execute_kw").encode(),
    xmlrpc.client.dumps((), "execute_kw").encode(),
]
BAD_JSON2 = [
    ("res.partner", "search", {"domain": "x"}), ("res.partner", "search_read", {"fields": 5}),
    ("res.partner", "create", {"vals_list": "abc"}), ("res.partner", "read", {"ids": "x"}),
    ("res.partner", "search", {"domain": [], "context": [1]}), ("res.partner", "write", {"ids": [1], "vals": 3}),
    ("res.partner", "search", {"domain": [], "limit": "x"}), ("account.move", "action_post", {"ids": [[1]]}),
    ("res.partner", "search", {"domain": [["id", "in", 5, 6]]}), ("res.partner", "create", {"vals_list": [[]]}),
    ("res.partner", "read", {"ids": [1], "fields": ["name"], "lod": None}),
    ("res.partner", "search", {"domain": [], "context": {"allowed_company_ids": "1"}}),
]


def test_bad_input_is_never_a_server_error(odoo19, caplog):
    caplog.set_level(logging.ERROR, logger="sandbox.odoo")
    for body in BAD_XMLRPC:
        response = requests.post(f"{odoo19.url}/xmlrpc/2/object", data=body, timeout=5)
        assert response.status_code == 200, body
        with pytest.raises(xmlrpc.client.Fault):
            xmlrpc.client.loads(response.content)
    for params in (None, [1], {"service": "object", "method": "execute_kw", "args": "x"},
                   {"service": "object", "method": "execute_kw", "args": [odoo19.db, 2, "admin", "res.partner"]},
                   {"service": "nope", "method": "x", "args": []}, {"service": "common", "method": "nope"}):
        response = requests.post(f"{odoo19.url}/jsonrpc", json={"jsonrpc": "2.0", "id": 1, "params": params},
                                 timeout=5)
        assert response.status_code == 200 and "error" in response.json(), params
    for model, method, body in BAD_JSON2:
        response = odoo19.json2(model, method, **body)
        error = response.json()
        assert set(error) == {"name", "message", "arguments", "context", "debug"}
        # a routing/binding error is a 4xx; a bad value fails inside the method: Python's error, 500
        assert 400 <= response.status_code < 500 or (
            response.status_code == 500 and error["name"].startswith("builtins.")), (model, method, body, error)
    assert not [r for r in caplog.records if "simulator bug" in r.getMessage()]
