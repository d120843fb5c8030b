"""PowerOffice Go v2 simulator over real HTTP: auth, paging, filters, contacts and products."""
from __future__ import annotations

import json
import random
import re
from datetime import datetime, timedelta, timezone

import pytest
import requests

from sandbox.common import ServerThread
from sandbox.poweroffice import PowerOfficeState, create_app, valid_orgnr
from tests.simulators.test_poweroffice_support import (  # noqa: F401  (fixtures: po, api)
    BASIC,
    SUB_KEY,
    Api,
    api_fixture,
    fetch_token,
    po_fixture,
    problem,
    replace,
)

TS_7 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}[+-]\d{2}:\d{2}$")


def _company(name: str, **extra) -> dict:
    body = {"Name": name, "MailAddress": {"AddressLine1": "Storgata 1", "ZipCode": "0155", "City": "Oslo",
                                          "CountryCode": "NO"}}
    return body | extra


# --- auth ----------------------------------------------------------------------------------------
def test_token_is_client_credentials_without_refresh(po):
    _, url, _ = po
    response = requests.post(f"{url}/OAuth/Token", data={"grant_type": "client_credentials"},
                             headers={"Authorization": BASIC, "Ocp-Apim-Subscription-Key": SUB_KEY}, timeout=5)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 1200
    assert "refresh_token" not in body and body["access_token"].count(".") == 2
    # Demo prefix and any casing reach the same endpoint
    assert fetch_token(url, "/demo/oauth/token")


def test_token_errors(po):
    _, url, _ = po
    headers = {"Ocp-Apim-Subscription-Key": SUB_KEY}
    bad = requests.post(f"{url}/OAuth/Token", data={"grant_type": "client_credentials"},
                        headers=headers | {"Authorization": "Basic " + "eDp5"}, timeout=5)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_client"
    grant = requests.post(f"{url}/OAuth/Token", data={"grant_type": "password"},
                          headers=headers | {"Authorization": BASIC}, timeout=5)
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    no_key = requests.post(f"{url}/OAuth/Token", data={"grant_type": "client_credentials"},
                           headers={"Authorization": BASIC}, timeout=5)
    assert no_key.status_code == 401 and no_key.json()["statusCode"] == 401


def test_subscription_key_and_bearer_are_required(po, api):
    _, url, _ = po
    token = api.session.headers["Authorization"]
    missing = requests.get(f"{url}/v2/Customers", headers={"Authorization": token}, timeout=5)
    assert missing.status_code == 401
    assert missing.json() == {"statusCode": 401, "message": missing.json()["message"]}
    assert "missing subscription key" in missing.json()["message"]
    wrong = requests.get(f"{url}/v2/Customers", headers={"Authorization": token,
                                                          "Ocp-Apim-Subscription-Key": "nope"}, timeout=5)
    assert wrong.status_code == 401 and "invalid subscription key" in wrong.json()["message"]
    no_bearer = requests.get(f"{url}/v2/Customers", headers={"Ocp-Apim-Subscription-Key": SUB_KEY}, timeout=5)
    assert no_bearer.status_code == 401 and no_bearer.headers["WWW-Authenticate"].startswith("Bearer")
    forged = requests.get(f"{url}/v2/Customers", headers={"Ocp-Apim-Subscription-Key": SUB_KEY,
                                                           "Authorization": "Bearer abc.def.ghi"}, timeout=5)
    assert forged.status_code == 401


def test_token_expires_after_twenty_minutes_on_the_clock():
    state = PowerOfficeState(rate_limit=0)
    with ServerThread(create_app(state)) as server:
        client = Api(server.url)
        assert client.get("ClientIntegrationInformation").status_code == 200
        state.clock.advance(1100)
        assert client.get("ClientIntegrationInformation").status_code == 200
        state.clock.advance(200)  # 1300 s after issue
        expired = client.get("ClientIntegrationInformation")
        assert expired.status_code == 401 and "expired" in expired.headers["WWW-Authenticate"]
        assert Api(server.url).get("ClientIntegrationInformation").status_code == 200  # just ask again
        assert state.counters()["tokens_issued"] == 2


