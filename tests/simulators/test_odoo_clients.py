"""Unchanged third-party and stdlib clients against the Odoo simulator, on 17, 18 and 19:
OdooRPC (JSON-RPC + web routes), Odoo S.A.'s odoo-client-lib (``odoolib``: legacy XML-RPC,
JSON-RPC, and JSON-2 on 19 with ``/doc-bearer`` naming its positional arguments),
``xmlrpc.client.ServerProxy``, and plain requests on JSON-2."""
from __future__ import annotations

import xmlrpc.client

import odoolib
import odoorpc
import pytest
from odoolib.tools import AuthenticationError

from sandbox.odoo import ADMIN_UID, DEFAULT_API_KEY
from sandbox.odoo.clients import OdooServer


@pytest.fixture(scope="module", params=[17, 18, 19])
def odoo(request):
    with OdooServer(version=request.param) as server:
        yield server


def test_odoorpc_detects_version_logs_in_and_reads_context(odoo):
    client = odoo.odoorpc()
    assert client.version == f"{odoo.state.version}.0"
    assert client.env.uid == ADMIN_UID
    assert client.env.context["lang"] == "en_US" and client.env.context["uid"] == ADMIN_UID
    assert client.db.list() == [odoo.db]
    assert "res.partner" in client.env and "no.such.model" not in client.env


def test_odoorpc_creates_browses_writes_and_searches(odoo):
    client = odoo.odoorpc()
    Partner = client.env["res.partner"]
    netherlands = client.env["res.country"].search([("code", "=", "NL")])[0]
    company_id = Partner.create({"name": f"OdooRPC BV {odoo.state.version}", "is_company": True,
                                 "country_id": netherlands, "city": "Utrecht"})
    contact_id = Partner.create({"name": "Sanne de Vries", "parent_id": company_id})
    company = Partner.browse(company_id)
    assert company.is_company is True and company.company_type == "company"
    assert company.country_id.code == "NL"  # many2one browsed as a record
    assert [c.id for c in company.child_ids] == [contact_id]
    contact = Partner.browse(contact_id)
    assert contact.display_name == f"OdooRPC BV {odoo.state.version}, Sanne de Vries"
    assert contact.city == "Utrecht"  # a contact takes its company's address
    company.email = "info@odoorpc.example"  # auto_commit: one write call
    assert Partner.search_read([("email", "=", "info@odoorpc.example")], ["name"]) == [
        {"id": company_id, "name": f"OdooRPC BV {odoo.state.version}"}]
    assert Partner.search([("parent_id", "=", company_id)]) == [contact_id]
    assert Partner.search_count([("id", "child_of", company_id)]) == 2


def test_rpc_still_works_on_19_but_counts_as_deprecated(odoo):
    before = odoo.state.counters()["deprecated_calls"]
    assert odoo.proxy("common").version()["server_version"] == f"{odoo.state.version}.0"
    odoo.jsonrpc("common", "version")
    after = odoo.state.counters()["deprecated_calls"]
    assert after - before == (2 if odoo.state.version >= 19 else 0)


def test_odoorpc_wrong_password_and_api_key(odoo):
    with pytest.raises(odoorpc.error.RPCError, match="Wrong login ID or password"):
        odoo.odoorpc(password="nope")
    client = odoo.odoorpc(password=DEFAULT_API_KEY)  # OdooRPC logs in with common.login: keys work there
    assert client.env.user.login == "admin"


def test_odoorpc_reports_server_errors_with_odoo_data(odoo):
    client = odoo.odoorpc()
    assert client.execute("res.partner", "read", [999999], ["name"]) == []  # read skips deleted ids
    with pytest.raises(odoorpc.error.RPCError) as caught:
        client.execute("res.partner", "write", [999999], {"name": "x"})  # write does not
    assert caught.value.info["data"]["name"] == "odoo.exceptions.MissingError"
    assert caught.value.info["code"] == (0 if odoo.state.version >= 19 else 200)


