"""Every endpoint the simulator serves, recorded and checked against the vendor OpenAPI file.

Needs ``POWEROFFICE_OPENAPI_SPEC`` (the merged PowerOffice Go v2 spec); skips without it
locally and fails in CI (``CI=true``).
"""
from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from sandbox.common import ServerThread, SlidingWindowLimiter
from sandbox.poweroffice import PowerOfficeState, create_app, seed
from tests.simulators.openapi_check import match_operation, spec_path_or_skip, validate_exchange
from tests.simulators.test_poweroffice_support import SUB_KEY, Api, replace

# Every operation the simulator implements, as (METHOD, spec path template).
REQUIRED = {
    ("GET", "/ClientIntegrationInformation"),
    ("GET", "/Customers"), ("POST", "/Customers"), ("GET", "/Customers/{id}"), ("PATCH", "/Customers/{id}"),
    ("DELETE", "/Customers/{id}"),
    ("GET", "/Suppliers"), ("POST", "/Suppliers"), ("GET", "/Suppliers/{id}"), ("PATCH", "/Suppliers/{id}"),
    ("DELETE", "/Suppliers/{id}"),
    ("GET", "/ContactPersons"), ("POST", "/ContactPersons/{contactId}"), ("GET", "/ContactPersons/{contactId}/{id}"),
    ("PATCH", "/ContactPersons/{contactId}/{id}"), ("DELETE", "/ContactPersons/{contactId}/{id}"),
    ("GET", "/Products"), ("POST", "/Products"), ("GET", "/Products/{id}"), ("PATCH", "/Products/{id}"),
    ("DELETE", "/Products/{id}"),
    ("GET", "/ProductGroups"), ("POST", "/ProductGroups"), ("GET", "/ProductGroups/{id}"),
    ("PATCH", "/ProductGroups/{id}"), ("DELETE", "/ProductGroups/{id}"),
    ("GET", "/VatCodes"), ("GET", "/GeneralLedgerAccounts"), ("GET", "/GeneralLedgerAccounts/{id}"),
    ("GET", "/PaymentTerms"), ("GET", "/PaymentTerms/{id}"),
    ("GET", "/SalesOrders"), ("POST", "/SalesOrders/Complete"), ("GET", "/SalesOrders/{id}"),
    ("PATCH", "/SalesOrders/{id}"), ("DELETE", "/SalesOrders/{id}"), ("GET", "/SalesOrders/{id}/Complete"),
    ("GET", "/SalesOrders/{id}/Lines"), ("POST", "/SalesOrders/{id}/Lines"), ("GET", "/SalesOrders/{id}/Lines/{lineId}"),
    ("PATCH", "/SalesOrders/{id}/Lines/{lineId}"), ("DELETE", "/SalesOrders/{id}/Lines/{lineId}"),
    ("POST", "/SalesOrders/{id}/createAndSendInvoice"), ("GET", "/SalesOrders/sentState"),
    ("GET", "/OutgoingInvoices"), ("GET", "/OutgoingInvoices/{id}"), ("GET", "/OutgoingInvoices/{id}/Lines"),
    ("GET", "/Customerledger/CustomerBalances"), ("GET", "/Customerledger/OpenItems"),
    ("GET", "/Customerledger/Statement"), ("GET", "/Customerledger/EntriesByMatchId"),
}


@pytest.fixture(scope="module")
def spec_path() -> str:
    return spec_path_or_skip()


@pytest.fixture(scope="module")
def recorded(spec_path) -> Iterator[tuple[PowerOfficeState, list[dict]]]:
    """Drive every endpoint once (plus a few error paths) with traffic recording on."""
    state = PowerOfficeState(rate_limit=0)
    created = seed(state, customers=40, suppliers=10, persons=10, products=12, invoices=4, rng_seed=5)
    state.record_traffic = True
    with ServerThread(create_app(state)) as server:
        api = Api(server.url)
        _exercise(api, state, created, server.url)
        yield state, list(state.traffic)


def _ok(response: requests.Response, status: int = 200) -> dict | list:
    assert response.status_code == status, f"{response.request.method} {response.url}: {response.text}"
    return response.json() if response.content else {}