# --- paging, Fields, OrderBy -----------------------------------------------------------------------
def test_paging_walks_every_customer_and_ends_with_204(po, api):
    state = po[0]
    expected = {c["Id"] for c in state.all("customers")}
    first = api.get("Customers", PageNumber=1, PageSize=50)
    assert first.status_code == 200 and len(first.json()) == 50
    meta = json.loads(first.headers["X-Pagination"])
    assert meta["currentPage"] == 1 and meta["pageSize"] == 50
    assert meta["totalCount"] == len(expected) and meta["totalPages"] == -(-len(expected) // 50)
    seen, link, pages = [c["Id"] for c in first.json()], meta["nextPageLink"], 1
    while link:
        page = api.session.get(link, timeout=10)
        assert page.status_code == 200
        seen += [c["Id"] for c in page.json()]
        link = json.loads(page.headers["X-Pagination"])["nextPageLink"]
        pages += 1
    assert pages == meta["totalPages"] and len(seen) == len(set(seen)) and set(seen) == expected
    past = api.get("Customers", PageNumber=meta["totalPages"] + 1, PageSize=50)
    assert past.status_code == 204 and past.content == b""
    assert api.get("Customers", customerNos="99999").status_code == 204


def test_paging_parameter_errors(api):
    assert problem(api.get("Customers", PageSize=20001), 400)["title"] == "Invalid resourceParameter"
    problem(api.get("Customers", PageNumber=0), 400)
    assert api.get("Customers", PageSize=20000).status_code == 200
    body = problem(api.get("Customers", Fields="Id,Nope"), 400)
    assert body["title"] == "Invalid resourceParameter" and "Nope" in body["detail"]
    problem(api.get("Customers", OrderBy="Name sideways"), 400)


def test_fields_and_order_by(api):
    rows = api.rows("Customers", Fields="Id,Number", OrderBy="Number desc", PageSize=10)
    assert all(set(r) == {"Id", "Number"} for r in rows)
    numbers = [r["Number"] for r in rows]
    assert numbers == sorted(numbers, reverse=True) and len(numbers) == 10
    rows = api.rows("Customers", Fields="name,number", OrderBy="IsPerson desc, Number asc")
    assert set(rows[0]) == {"Name", "Number"}
    people = api.rows("Customers", Fields="Id,IsPerson,Number", OrderBy="IsPerson desc, Number asc")
    flags = [r["IsPerson"] for r in people]
    assert flags == sorted(flags, reverse=True)
    first_companies = [r["Number"] for r in people if not r["IsPerson"]]
    assert first_companies == sorted(first_companies)


# --- filters -----------------------------------------------------------------------------------------
def test_customer_number_ranges(po, api):
    numbers = {c["Number"] for c in po[0].all("customers")}
    got = {r["Number"] for r in api.rows("Customers", customerNos="10000-10009, 10050, 10100-")}
    assert got == {n for n in numbers if 10000 <= n <= 10009 or n == 10050 or n >= 10100}
    problem(api.get("Customers", customerNos="abc"), 400)
    by_external = api.rows("Customers", externalNos="500003-500005")
    assert sorted(r["ExternalNumber"] for r in by_external) == [500003, 500004, 500005]


def test_timestamp_filters_are_strictly_greater(api):
    a = api.post("Customers", _company("Filter A AS", ExternalImportReference="FILTER-A")).json()
    b = api.post("Customers", _company("Filter B AS", ExternalImportReference="FILTER-B")).json()
    assert TS_7.match(a["LastChangedDateTimeOffset"]) and TS_7.match(a["CustomerCreatedDateTimeOffset"])
    since_a = api.rows("Customers", lastChangedDateTimeOffsetGreaterThan=a["LastChangedDateTimeOffset"])
    assert [r["Id"] for r in since_a] == [b["Id"]]  # a itself is excluded: not inclusive
    created = api.rows("Customers", customerCreatedDateTimeOffsetGreaterThan=a["CustomerCreatedDateTimeOffset"])
    assert [r["Id"] for r in created] == [b["Id"]]
    patched = api.patch(f"Customers/{a['Id']}", replace("/PhoneNumber", "22 33 44 55")).json()
    assert patched["LastChangedDateTimeOffset"] > b["LastChangedDateTimeOffset"]
    changed = {r["Id"] for r in api.rows("Customers", lastChangedDateTimeOffsetGreaterThan=b["LastChangedDateTimeOffset"])}
    assert changed == {a["Id"]}
    assert api.get("Customers", customerCreatedDateTimeOffsetGreaterThan=b["CustomerCreatedDateTimeOffset"]).status_code == 204
    # other ISO-8601 spellings: the spec's example form, Z, no offset, a +02:00 offset
    canonical = {r["Id"] for r in api.rows("Customers", lastChangedDateTimeOffsetGreaterThan=a["LastChangedDateTimeOffset"])}
    assert canonical == {a["Id"], b["Id"]}
    stamp = datetime.fromisoformat(a["LastChangedDateTimeOffset"][:26] + "+00:00")
    for text in (stamp.strftime("%Y-%m-%d %H:%M:%S.%f") + " -00:00", stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                 stamp.strftime("%Y-%m-%dT%H:%M:%S.%f"),
                 stamp.astimezone(timezone(timedelta(hours=2))).isoformat()):
        assert {r["Id"] for r in api.rows("Customers", lastChangedDateTimeOffsetGreaterThan=text)} == canonical, text
    assert api.get("Customers", lastChangedDateTimeOffsetGreaterThan="yesterday").status_code == 400
    exact = api.rows("Customers", externalImportReference="filter-b")
    assert [r["Id"] for r in exact] == [b["Id"]]


def test_suppliers_number_series_and_shared_contacts(po, api):
    state, _, created = po
    rows = api.rows("Suppliers", supplierNos="20000-20004")
    assert sorted(r["Number"] for r in rows) == [20000, 20001, 20002, 20003, 20004]
    shared = created["shared_contact_ids"][0]
    customer, supplier = api.get(f"Customers/{shared}").json(), api.get(f"Suppliers/{shared}").json()
    assert customer["Id"] == supplier["Id"] == shared and customer["Name"] == supplier["Name"]
    assert 10000 <= customer["Number"] < 20000 <= supplier["Number"] < 30000
    latest = max(r["SupplierCreatedDateTimeOffset"] for r in api.rows("Suppliers"))
    new = api.post("Suppliers", _company("Leverandør Test AS", OrganizationNumber=valid_orgnr(random.Random(9))))
    assert new.status_code == 201 and new.json()["Number"] == max(s["Number"] for s in state.all("suppliers"))
    assert new.json()["Payout"] is True
    assert [r["Id"] for r in api.rows("Suppliers", supplierCreatedDateTimeOffsetGreaterThan=latest)] == [new.json()["Id"]]


def test_reference_data(api):
    codes = {c["Code"]: c for c in api.rows("VatCodes")}
    assert codes["3"]["Rate"] == 0.25 and codes["31"]["Rate"] == 0.15 and codes["33"]["Rate"] == 0.12
    assert codes["5"]["Rate"] == 0.0 and "6" in codes and "C31" not in codes  # expired: hidden by default
    assert "C31" in {c["Code"] for c in api.rows("VatCodes", includeExpired="true", isActive="false")}
    accounts = api.rows("GeneralLedgerAccounts", accountNos="3000-3100")
    assert [(a["AccountNo"], a["VatCode"]) for a in accounts] == [(3000, "3"), (3030, "31"), (3040, "33"), (3100, "5")]
    assert accounts[0]["Name"] == "Salgsinntekt, avgiftspliktig"
    one = api.get(f"GeneralLedgerAccounts/{accounts[0]['Id']}")
    assert one.status_code == 200 and one.json()["AccountNo"] == 3000
    assert {t["CreditDays"] for t in api.rows("PaymentTerms")} >= {14, 30}
    info = api.get("ClientIntegrationInformation").json()
    assert info["ClientName"] and "SalesOrders_Full" in info["ValidPrivileges"]


# --- customers: writes ----------------------------------------------------------------------------------
def test_create_customer_assigns_number_and_validates(po, api):
    state = po[0]
    top = max(c["Number"] for c in state.all("customers"))
    created = api.post("Customers", _company("Ny Kunde AS", OrganizationNumber="974 760 673"))
    assert created.status_code == 201
    body = created.json()
    assert body["Number"] == top + 1 and body["OrganizationNumber"] == "974760673" and body["IsActive"] is True
    assert body["MailAddress"]["City"] == "Oslo" and isinstance(body["MailAddress"]["Id"], int)
    assert state.get("customers", body["Id"])["Name"] == "Ny Kunde AS"
    explicit = api.post("Customers", _company("Eget Nummer AS", Number=18000)).json()
    assert explicit["Number"] == 18000
    assert "series" in problem(api.post("Customers", _company("Feil AS", Number=25000)), 400)["detail"]
    assert "OrganizationNumber" in problem(api.post("Customers", _company("Feil AS", OrganizationNumber="123456789")), 400)["detail"]
    no_city = api.post("Customers", {"Name": "Uten By AS", "MailAddress": {"ZipCode": "0150"}})
    assert "City" in problem(no_city, 400)["detail"]
    assert "ExternalImportReference" in problem(api.post("Customers", _company("Lang AS", ExternalImportReference="x" * 51)), 400)["detail"]
    assert "Name" in problem(api.post("Customers", {"EmailAddress": "a@b.no"}), 400)["detail"]
    person = api.post("Customers", {"IsPerson": True, "FirstName": "Kari", "LastName": "Nordmann"}).json()
    assert person["Name"] == "Kari Nordmann" and person["IsPerson"] is True
    assert "LastName" in problem(api.post("Customers", {"IsPerson": True, "FirstName": "Ola"}), 400)["detail"]
    assert "Id" in problem(api.post("Customers", {"Name": "X", "Id": 5}), 400)["detail"]
    problem(api.post("Customers", _company("Epost AS", EmailAddress="not-an-email")), 400)
    problem(api.post("Customers", _company("Gruppe AS", ContactGroupIds=[999])), 404)
    wrong_type = api.session.post(f"{api.base}/Customers", data="Name=x",
                                  headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=5)
    assert wrong_type.status_code == 415


def test_duplicate_external_import_reference_is_rejected_per_class(api):
    first = api.post("Customers", _company("Ref AS", ExternalImportReference="TRIBE-42"))
    assert first.status_code == 201
    body = problem(api.post("Customers", _company("Ref Kopi AS", ExternalImportReference="TRIBE-42")), 400)
    assert body["title"] == "Customer validation error(s)"
    assert body["detail"] == (f"ExternalImportReference is already in use. 'TRIBE-42' is used on (contact) "
                              f"Id = {first.json()['Id']}.")
    assert api.post("Suppliers", _company("Ref Lev AS", ExternalImportReference="TRIBE-42")).status_code == 201
    other = api.post("Customers", _company("Ref 2 AS", ExternalImportReference="TRIBE-43")).json()
    problem(api.patch(f"Customers/{other['Id']}", replace("/ExternalImportReference", "TRIBE-42")), 400)


def test_json_patch_replace_add_remove_nested(api):
    created = api.post("Customers", _company("Patch AS", PhoneNumber="11 11 11 11", ContactGroupIds=[1])).json()
    ops = [{"op": "replace", "path": "/Name", "value": "Patch Nytt Navn AS"},
           {"op": "add", "path": "/EmailAddress", "value": "post@patch.no"},
           {"op": "remove", "path": "/PhoneNumber"},
           {"op": "replace", "path": "/MailAddress/City", "value": "Bergen"},
           {"op": "add", "path": "/ContactGroupIds/-", "value": 2},
           {"op": "replace", "path": "/isArchived", "value": True}]
    response = api.patch(f"Customers/{created['Id']}", ops)
    assert response.status_code == 200
    body = response.json()
    assert body["Name"] == "Patch Nytt Navn AS" and body["EmailAddress"] == "post@patch.no"
    assert body["PhoneNumber"] is None and body["MailAddress"]["City"] == "Bergen"
    assert body["MailAddress"]["ZipCode"] == "0155" and body["ContactGroupIds"] == [1, 2]
    assert body["IsArchived"] is True and body["IsActive"] is False
    assert body["LastChangedDateTimeOffset"] > created["LastChangedDateTimeOffset"]
    assert body["MailAddress"]["Id"] == created["MailAddress"]["Id"]
    for path in ("/Id", "/IsActive", "/CustomerCreatedDateTimeOffset", "/MailAddress/Id", "/Bogus"):
        detail = problem(api.patch(f"Customers/{created['Id']}", replace(path, 1)), 400)["detail"]
        assert path in detail
    plain_json = api.session.patch(f"{api.base}/Customers/{created['Id']}", json=replace("/Name", "X"), timeout=5)
    assert plain_json.status_code == 415
    problem(api.patch("Customers/1", replace("/Name", "X")), 404)
    problem(api.patch(f"Customers/{created['Id']}", [{"op": "replace", "path": "/Name"}]), 400)


def test_delete_customer_and_conflicts(po, api):
    state, _, created = po
    fresh = api.post("Customers", _company("Slett Meg AS")).json()
    assert api.delete(f"Customers/{fresh['Id']}").status_code == 200
    gone = problem(api.get(f"Customers/{fresh['Id']}"), 404)
    assert gone["detail"] == f"Customer with id = {fresh['Id']} not found." and gone["title"] == "Object(s) not found"
    invoiced = state.get("outgoing_invoices", created["invoices"][0])["CustomerId"]
    body = problem(api.delete(f"Customers/{invoiced}"), 409)
    assert body["detail"] == f"Customer with id = {invoiced} is in use and cannot be deleted."
    problem(api.delete(f"Customers/{created['shared_contact_ids'][0]}"), 409)  # still an active supplier
    assert state.get("customers", invoiced) is not None


# --- contact persons ------------------------------------------------------------------------------------
def test_contact_persons_crud_and_filters(po, api):
    customer = api.post("Customers", _company("Personer AS")).json()
    cid = customer["Id"]
    made = api.post(f"ContactPersons/{cid}", {"FirstName": "Ingrid", "LastName": "Berg", "Title": "CFO",
                                              "EmailAddress": "ingrid@personer.no", "ExternalCode": "TRB-P-1"})
    assert made.status_code == 201
    person = made.json()
    assert person["ContactId"] == cid and person["IsActive"] is True and TS_7.match(person["CreatedDateTimeOffset"])
    assert "LastName" in problem(api.post(f"ContactPersons/{cid}", {"FirstName": "Solo"}), 400)["detail"]
    problem(api.post(f"ContactPersons/{cid}", {"FirstName": "A", "LastName": "B", "ExternalCode": "TRB-P-1"}), 400)
    problem(api.post("ContactPersons/1", {"FirstName": "A", "LastName": "B"}), 404)
    assert [p["Id"] for p in api.rows("ContactPersons", contactIds=str(cid))] == [person["Id"]]
    assert [p["Id"] for p in api.rows("ContactPersons", externalCodes="trb-p-1")] == [person["Id"]]
    later = api.post(f"ContactPersons/{cid}", {"FirstName": "Per", "LastName": "Lund"}).json()
    assert [p["Id"] for p in api.rows("ContactPersons", createdDateTimeOffsetGreaterThan=person["CreatedDateTimeOffset"])] == [later["Id"]]
    patched = api.patch(f"ContactPersons/{cid}/{person['Id']}", replace("/Title", "Daglig leder") +
                        [{"op": "add", "path": "/MailAddress", "value": {"City": "Oslo", "ZipCode": "0150"}}])
    assert patched.status_code == 200 and patched.json()["Title"] == "Daglig leder"
    assert patched.json()["MailAddress"] == {"AddressLine1": None, "AddressLine2": None, "City": "Oslo",
                                             "CountryCode": None, "ZipCode": "0150"}
    assert [p["Id"] for p in api.rows("ContactPersons", lastChangedDateTimeOffsetGreaterThan=later["LastChangedDateTimeOffset"])] == [person["Id"]]
    assert api.get(f"Customers/{cid}").json()["LastChangedDateTimeOffset"] == customer["LastChangedDateTimeOffset"]
    problem(api.patch(f"ContactPersons/{cid}/{person['Id']}", replace("/ContactId", 1)), 400)
    assert api.get(f"ContactPersons/{cid}/{person['Id']}").json()["Title"] == "Daglig leder"
    assert api.delete(f"ContactPersons/{cid}/{later['Id']}").status_code == 200
    problem(api.get(f"ContactPersons/{cid}/{later['Id']}"), 404)


# --- products ---------------------------------------------------------------------------------------------
def test_products_crud_filters_and_conflicts(po, api):
    state, _, created = po
    groups = {g["Code"]: g for g in api.rows("ProductGroups")}
    made = api.post("Products", {"Name": "Testvare", "Code": "T-100", "UnitPrice": 100.0, "UnitOfMeasureCode": "KGM",
                                 "ProductGroupCode": "VARER", "StandardSalesAccount": 3040})
    assert made.status_code == 200  # documented as 200, not 201
    product = made.json()
    assert product["ProductGroupId"] == groups["VARER"]["Id"] and product["StandardSalesAccount"] == 3040
    assert product["UnitOfMeasureCode"] == "KGM" and product["ProductType"] == "Product"
    assert "Name" in problem(api.post("Products", {"Code": "NO-NAME"}), 400)["detail"]
    assert "already in use" in problem(api.post("Products", {"Name": "Dup", "Code": "t-100"}), 400)["detail"]
    problem(api.post("Products", {"Name": "Bad unit", "UnitOfMeasureCode": "XYZ"}), 400)
    problem(api.post("Products", {"Name": "Bad group", "ProductGroupCode": "NOPE"}), 404)
    assert [p["Id"] for p in api.rows("Products", codes="T-100,zzz")] == [product["Id"]]
    assert [p["Id"] for p in api.rows("Products", names="testvare")] == [product["Id"]]
    archived = {p["Id"] for p in api.rows("Products", isArchived="true")}
    assert archived == {p["Id"] for p in state.all("products") if p["IsArchived"]}
    services = api.rows("Products", type="Service")
    assert services and all(p["ProductType"] == "Service" for p in services)
    patched = api.patch(f"Products/{product['Id']}", replace("/UnitPrice", 120.5) + replace("/IsArchived", True))
    assert patched.status_code == 200 and patched.json()["UnitPrice"] == 120.5 and patched.json()["IsArchived"] is True
    assert [p["Id"] for p in api.rows("Products", lastChangedDateTimeOffsetGreaterThan=product["LastChangedDateTimeOffset"])] == [product["Id"]]
    assert "/ProductGroupCode" in problem(api.patch(f"Products/{product['Id']}", replace("/ProductGroupCode", "X")), 400)["detail"]
    assert api.delete(f"Products/{product['Id']}").status_code == 200
    used = state.all("outgoing_invoice_lines")[0]["ProductId"]
    assert problem(api.delete(f"Products/{used}"), 409)["detail"] == f"Product with id = {used} is in use and cannot be deleted."
    group = api.post("ProductGroups", {"Code": "KURS", "Name": "Kurs", "ProductType": "Service"})
    assert group.status_code == 201 and group.json()["Code"] == "KURS"
    problem(api.delete(f"ProductGroups/{groups['VARER']['Id']}"), 409)


def test_unknown_ids_and_paths(api):
    assert problem(api.get("Products/424242"), 404)["detail"] == "Product with id = 424242 not found."
    problem(api.get("Customers/abc"), 400)
    problem(api.get("Nope"), 404)


@pytest.mark.parametrize("prefix", ["/Demo", "/demo"])
def test_demo_prefix_and_case_insensitive_paths(po, prefix):
    client = Api(po[1], prefix)
    assert client.get("customers", PageSize=1).status_code == 200
    assert client.get("CUSTOMERS", PageSize=1).json()[0]["Id"]