def test_xmlrpc_common_and_object(odoo):
    common = odoo.proxy("common")
    version = common.version()
    assert version["server_version"] == f"{odoo.state.version}.0"
    assert version["server_version_info"][:2] == [odoo.state.version, 0] and version["protocol_version"] == 1
    assert common.login(odoo.db, "admin", "admin") == ADMIN_UID
    assert common.authenticate(odoo.db, "admin", "wrong", {}) is False
    assert common.authenticate(odoo.db, "admin", DEFAULT_API_KEY, {}) == ADMIN_UID
    models = odoo.proxy("object")
    pid = models.execute_kw(odoo.db, ADMIN_UID, DEFAULT_API_KEY, "res.partner", "create",
                            [{"name": "XML BV", "is_company": True}])
    assert isinstance(pid, int)
    assert models.execute_kw(odoo.db, ADMIN_UID, DEFAULT_API_KEY, "res.partner", "write",
                             [[pid], {"ref": "DEB-1"}]) is True
    [row] = models.execute_kw(odoo.db, ADMIN_UID, DEFAULT_API_KEY, "res.partner", "read", [[pid]],
                              {"fields": ["ref", "write_date", "country_id"]})
    assert row["ref"] == "DEB-1" and row["country_id"] is False
    assert len(row["write_date"]) == 19 and row["write_date"][10] == " "  # 'YYYY-MM-DD HH:MM:SS'
    # execute (positional) as well as execute_kw
    assert models.execute(odoo.db, ADMIN_UID, "admin", "res.partner", "search", [("ref", "=", "DEB-1")]) == [pid]
    assert models.execute_kw(odoo.db, ADMIN_UID, "admin", "res.partner", "unlink", [[pid]]) is True
    assert models.execute_kw(odoo.db, ADMIN_UID, "admin", "res.partner", "read", [[pid, 1]],
                             {"fields": ["name"]}) == [{"id": 1, "name": "Tribe Sync Demo B.V."}]
    with pytest.raises(xmlrpc.client.Fault) as caught:
        models.execute_kw(odoo.db, ADMIN_UID, "admin", "res.partner", "write", [[pid], {"name": "x"}])
    assert caught.value.faultCode == 2 and "Record does not exist or has been deleted" in caught.value.faultString


def test_json2_with_requests_only_on_19(odoo):
    response = odoo.json2("res.partner", "search_read", domain=[("is_company", "=", True)], fields=["name"])
    if odoo.state.version < 19:
        # No such route: werkzeug's HTML 404, JSON request or not.
        assert response.status_code == 404 and "<title>404 Not Found</title>" in response.text
        plain = odoo.http.post(f"{odoo.url}/json/2/res.partner/search", data="x",
                               headers={"Content-Type": "text/plain"}, timeout=5)
        assert plain.status_code == 404 and "Not Found" in plain.text
        return
    assert response.status_code == 200
    assert {"id": 1, "name": "Tribe Sync Demo B.V."} in response.json()
    created = odoo.json2("res.partner", "create", vals_list=[{"name": "JSON-2 BV"}, {"name": "JSON-2 Person"}])
    assert created.status_code == 200 and len(created.json()) == 2  # JSON-2 create: always a list of ids
    one = odoo.json2("res.partner", "create", vals_list={"name": "Single"})
    assert isinstance(one.json(), list) and len(one.json()) == 1
    wrote = odoo.json2("res.partner", "write", ids=created.json(), vals={"ref": "J2"})
    assert wrote.status_code == 200 and wrote.json() is True
    names = odoo.json2("res.partner", "read", ids=created.json(), fields=["name", "ref"]).json()
    assert [r["ref"] for r in names] == ["J2", "J2"]
    assert odoo.json2("res.partner", "search_count", domain=[("ref", "=", "J2")]).json() == 2
    assert odoo.json2("res.users", "context_get").json()["uid"] == ADMIN_UID
    version = odoo.http.get(f"{odoo.url}/web/version", timeout=5).json()
    assert version == {"version_info": [19, 0, 0, "final", 0, ""], "version": "19.0"}