def _exercise(api: Api, state: PowerOfficeState, created: dict, url: str) -> None:
    _ok(api.get("ClientIntegrationInformation"))
    # customers
    _ok(api.get("Customers", PageNumber=2, PageSize=10, OrderBy="Name desc"))
    _ok(api.get("Customers", Fields="Id,Name,Number", customerNos="10000-10010, 10020-"))
    assert api.get("Customers", customerNos="99999").status_code == 204
    address = {"AddressLine1": "Storgata 1", "ZipCode": "0155", "City": "Oslo", "CountryCode": "NO"}
    customer = _ok(api.post("Customers", {"Name": "Konform AS", "OrganizationNumber": "974760673",
                                          "ExternalImportReference": "CONF-1", "MailAddress": address,
                                          "InvoiceDeliveryType": "EHF", "PaymentTermId": 1}), 201)
    _ok(api.get("Customers", lastChangedDateTimeOffsetGreaterThan=customer["LastChangedDateTimeOffset"]), 204)
    _ok(api.get(f"Customers/{customer['Id']}"))
    _ok(api.patch(f"Customers/{customer['Id']}", replace("/Name", "Konform 2 AS") +
                  [{"op": "add", "path": "/MailAddress/City", "value": "Bergen"}]))
    assert api.post("Customers", {"Name": "Dup", "ExternalImportReference": "CONF-1"}).status_code == 400
    assert api.get("Customers/1").status_code == 404
    invoiced = state.get("outgoing_invoices", created["invoices"][0])["CustomerId"]
    assert api.delete(f"Customers/{invoiced}").status_code == 409
    doomed = _ok(api.post("Customers", {"IsPerson": True, "FirstName": "Kari", "LastName": "Nordmann"}), 201)
    _ok(api.delete(f"Customers/{doomed['Id']}"))
    # suppliers
    _ok(api.get("Suppliers", supplierNos="20000-", PageSize=5))
    supplier = _ok(api.post("Suppliers", {"Name": "Lev Konform AS", "MailAddress": address}), 201)
    _ok(api.get(f"Suppliers/{supplier['Id']}"))
    _ok(api.patch(f"Suppliers/{supplier['Id']}", replace("/Payout", False)))
    _ok(api.delete(f"Suppliers/{supplier['Id']}"))
    # contact persons
    _ok(api.get("ContactPersons", contactIds=str(customer["Id"])), 204)
    person = _ok(api.post(f"ContactPersons/{customer['Id']}", {"FirstName": "Ola", "LastName": "Nordmann",
                                                               "MailAddress": {"City": "Oslo", "ZipCode": "0150"}}), 201)
    _ok(api.get("ContactPersons"))
    _ok(api.get(f"ContactPersons/{customer['Id']}/{person['Id']}"))
    _ok(api.patch(f"ContactPersons/{customer['Id']}/{person['Id']}", replace("/Title", "Sjef")))
    _ok(api.delete(f"ContactPersons/{customer['Id']}/{person['Id']}"))
    # products and groups
    _ok(api.get("Products", isArchived="false", type="Product"))
    product = _ok(api.post("Products", {"Name": "Konformvare", "Code": "CONF-P", "UnitPrice": 250.0,
                                        "UnitOfMeasureCode": "EA", "ProductGroupCode": "VARER"}))
    _ok(api.get(f"Products/{product['Id']}"))
    _ok(api.patch(f"Products/{product['Id']}", replace("/UnitPrice", 300.0)))
    spare = _ok(api.post("Products", {"Name": "Ekstra"}))
    _ok(api.delete(f"Products/{spare['Id']}"))
    _ok(api.get("ProductGroups"))
    group = _ok(api.post("ProductGroups", {"Code": "CONF-G", "Name": "Konformgruppe"}), 201)
    _ok(api.get(f"ProductGroups/{group['Id']}"))
    _ok(api.patch(f"ProductGroups/{group['Id']}", replace("/Description", "Beskrivelse")))
    _ok(api.delete(f"ProductGroups/{group['Id']}"))
    # reference data
    _ok(api.get("VatCodes", includeExpired="true"))
    accounts = _ok(api.get("GeneralLedgerAccounts", accountNos="3000-3999"))
    _ok(api.get(f"GeneralLedgerAccounts/{accounts[0]['Id']}"))
    terms = _ok(api.get("PaymentTerms"))
    _ok(api.get(f"PaymentTerms/{terms[0]['Id']}"))
    # sales orders and lines
    order = _ok(api.post("SalesOrders/Complete", {
        "CustomerNo": customer["Number"], "ExternalImportReference": "CONF-ORDER", "SalesOrderDate": "2026-01-15",
        "SalesOrderLines": [{"ProductCode": "CONF-P", "Quantity": 2, "Allowance": 5},
                            {"LineType": "Text", "Description": "Merknad"}]}), 201)
    oid = order["Id"]
    assert api.post("SalesOrders/Complete", {"CustomerNo": 19999}).status_code == 404
    _ok(api.get("SalesOrders", customerNos=str(customer["Number"]), orderStatus="Draft"))
    _ok(api.get(f"SalesOrders/{oid}"))
    _ok(api.get(f"SalesOrders/{oid}/Complete"))
    _ok(api.patch(f"SalesOrders/{oid}", replace("/CustomerReference", "Ola Nordmann")))
    line = _ok(api.post(f"SalesOrders/{oid}/Lines", {"ProductId": product["Id"], "Quantity": 1}), 201)
    _ok(api.get(f"SalesOrders/{oid}/Lines"))
    _ok(api.get(f"SalesOrders/{oid}/Lines/{line['Id']}"))
    _ok(api.patch(f"SalesOrders/{oid}/Lines/{line['Id']}", replace("/Quantity", 3)))
    _ok(api.delete(f"SalesOrders/{oid}/Lines/{line['Id']}"))
    assert api.get("SalesOrders/sentState", id=oid).status_code == 204
    _ok(api.post(f"SalesOrders/{oid}/createAndSendInvoice", {"DeliveryType": "PdfByEmail",
                                                             "EmailAddress": "faktura@konform.no"}), 202)
    _ok(api.get("SalesOrders/sentState", id=oid))
    scrap = _ok(api.post("SalesOrders/Complete", {"CustomerId": customer["Id"]}), 201)
    _ok(api.delete(f"SalesOrders/{scrap['Id']}"))
    # invoices and the ledger
    state.register_payment(oid, 100.0)
    _ok(api.get("OutgoingInvoices", fromDate="2000-01-01", onlyUnpaidInvoices="true"))
    invoice = _ok(api.get(f"OutgoingInvoices/{oid}"))
    _ok(api.get(f"OutgoingInvoices/{oid}/Lines"))
    today = str(state.today())
    _ok(api.get("Customerledger/CustomerBalances", date=today))
    _ok(api.get("Customerledger/OpenItems", date=today))
    _ok(api.get("Customerledger/Statement", fromDate="2000-01-01", toDate=today))
    _ok(api.get("Customerledger/EntriesByMatchId", matchId=invoice["MatchId"]))
    # gateway errors: no subscription key, throttled
    assert requests.get(f"{url}/v2/Customers", timeout=5).status_code == 401
    state.limiter = SlidingWindowLimiter(1, 60.0)
    api.get("VatCodes")
    assert api.get("VatCodes").status_code == 429


