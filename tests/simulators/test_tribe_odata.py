"""Tribe simulator over real HTTP: OAuth2 tokens and the OData read side ($filter, $select...)."""
from __future__ import annotations

import base64
from datetime import datetime, timedelta

import pytest
import requests

from sandbox.common import ServerThread
from sandbox.tribe import TribeState, create_app, seed

CLIENT = {"grant_type": "client_credentials", "client_id": "tribe-sync", "client_secret": "tribe-secret"}


@pytest.fixture(scope="module")
def tribe():
    state = TribeState(rate_limit=0)
    seed(state, organisations=230, persons=40, products=20, rng_seed=7)
    with ServerThread(create_app(state)) as server:
        yield state, server.url


class Api:
    """GET /v1/odata/<path> with a bearer token: ``api("Product", **{"$top": "5"})``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()
        token = self.session.post(f"{url}/oauth2/token", data=CLIENT, timeout=5).json()["access_token"]
        self.session.headers["Authorization"] = f"Bearer {token}"

    def __call__(self, path: str, **params: str) -> requests.Response:
        return self.session.get(f"{self.url}/v1/odata/{path}", params=params, timeout=10)

    def every(self, path: str, **params: str) -> list[dict]:
        """All rows, following @odata.nextLink past the 100-row page cap."""
        body = self(path, **params).json()
        rows = body["value"]
        while "@odata.nextLink" in body:
            body = self.session.get(body["@odata.nextLink"], timeout=10).json()
            rows += body["value"]
        return rows


@pytest.fixture(scope="module")
def api(tribe):
    return Api(tribe[1])


def values(response: requests.Response) -> list[dict]:
    assert response.status_code == 200, response.text
    return response.json()["value"]


def error_message(response: requests.Response, status: int = 400) -> str:
    assert response.status_code == status, response.text
    return response.json()["error"]["message"]


# ---- OAuth2 -------------------------------------------------------------------------------
def test_token_issue_expiry_and_reauth(tribe):
    state, url = tribe
    issued = requests.post(f"{url}/oauth2/token", data={**CLIENT, "scope": "read write"}, timeout=5)
    assert issued.status_code == 200
    body = issued.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600 and body["scope"] == "read write"
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert requests.get(f"{url}/v1/odata/Datastore_Unit", headers=headers, timeout=5).status_code == 200
    # The token also works as a query parameter.
    as_param = requests.get(f"{url}/v1/odata/Datastore_Unit", params={"access_token": body["access_token"]}, timeout=5)
    assert as_param.status_code == 200

    state.clock.advance(4000)
    expired = requests.get(f"{url}/v1/odata/Datastore_Unit", headers=headers, timeout=5)
    assert expired.status_code == 401
    assert "expired" in expired.json()["error"]["message"]

    fresh = requests.post(f"{url}/oauth2/token", data=CLIENT, timeout=5).json()["access_token"]
    again = requests.get(f"{url}/v1/odata/Datastore_Unit", headers={"Authorization": f"Bearer {fresh}"}, timeout=5)
    assert again.status_code == 200 and len(again.json()["value"]) == 4


def test_basic_auth_and_bad_credentials(tribe):
    _, url = tribe
    basic = base64.b64encode(b"tribe-sync:tribe-secret").decode()
    ok = requests.post(f"{url}/oauth2/token", data={"grant_type": "client_credentials"},
                       headers={"Authorization": f"Basic {basic}"}, timeout=5)
    assert ok.status_code == 200 and ok.json()["access_token"]

    bad = requests.post(f"{url}/oauth2/token", data={**CLIENT, "client_secret": "nope"}, timeout=5)
    assert bad.status_code == 401
    assert bad.json()["error"] == "invalid_client" and bad.json()["error_description"]

    grant = requests.post(f"{url}/oauth2/token", data={**CLIENT, "grant_type": "password"}, timeout=5)
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"

    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        denied = requests.get(f"{url}/v1/odata/Relation_Organization", headers=headers, timeout=5)
        assert denied.status_code == 401 and denied.json()["error"]["code"] == "Unauthorized"


def test_added_client(tribe):
    state, url = tribe
    state.add_client("other", "s3cret")
    ok = requests.post(f"{url}/oauth2/token", data={**CLIENT, "client_id": "other", "client_secret": "s3cret"}, timeout=5)
    assert ok.status_code == 200


# ---- shapes, paging, $count ----------------------------------------------------------------
def test_collection_shape_with_explicit_nulls(api):
    body = api("Relation_Organization", **{"$top": "1"}).json()
    assert body["@odata.context"] == "$metadata#OData.Relation_Organization"
    org = body["value"][0]
    for key in ("ID", "_Type", "_Name", "CreationDate", "LastMutationDate", "ImportId", "Name", "VatNumber",
                "DebtorNumber", "CreditorNumber", "FinancialEmailAddress", "ChamberOfCommerceNumber"):
        assert key in org
    assert org["_Type"] == "Relation.Organization" and org["ImportId"] is None
    assert org["CreationDate"].endswith("Z") and datetime.fromisoformat(org["LastMutationDate"])
    assert "VisitingAddress" not in org  # navigations only appear when expanded


def test_paging_cap_next_link_and_count(tribe, api):
    state, _ = tribe
    total = len(state.all("Relation_Organization"))
    assert total > 200
    first = api("Relation_Organization", **{"$count": "true", "$filter": "IsActive ne null"}).json()
    assert len(first["value"]) == 100
    matching = sum(1 for o in state.all("Relation_Organization") if o["IsActive"] is not None)
    assert first["@odata.count"] == matching
    assert "$skip=100" in first["@odata.nextLink"] and "IsActive%20ne%20null" in first["@odata.nextLink"]

    seen = [o["ID"] for o in first["value"]]
    link = first["@odata.nextLink"]
    while link:
        page = api.session.get(link, timeout=10).json()
        seen += [o["ID"] for o in page["value"]]
        link = page.get("@odata.nextLink")
    assert len(seen) == len(set(seen)) == matching


def test_top_skip_and_large_top(api):
    small = api("Relation_Organization", **{"$top": "5", "$skip": "3"}).json()
    assert len(small["value"]) == 5 and "@odata.nextLink" not in small
    ids = [o["ID"] for o in values(api("Relation_Organization", **{"$top": "8"}))]
    assert [o["ID"] for o in small["value"]] == ids[3:8]
    big = api("Relation_Organization", **{"$top": "150"}).json()
    assert len(big["value"]) == 100
    assert "$skip=100" in big["@odata.nextLink"] and "$top=50" in big["@odata.nextLink"]


def test_base_sets_return_subtypes(api):
    types = {r["_Type"] for r in values(api("Relationship", **{"$select": "_Type,Name", "$top": "100",
                                                                "$orderby": "Name desc"}))}
    assert "Relationship.Organization.CommercialRelationship.Customer" in types
    datastore_types = {r["_Type"] for r in values(api("Datastore"))}
    assert {"Datastore.Unit", "Datastore.Country", "Datastore.Phase.ActivityInvoice"} <= datastore_types


# ---- $filter ---------------------------------------------------------------------------------
def test_comparison_operators(tribe, api):
    state, _ = tribe
    products = state.all("Product")
    price = sorted(p["SalesPrice"] for p in products)[len(products) // 2]
    expected = {
        "gt": {p["ID"] for p in products if p["SalesPrice"] > price},
        "ge": {p["ID"] for p in products if p["SalesPrice"] >= price},
        "lt": {p["ID"] for p in products if p["SalesPrice"] < price},
        "le": {p["ID"] for p in products if p["SalesPrice"] <= price},
        "eq": {p["ID"] for p in products if p["SalesPrice"] == price},
        "ne": {p["ID"] for p in products if p["SalesPrice"] != price},
    }
    for op, ids in expected.items():
        got = {p["ID"] for p in values(api("Product", **{"$filter": f"SalesPrice {op} {price}"}))}
        assert got == ids, op
        assert got  # each operator selects something


def test_logic_parentheses_and_not(tribe, api):
    state, _ = tribe
    products = state.all("Product")
    got = {p["ID"] for p in values(api("Product", **{
        "$filter": "(SalesPrice lt 100 or SalesPrice gt 1000) and not (IsInactive eq true)"}))}
    assert got == {p["ID"] for p in products
                   if (p["SalesPrice"] < 100 or p["SalesPrice"] > 1000) and p["IsInactive"] is not True}


def test_string_functions_case_insensitive(tribe, api):
    state, _ = tribe
    org = state.all("Relation_Organization")[10]
    word = org["Name"].split()[0]
    middle = org["Name"][2:6]
    cases = {
        f"contains(Name,'{middle.upper()}')": lambda n: middle.lower() in n.lower(),
        f"startswith(Name,'{word.lower()}')": lambda n: n.lower().startswith(word.lower()),
        f"endswith(Name,'{org['Name'][-4:].upper()}')": lambda n: n.lower().endswith(org["Name"][-4:].lower()),
    }
    for expression, test in cases.items():
        got = {o["ID"] for o in api.every("Relation_Organization", **{"$filter": expression})}
        assert org["ID"] in got
        assert got == {o["ID"] for o in state.all("Relation_Organization") if test(o["Name"])}, expression


def test_string_escaping(tribe, api):
    state, _ = tribe
    created = state.insert("Relation_Organization", {"Name": "Café 't Hoekje"})
    found = values(api("Relation_Organization", **{"$filter": "Name eq 'Café ''t Hoekje'"}))
    assert [o["ID"] for o in found] == [created["ID"]]


def test_navigation_paths_and_guid_literals(tribe, api):
    state, _ = tribe
    customer = state.all("Relationship_Organization_CommercialRelationship_Customer")[3]
    org_id = customer["Organization"]
    got = values(api("Relationship_Organization_CommercialRelationship_Customer",
                     **{"$filter": f"Organization/ID eq {org_id}"}))
    assert [r["ID"] for r in got] == [customer["ID"]]
    city = state.get("Address", state.get("Relation_Organization", org_id)["InvoiceAddress"])["City"]
    by_city = values(api("Relation_Organization", **{"$filter": f"InvoiceAddress/City eq '{city}'"}))
    assert org_id in {o["ID"] for o in by_city}
    assert all(state.get("Address", state.get("Relation_Organization", o["ID"])["InvoiceAddress"])["City"] == city
               for o in by_city)
    deep = values(api("Relationship_Organization_CommercialRelationship_Customer",
                      **{"$filter": f"Organization/VisitingAddress/Country/Code eq 'NL' and Organization/ID eq {org_id}"}))
    nl = state.get("Datastore_Country", state.get("Address", state.get("Relation_Organization", org_id)
                                                              ["VisitingAddress"])["Country"])["Code"] == "NL"
    assert len(deep) == (1 if nl else 0)
    draft = values(api("Activity_Invoice", **{"$filter": "Phase/Code eq 'Draft'"}))
    assert len(draft) == 2
    assert values(api("Activity_Invoice", **{"$filter": "Phase/Code eq 'Paid'"})) == []


def test_null_comparisons(tribe, api):
    state, _ = tribe
    orgs = state.all("Relation_Organization")
    with_vat = api.every("Relation_Organization", **{"$filter": "VatNumber ne null"})
    without = api.every("Relation_Organization", **{"$filter": "VatNumber eq null"})
    assert len(with_vat) == sum(1 for o in orgs if o["VatNumber"]) > 0
    assert len(without) == sum(1 for o in orgs if not o["VatNumber"]) > 0


def test_datetime_literals(tribe, api):
    state, _ = tribe
    orgs = state.all("Relation_Organization")
    stamps = sorted(o["LastMutationDate"] for o in orgs)
    cut = datetime.fromisoformat(stamps[len(stamps) // 2])
    cut_z = cut.strftime("%Y-%m-%dT%H:%M:%SZ")
    expected = {o["ID"] for o in orgs if datetime.fromisoformat(o["LastMutationDate"]) > cut.replace(microsecond=0)}
    got = {o["ID"] for o in api.every("Relation_Organization", **{"$filter": f"LastMutationDate gt {cut_z}"})}
    assert got == expected and 0 < len(got) < len(orgs)
    # The same instant written with a +01:00 offset (requests encodes '+' as %2B).
    local = (cut.replace(microsecond=0) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S+01:00")
    same = {o["ID"] for o in api.every("Relation_Organization", **{"$filter": f"LastMutationDate gt {local}"})}
    assert same == expected


@pytest.mark.parametrize("expression, fragment", [
    ("Name in ('a','b')", "'in' operator is not supported"),
    ("Name has 'x'", "'has' operator is not supported"),
    ("Name eq", "expected a property, literal"),
    ("Nope eq 1", "Could not find a property named 'Nope'"),
    ("Name eq 'unterminated", "unterminated string"),
    ("tolower(Name) eq 'x'", "Function 'tolower' is not supported"),
    ("ID eq '00000000-0000-0000-0000-000000000000'", "GUIDs are written without quotes"),
    ("CreationDate gt '2024-01-01'", "incompatible types"),
    ("CreationDate gt 2024-01-01T00:00:00", "needs a UTC offset"),
    ("(Name eq 'x'", "expected ')'"),
    ("Name eq 'x' Name", "expected 'and', 'or'"),
])
def test_filter_errors_are_specific(api, expression, fragment):
    message = error_message(api("Relation_Organization", **{"$filter": expression}))
    assert fragment in message


# ---- $select / $expand / $orderby ---------------------------------------------------------------
def test_select_always_includes_id(api):
    org = values(api("Relation_Organization", **{"$select": "Name,VatNumber", "$top": "1"}))[0]
    assert set(org) == {"ID", "Name", "VatNumber"}
    assert "Could not find a property named 'Bogus'" in error_message(api("Relation_Organization", **{"$select": "Bogus"}))


def test_nested_expand(tribe, api):
    state, _ = tribe
    body = api("Relationship_Organization_CommercialRelationship_Customer", **{
        "$select": "PaymentTermInDays",
        "$expand": "Organization($select=Name,VatNumber;$expand=VisitingAddress($select=City;$expand=Country($select=Code))),"
                   "Relation($select=ID)",
        "$top": "3"}).json()
    row = body["value"][0]
    record = state.get("Relationship_Organization_CommercialRelationship_Customer", row["ID"])
    org = state.get("Relation_Organization", record["Organization"])
    address = state.get("Address", org["VisitingAddress"])
    assert set(row) == {"ID", "PaymentTermInDays", "Organization", "Relation"}
    assert row["Organization"]["Name"] == org["Name"]
    assert set(row["Organization"]) == {"ID", "Name", "VatNumber", "VisitingAddress"}
    assert row["Organization"]["VisitingAddress"] == {
        "ID": address["ID"], "City": address["City"],
        "Country": {"ID": address["Country"], "Code": state.get("Datastore_Country", address["Country"])["Code"]}}
    assert row["Relation"] == {"ID": state.identity_org_id}


def test_identity_and_current_employee(api):
    identity = values(api("Relationship_Organization_Identity", **{"$expand": "Relation($select=ID)", "$select": "Name"}))
    assert len(identity) == 1 and identity[0]["Name"] == "Tribe Demo BV" and identity[0]["Relation"]["ID"]
    employee = api("GetCurrentEmployee()", **{"$expand": "Person"}).json()
    assert employee["_Type"] == "Relationship.Person.Contact.Employee"
    assert employee["Person"]["LastName"] == "Koppeling"


def test_expand_collection_and_single_get(tribe, api):
    state, _ = tribe
    invoice = state.all("Activity_Invoice")[0]
    body = api(f"Activity_Invoice({invoice['ID']})", **{
        "$expand": "Phase($select=Code),ProductLines($select=Quantity,Price;$orderby=Price desc;$expand=Product($select=Code))"}).json()
    assert body["Phase"]["Code"] == "Draft"
    prices = [line["Price"] for line in body["ProductLines"]]
    assert len(prices) >= 2 and prices == sorted(prices, reverse=True)
    assert all(line["Product"]["Code"].startswith("P-") for line in body["ProductLines"])
    missing = api("Activity_Invoice(00000000-0000-4000-8000-000000000000)")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NotFound"


def test_orderby_multiple_keys_and_nav_path(tribe, api):
    state, _ = tribe
    rows = values(api("Product", **{"$orderby": "IsInactive desc,SalesPrice asc", "$select": "IsInactive,SalesPrice"}))
    keys = [(not r["IsInactive"], r["SalesPrice"]) for r in rows]
    assert keys == sorted(keys) and len(rows) == len(state.all("Product"))
    people = values(api("Relation_Person", **{"$orderby": "Address/City desc", "$expand": "Address($select=City)",
                                              "$filter": "Address ne null"}))
    cities = [p["Address"]["City"] for p in people]
    assert cities == sorted(cities, reverse=True) and len(set(cities)) > 5


def test_bad_query_options(api):
    assert "$top must be a non-negative integer" in error_message(api("Product", **{"$top": "-1"}))
    assert "'$search' is not supported" in error_message(api("Product", **{"$search": "x"}))
    assert "Invalid $orderby item" in error_message(api("Product", **{"$orderby": "Name sideways"}))
    assert "navigation property named 'Nope'" in error_message(api("Product", **{"$expand": "Nope"}))
    assert api("NoSuchSet").status_code == 404


def test_literal_plus_mode(tribe):
    """With plus_is_space=False a '+' stays a '+', as on the real API: spaces must be %20."""
    state, url = tribe
    with ServerThread(create_app(state, plus_is_space=False)) as strict:
        api = Api(strict.url)
        query = f"{strict.url}/v1/odata/Datastore_Unit?$filter=Code%20eq%20'PCS'"
        assert [u["Code"] for u in api.session.get(query, timeout=5).json()["value"]] == ["PCS"]
        plus = api("Datastore_Unit", **{"$filter": "Code eq 'PCS'"})  # requests encodes spaces as '+'
        assert plus.status_code == 400