def test_web_session_routes(odoo):
    http = odoo.http.__class__()
    url = odoo.url

    def post(path, params):
        return http.post(url + path, json={"jsonrpc": "2.0", "method": "call", "params": params, "id": 1},
                         timeout=5).json()

    refused = post("/web/session/authenticate", {"db": odoo.db, "login": "admin", "password": DEFAULT_API_KEY})
    assert refused["error"]["data"]["name"] == "odoo.exceptions.AccessDenied"  # keys are not for web sessions
    expired = post("/web/dataset/call_kw", {"model": "res.partner", "method": "search", "args": [[]], "kwargs": {}})
    assert expired["error"]["code"] == 100 and expired["error"]["message"] == "Odoo Session Expired"
    info = post("/web/session/authenticate", {"db": odoo.db, "login": "admin", "password": "admin"})["result"]
    assert info["uid"] == ADMIN_UID and info["server_version"] == f"{odoo.state.version}.0"
    assert "session_id" in http.cookies
    assert post("/web/session/get_session_info", {})["result"]["username"] == "admin"
    found = post("/web/dataset/call_kw/res.partner/search_read",
                 {"model": "res.partner", "method": "search_read", "args": [[("id", "=", 1)]],
                  "kwargs": {"fields": ["name"], "context": {"lang": "en_US"}}})
    assert found["result"] == [{"id": 1, "name": "Tribe Sync Demo B.V."}]
    assert post("/web/session/destroy", {})["result"] is None
    assert post("/web/session/get_session_info", {})["error"]["code"] == 100


def _odoolib(odoo, protocol: str):
    return odoolib.get_connection(hostname=odoo._thread.host, port=odoo._thread.port, protocol=protocol,
                                  database=odoo.db, login="admin", password=DEFAULT_API_KEY)


@pytest.mark.parametrize(("odoo", "protocol"), [*((v, p) for v in (17, 18, 19) for p in ("xmlrpc", "jsonrpc")),
                                                (19, "json2")], indirect=["odoo"])
def test_odoo_client_lib_over_each_protocol(odoo, protocol):
    """odoolib as shipped: XML-RPC (legacy /xmlrpc), JSON-RPC, and on 19 JSON-2, where it asks
    /doc-bearer/<model>.json for the parameter names of positional arguments."""
    connection = _odoolib(odoo, protocol)
    assert connection.get_user_context()["uid"] == ADMIN_UID
    partners = connection.get_model("res.partner")
    name = f"odoolib {protocol} {odoo.state.version}"
    created = partners.create([{"name": name, "is_company": True}])  # a list: JSON-2 and RPC agree
    [pid] = created if isinstance(created, list) else [created]
    assert partners.search([("name", "=", name)]) == [pid]
    assert partners.read(pid, ["name", "is_company"]) == {"id": pid, "name": name, "is_company": True}
    assert partners.write([pid], {"ref": "LIB-1"}) is True
    assert partners.search_read([("ref", "=", "LIB-1")], ["name"]) == [{"id": pid, "name": name}]
    assert partners.name_search(name) == [[pid, name]]
    assert partners.name_create("Lib Contact <lib@example.com>")[1] == "Lib Contact"
    assert partners.unlink([pid]) is True
    assert partners.search_count([("id", "=", pid)]) == 0
    if protocol == "json2":
        assert partners.default_get(["lang", "is_company"]) == {"lang": "en_US", "is_company": False}
        wrong = odoolib.get_connection(hostname=odoo._thread.host, port=odoo._thread.port, protocol="json2",
                                       database=odoo.db, password="wrong")
        assert connection.check_login() is True and wrong.check_login() is False
        with pytest.raises(AuthenticationError):  # keyword arguments only: no /doc-bearer look-up first
            wrong.get_model("res.partner").search_count(domain=[])
        with pytest.raises(ValueError, match="Unexpected status code 500"):  # a bad domain: not a UserError
            partners.search([("nope", "=", 1)])