def test_every_endpoint_is_exercised(spec_path, recorded):
    _, traffic = recorded
    covered = {match_operation(spec_path, ex["method"], ex["path"]) for ex in traffic} - {None}
    assert REQUIRED - covered == set()
    statuses = {ex["status"] for ex in traffic}
    assert {200, 201, 202, 204, 400, 401, 404, 409, 429} <= statuses


def test_recorded_exchanges_conform_to_the_vendor_spec(spec_path, recorded):
    _, traffic = recorded
    assert len(traffic) > 60
    problems = [p for ex in traffic for p in validate_exchange(spec_path, ex)]
    assert problems == [], "\n".join(problems[:40])


def test_recording_redacts_credentials(recorded):
    _, traffic = recorded
    token_calls = [ex for ex in traffic if ex["path"].lower().endswith("/oauth/token")]
    assert token_calls and token_calls[0]["request_headers"]["authorization"] == "Basic ***"
    api_call = next(ex for ex in traffic if ex["path"] == "/v2/ClientIntegrationInformation")
    assert api_call["request_headers"]["authorization"] == "Bearer ***"
    assert api_call["request_headers"]["ocp-apim-subscription-key"] == "***" != SUB_KEY
    assert isinstance(api_call["response_body"], bytes) and json.loads(api_call["response_body"])["ClientName"]


def test_validator_catches_nonconforming_exchanges(spec_path, recorded):
    _, traffic = recorded
    good = next(ex for ex in traffic if ex["method"] == "GET" and ex["status"] == 200
                and ex["path"].startswith("/v2/Customers/"))
    body = json.loads(good["response_body"])
    assert validate_exchange(spec_path, good) == []
    extra = dict(good, response_body=json.dumps(body | {"Bogus": 1}).encode())
    assert any("Bogus" in p for p in validate_exchange(spec_path, extra))
    wrong_type = dict(good, response_body=json.dumps(body | {"Number": "ten"}).encode())
    assert validate_exchange(spec_path, wrong_type)
    bad_stamp = dict(good, response_body=json.dumps(body | {"LastChangedDateTimeOffset": "tuesday"}).encode())
    assert validate_exchange(spec_path, bad_stamp)
    undeclared = dict(good, status=418)
    assert any("418" in p for p in validate_exchange(spec_path, undeclared))
    post = next(ex for ex in traffic if ex["method"] == "POST" and ex["path"] == "/v2/Customers" and ex["status"] == 201)
    bad_request = dict(post, request_body=json.dumps({"Name": "X", "Id": 1}).encode())
    assert any("Id" in p for p in validate_exchange(spec_path, bad_request))
    assert validate_exchange(spec_path, dict(good, path="/v2/NoSuchThing")) != []
    assert validate_exchange(spec_path, {"method": "POST", "path": "/OAuth/Token", "status": 200}) == []
