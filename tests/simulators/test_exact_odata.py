"""The Exact simulator's OData v2: envelopes, paging, query options, mandatory filters, Accept,
dates and codes, writes, the error envelope; and the divisions a user and a grant reach."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from sandbox.exact.seed import BE, FOREIGN, NL, NL_OLD


def _fill(exact, division: int, total: int) -> None:
    have = len(exact.state.store.table(division, "crm/Accounts"))
    for n in range(have, total):
        exact.state.insert(division, "crm/Accounts", {"Name": f"Relatie {n:03d}", "Status": "C"})


def _pages(exact, token, path, params, division=NL_OLD):
    pages, url = [], path
    while url:
        response = exact.get(url, token, division=division, params=params if url == path else None)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"d"} and set(body["d"]) <= {"results", "__next"}  # nothing else in the envelope
        pages.append(body["d"]["results"])
        url = body["d"].get("__next")
    return pages


def test_150_accounts_come_in_pages_of_60_in_key_order_with_absolute_next_links(exact, token):
    _fill(exact, NL_OLD, 150)
    first = exact.get("crm/Accounts", token, division=NL_OLD, params={"$filter": "Blocked eq false",
                                                                     "$select": "ID,Name"}).json()["d"]
    assert first["__next"].startswith(f"{exact.url}/api/v1/{NL_OLD}/crm/Accounts?")
    query = parse_qs(urlsplit(first["__next"]).query)
    assert query["$skiptoken"] == [f"guid'{first['results'][-1]['ID']}'"] and query["$select"] == ["ID,Name"]
    pages = _pages(exact, token, "crm/Accounts", {"$filter": "Blocked eq false", "$select": "ID,Name"})
    assert [len(p) for p in pages] == [60, 60, 30]
    ids = [row["ID"] for page in pages for row in page]
    assert ids == sorted(ids) and len(set(ids)) == 150
    assert set(pages[0][0]) == {"__metadata", "ID", "Name"}


def test_top_caps_the_whole_result_and_inlinecount_is_a_string(exact, token):
    _fill(exact, NL_OLD, 150)
    params = {"$filter": "Blocked eq false", "$select": "ID", "$top": "70", "$inlinecount": "allpages"}
    body = exact.get("crm/Accounts", token, division=NL_OLD, params=params).json()["d"]
    assert body["__count"] == "150" and len(body["results"]) == 60
    assert parse_qs(urlsplit(body["__next"]).query)["$top"] == ["10"]
    rest = exact.get(body["__next"], token).json()["d"]
    assert len(rest["results"]) == 10 and "__next" not in rest
    plain = exact.get("crm/Accounts", token, division=NL_OLD, params={"$filter": "Blocked eq false",
                                                                     "$top": "1"}).json()["d"]
    assert "__count" not in plain


@pytest.mark.parametrize(("expression", "expected"), [
    ("Code eq '                 1'", ["Bakkerij van der Berg"]),
    ("trim(Code) eq '2'", ["De Vries Installatietechniek B.V."]),
    ("Name eq 'BAKKERIJ VAN DER BERG'", ["Bakkerij van der Berg"]),  # SQL Server collation
    ("substringof('Heuvel', Name) eq true", ["Van den Heuvel & Zn."]),
    ("startswith(Name, 'Drukkerij') and Blocked eq true", ["Drukkerij De Boer"]),
    ("Blocked eq true and (IsSupplier eq true or Status eq 'C')", ["'t Hooghe Huys Catering", "Drukkerij De Boer"]),
    ("Status eq 'P'", ["Van Dijk Software"]),
    ("Country eq 'NL' and City eq 'Breda'", ["'t Hooghe Huys Catering"]),  # Country is padded "NL "
])
def test_filters_with_v2_literals_and_functions(exact, token, expression, expected):
    rows = exact.get("crm/Accounts", token, params={"$filter": f"({expression}) and Code le '                 8'",
                                                    "$select": "Name"}).json()["d"]["results"]
    assert sorted(r["Name"] for r in rows) == sorted(expected)


def test_guid_datetime_and_int64_literals(exact, token):
    account = next(iter(exact.state.store.table(NL, "crm/Accounts").values()))
    by_id = exact.get("crm/Accounts", token, params={"$filter": f"ID eq guid'{account['ID']}'"}).json()["d"]["results"]
    assert [r["ID"] for r in by_id] == [account["ID"]]
    since = exact.get("crm/Accounts", token, params={"$filter": "Modified ge datetime'2000-01-01T00:00:00'",
                                                     "$select": "ID", "$inlinecount": "allpages"}).json()["d"]
    assert since["__count"] == str(len(exact.state.store.table(NL, "crm/Accounts")))
    future = exact.get("crm/Accounts", token, params={"$filter": "Modified gt datetime'2999-01-01'"}).json()["d"]
    assert future["results"] == []
    receivables = exact.get("read/financial/ReceivablesList", token, params={"$filter": "HID gt 0L"})
    assert receivables.status_code == 200 and receivables.json()["d"]["results"]


@pytest.mark.parametrize(("expression", "message"), [
    ("Nope eq 1", "No property 'Nope' exists in type 'Exact.Web.Api.Models.Account'"),
    ("ID eq 'abc'", "Operator 'eq' incompatible with operand types 'System.Guid' and 'System.String'"),
    ("Modified gt '2024-01-01'", "incompatible with operand types 'System.DateTime'"),
    ("Code in ('1','2')", "Syntax error"),  # no 'in' in OData v2
    ("Name eq", "Expression expected"),
])
def test_bad_filters_are_400s_in_wcf_words(exact, token, expression, message):
    response = exact.get("crm/Accounts", token, params={"$filter": expression})
    assert response.status_code == 400 and message in response.json()["error"]["message"]["value"]


def test_mandatory_filters_on_accounts_and_items_name_the_fields(exact, token):
    for path in ("crm/Accounts", "logistics/Items", "bulk/CRM/Accounts"):
        refused = exact.get(path, token, params={"$select": "ID"})
        assert refused.status_code == 400, path
        text = refused.json()["error"]["message"]["value"]
        assert text.startswith("This endpoint has mandatory filtering applied.") and "Code" in text and "ID" in text
    not_listed = exact.get("crm/Accounts", token, params={"$filter": "Website eq 'x'"})
    assert not_listed.status_code == 400  # a filter, but on none of the listed fields
    assert exact.get("crm/Contacts", token).status_code == 200
    account = next(iter(exact.state.store.table(NL, "crm/Accounts")))
    assert exact.get(f"crm/Accounts(guid'{account}')", token).status_code == 200  # by key: no filter needed


def test_without_accept_json_the_answer_is_atom_or_406(exact, token):
    atom = exact.get("financial/Journals", token, headers={"Accept": "*/*"})
    assert atom.status_code == 200 and atom.headers["content-type"].startswith("application/atom+xml")
    entries = ET.fromstring(atom.content).findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == len(exact.state.store.table(NL, "financial/Journals"))
    exact.state.options.accept_mode = "406"
    assert exact.get("financial/Journals", token, headers={"Accept": "application/xml"}).status_code == 406


def test_dates_are_amsterdam_wall_time_read_as_utc_and_codes_are_padded(exact, token):
    created = exact.post("crm/Accounts", token, {"Name": "Nieuwe Relatie", "Country": "NL"})
    assert created.status_code == 201
    row = created.json()["d"]
    ms = int(row["Modified"][len("/Date("):-len(")/")])
    shown = datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)
    now = exact.state.now()
    offset = round((shown - now.replace(tzinfo=None)).total_seconds() / 3600)
    assert offset in (1, 2) and offset * 3600 == now.astimezone(ZoneInfo("Europe/Amsterdam")).utcoffset().total_seconds()
    highest = max(int(r["Code"]) for r in exact.state.store.table(NL, "crm/Accounts").values()
                  if r["ID"] != row["ID"])
    assert row["Code"] == str(highest + 1).rjust(18) and len(row["Code"]) == 18
    assert row["Country"] == "NL "
    coded = exact.post("crm/Accounts", token, {"Name": "Met Code", "Code": "ABC"}).json()["d"]
    assert coded["Code"] == "               ABC"


def test_post_201_put_and_delete_204_with_an_empty_body(exact, token):
    created = exact.post("crm/Accounts", token, {"Name": "Tijdelijk B.V.", "City": "Delft"})
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"d"} and body["d"]["__metadata"]["type"] == "Exact.Web.Api.Models.Account"
    uri = body["d"]["__metadata"]["uri"]
    put = exact.call("PUT", uri, token, json={"City": "Leiden"})
    assert put.status_code == 204 and put.content == b""
    assert exact.get(uri, token).json()["d"]["City"] == "Leiden"
    deleted = exact.call("DELETE", uri, token)
    assert deleted.status_code == 204 and deleted.content == b""
    gone = exact.get(uri, token)
    assert gone.status_code == 404 and set(gone.json()) == {"error"}
    assert set(gone.json()["error"]) == {"code", "message"} and set(gone.json()["error"]["message"]) == {"lang", "value"}


def test_unknown_fields_and_bad_values_are_refused(exact, token):
    unknown = exact.post("crm/Accounts", token, {"Name": "X", "Colour": "red"})
    assert unknown.status_code == 400 and "'Colour'" in unknown.json()["error"]["message"]["value"]
    bad_guid = exact.post("crm/Contacts", token, {"Account": "not-a-guid", "LastName": "X"})
    assert bad_guid.status_code == 400 and "'Guid'" in bad_guid.json()["error"]["message"]["value"]
    no_name = exact.post("crm/Accounts", token, {"City": "Delft"})
    assert no_name.status_code == 400


def test_current_me_and_the_three_division_lists(exact, token):
    me = exact.http.get(f"{exact.url}/api/v1/current/Me", params={"$select": "CurrentDivision,FullName"},
                        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}).json()
    assert len(me["d"]["results"]) == 1 and me["d"]["results"][0]["CurrentDivision"] == NL
    system = exact.get("system/Divisions", token).json()["d"]["results"]
    assert {r["Code"] for r in system} == {NL, BE, NL_OLD}
    assert [r["Code"] for r in system if r["Current"]] == [NL]
    for path in ("hrm/Divisions", "system/AllDivisions"):
        assert FOREIGN in {r["Code"] for r in exact.get(path, token).json()["d"]["results"]}
    exact.get("financial/Journals", token, division=BE)
    me = exact.http.get(f"{exact.url}/api/v1/current/Me", headers={"Authorization": f"Bearer {token}",
                                                                   "Accept": "application/json"}).json()
    assert me["d"]["results"][0]["CurrentDivision"] == BE  # the division last used


def test_divisions_outside_the_user_or_the_grant_are_403s(exact):
    exact.state.consent_divisions = {NL}
    token = exact.authorize_and_exchange()["access_token"]
    assert exact.get("financial/Journals", token).status_code == 200
    scoped = exact.get("financial/Journals", token, division=BE)
    assert scoped.status_code == 403
    text = scoped.json()["error"]["message"]["value"]
    assert "User division is not within division scope" in text and str(BE) in text
    wrong = exact.get("financial/Journals", token, division=FOREIGN)
    assert wrong.status_code == 403 and wrong.headers["Reason"] == "NoDivisionAccess"
    assert "WrongDivision" in wrong.json()["error"]["message"]["value"]
    exact.state.forbid_reason = "LicenseExpired"
    assert exact.get("financial/Journals", token).headers["Reason"] == "LicenseExpired"


def test_orderby_and_count(exact, token):
    rows = exact.get("logistics/Items", token, params={"$filter": "IsSalesItem eq true", "$orderby": "Code desc",
                                                       "$select": "Code"}).json()["d"]["results"]
    codes = [r["Code"] for r in rows]
    assert codes == sorted(codes, reverse=True)
    count = exact.get("financial/Journals/$count", token)
    assert count.text == str(len(exact.state.store.table(NL, "financial/Journals")))


def test_items_show_their_unit_group_and_ended_ones(exact, token):
    rows = exact.get("logistics/Items", token, params={"$filter": "EndDate ne null",
                                                       "$select": "Code,EndDate,UnitDescription,ItemGroupCode"})
    ended = rows.json()["d"]["results"]
    assert {r["Code"] for r in ended} == {"OLD-900", "OLD-901"}
    assert all(r["EndDate"].startswith("/Date(") and r["ItemGroupCode"] == "1" for r in ended)


def test_every_entity_set_answers_a_get_in_the_envelope(exact, token):
    from sandbox.exact.entities import SPECS

    for spec in {s.path: s for s in SPECS.values()}.values():
        params = {"$select": spec.key} if spec.kind in {"sync", "bulk"} else {}
        if spec.mandatory:
            params["$filter"] = "Modified ge datetime'2000-01-01'" if "Modified" in spec.mandatory else "Code ne ''"
        response = exact.get(spec.path, token, params=params)
        assert response.status_code == 200, (spec.path, response.text)
        assert set(response.json()["d"]) <= {"results", "__next"}, spec.path


def test_a_blocked_division_is_a_403_with_its_reason(exact, token):
    exact.state.divisions[BE]["Blocked"] = True
    refused = exact.get("financial/Journals", token, division=BE)
    assert refused.status_code == 403 and refused.headers["Reason"] == "DivisionBlocked"
