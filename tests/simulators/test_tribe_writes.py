"""Tribe simulator over real HTTP: writes, invoice rules, webhooks, rate limit and faults."""
from __future__ import annotations

import json
import threading
import time

import pytest
import requests
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sandbox.common import ServerThread
from sandbox.tribe import SIGNATURE_HEADER, TribeState, create_app, seed, sign

CLIENT = {"grant_type": "client_credentials", "client_id": "tribe-sync", "client_secret": "tribe-secret"}


class Api:
    """A logged-in session against one simulator."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()
        token = self.session.post(f"{url}/oauth2/token", data=CLIENT, timeout=5).json()["access_token"]
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body: dict | None = None, **params: str) -> requests.Response:
        return self.session.request(method, f"{self.url}/v1/odata/{path}", json=body, params=params, timeout=10)

    def ok(self, method: str, path: str, body: dict | None = None, status: int = 200, **params: str) -> dict:
        response = self.call(method, path, body, **params)
        assert response.status_code == status, response.text
        return response.json() if response.content else {}

    def error(self, method: str, path: str, body: dict | None = None, status: int = 400) -> str:
        response = self.call(method, path, body)
        assert response.status_code == status, response.text
        return response.json()["error"]["message"]


@pytest.fixture(scope="module")
def tribe():
    state = TribeState(rate_limit=0, webhook_backoff_s=0.05)
    seed(state, organisations=20, persons=10, products=10, rng_seed=3)
    with ServerThread(create_app(state)) as server:
        yield state, Api(server.url)


def phase_id(state: TribeState, code: str) -> str:
    return next(p["ID"] for p in state.all("Datastore_Phase_ActivityInvoice") if p["Code"] == code)


# ---- CRUD ----------------------------------------------------------------------------------
def test_create_update_put_delete(tribe):
    state, api = tribe
    created = api.ok("POST", "Relation_Organization", {"Name": "Jansen Techniek BV", "ImportId": "ext-1",
                                                       "VatNumber": "NL004495445B01"}, status=201)
    org_id = created["ID"]
    assert created["_Type"] == "Relation.Organization" and created["_Name"] == "Jansen Techniek BV"
    assert created["CreationDate"] == created["LastMutationDate"] and created["Website"] is None
    assert state.get("Relation_Organization", org_id)["ImportId"] == "ext-1"

    time.sleep(0.01)
    updated = api.ok("POST", "Relation_Organization", {"ID": org_id, "Website": "https://jansen.nl"})
    assert updated["Website"] == "https://jansen.nl" and updated["Name"] == "Jansen Techniek BV"
    assert updated["LastMutationDate"] > created["LastMutationDate"]
    assert updated["CreationDate"] == created["CreationDate"]

    put = api.ok("PUT", f"Relation_Organization({org_id})", {"PhoneNumber": "+31 30 1234567"})
    assert put["PhoneNumber"] == "+31 30 1234567" and put["Website"] == "https://jansen.nl"
    assert put["LastMutationDate"] > updated["LastMutationDate"]

    assert api.call("DELETE", f"Relation_Organization({org_id})").status_code == 204
    assert api.call("GET", f"Relation_Organization({org_id})").status_code == 404
    assert state.get("Relation_Organization", org_id) is None
    assert api.call("DELETE", f"Relation_Organization({org_id})").status_code == 404


def test_validation_errors_name_the_field(tribe):
    _, api = tribe
    assert "'Name' is required" in api.error("POST", "Relation_Organization", {"Website": "x"})
    assert "'LastName' is required" in api.error("POST", "Relation_Person", {"FirstName": "Piet"})
    assert "'Colour' does not exist" in api.error("POST", "Relation_Organization", {"Name": "X", "Colour": "red"})
    assert "'HouseNumber'" in api.error("POST", "Address", {"HouseNumber": "twelve"})
    assert "Navigation 'VisitingAddress'" in api.error(
        "POST", "Relation_Organization", {"Name": "X", "VisitingAddress": {"ID": "00000000-0000-4000-8000-000000000000"}})
    assert "base set" in api.error("POST", "Relation", {"Name": "X"})
    assert "No entity with ID" in api.error("POST", "Relation_Organization",
                                            {"ID": "00000000-0000-4000-8000-000000000000", "Name": "X"}, status=404)


def test_deep_insert_single_and_collection(tribe):
    state, api = tribe
    nl = next(c["ID"] for c in state.all("Datastore_Country") if c["Code"] == "NL")
    created = api.ok("POST", "Relationship_Organization_CommercialRelationship_Customer", {
        "PaymentTermInDays": 14,
        "Organization": {"Name": "De Vries & Zn", "InvoiceAddress": {
            "Street": "Dorpsstraat", "HouseNumber": 7, "HouseNumberSuffix": "a", "Postalcode": "1234 AB",
            "City": "Utrecht", "Country": {"ID": nl}}}}, status=201,
        **{"$expand": "Organization($expand=InvoiceAddress($expand=Country)),Relation($select=Name)"})
    org = created["Organization"]
    assert org["Name"] == "De Vries & Zn" and created["Name"] == "De Vries & Zn"
    assert org["InvoiceAddress"]["City"] == "Utrecht" and org["InvoiceAddress"]["Country"]["Code"] == "NL"
    assert created["Relation"]["Name"] == "Tribe Demo BV"  # parent defaults to our identity org
    assert state.get("Address", org["InvoiceAddress"]["ID"])["Organization"] == org["ID"]

    product = state.all("Product")[0]
    invoice = api.ok("POST", "Activity_Invoice", {
        "Subject": "Deep insert", "Relationship": {"ID": created["ID"]},
        "ProductLines": [{"Product": {"ID": product["ID"]}, "Quantity": 2},
                         {"Description": "Korting", "Quantity": 1, "Price": -10.0, "VatPercentage": 21}]},
        status=201, **{"$expand": "ProductLines"})
    lines = invoice["ProductLines"]
    assert [line["Quantity"] for line in lines] == [2, 1]
    assert lines[0]["Description"] == product["Name"] and lines[0]["Price"] == product["SalesPrice"]
    expected = round(2 * product["SalesPrice"] - 10.0, 2)
    assert invoice["TotalExcludingVat"] == pytest.approx(expected, abs=0.011)
    assert invoice["TotalIncludingVat"] == pytest.approx(invoice["TotalExcludingVat"] + invoice["VatAmount"], abs=0.011)


def test_delete_organisation_does_not_cascade(tribe):
    state, api = tribe
    customer = state.all("Relationship_Organization_CommercialRelationship_Customer")[0]
    org_id = customer["Organization"]
    before = len(state.all("Relation_Organization"))
    assert api.call("DELETE", f"Relation_Organization({org_id})").status_code == 204
    assert len(state.all("Relation_Organization")) == before - 1
    left = api.ok("GET", f"Relationship_Organization_CommercialRelationship_Customer({customer['ID']})",
                  **{"$expand": "Organization"})
    assert left["Organization"] is None  # the relationship stays, its link dangles


def test_employees_cannot_be_deleted(tribe):
    state, api = tribe
    employee = state.all("Relationship_Person_Contact_Employee")[0]
    assert "cannot be deleted" in api.error("DELETE", f"Relationship_Person_Contact_Employee({employee['ID']})")


# ---- invoices ------------------------------------------------------------------------------
def test_invoice_send_numbers_dates_and_freezes(tribe):
    state, api = tribe
    invoice = state.all("Activity_Invoice")[0]
    assert invoice["Number"] is None and invoice["InvoiceDate"] is None
    assert "Draft to Paid" in api.error("POST", "Activity_Invoice",
                                        {"ID": invoice["ID"], "Phase": {"ID": phase_id(state, "Paid")}})
    sent = api.ok("POST", "Activity_Invoice", {"ID": invoice["ID"], "Phase": {"ID": phase_id(state, "Sent")}},
                  **{"$expand": "Phase"})
    today = state.clock.now().date()
    assert sent["Phase"]["Code"] == "Sent"
    assert sent["Number"] == today.year * 1_000_000 + 1 and sent["InvoiceDate"] == today.isoformat()
    term = sent["PaymentTermInDays"]
    assert term and sent["DueDate"] > sent["InvoiceDate"]

    assert "frozen" in api.error("PUT", f"Activity_Invoice({invoice['ID']})", {"Subject": "changed"})
    line = state.store.children(state.store.lookup(invoice["ID"]), "ProductLines")[0]
    assert "frozen" in api.error("PUT", f"ProductLine({line['ID']})", {"Quantity": 99})
    assert "frozen" in api.error("POST", "ProductLine", {"Activity": {"ID": invoice["ID"]}, "Description": "x"})
    assert "frozen" in api.error("DELETE", f"Activity_Invoice({invoice['ID']})")

    paid = api.ok("POST", "Activity_Invoice", {"ID": invoice["ID"], "Phase": {"ID": phase_id(state, "Paid")}},
                  **{"$expand": "Phase($select=Code)"})
    assert paid["Phase"]["Code"] == "Paid" and paid["Number"] == sent["Number"]
    assert "frozen" in api.error("POST", "Activity_Invoice", {"ID": invoice["ID"], "Phase": {"ID": phase_id(state, "Sent")}})

    second = state.all("Activity_Invoice")[1]
    again = api.ok("PUT", f"Activity_Invoice({second['ID']})", {"Phase": {"ID": phase_id(state, "Sent")}})
    assert again["Number"] == sent["Number"] + 1
    paid_only = api.ok("GET", "Activity_Invoice", **{"$filter": "Phase/Code eq 'Paid'"})["value"]
    assert [i["ID"] for i in paid_only] == [invoice["ID"]]


def test_draft_line_changes_update_totals(tribe):
    state, api = tribe
    customer = state.all("Relationship_Organization_CommercialRelationship_Customer")[1]
    invoice = api.ok("POST", "Activity_Invoice", {"Subject": "Totals", "Relationship": {"ID": customer["ID"]}}, status=201)
    assert invoice["TotalExcludingVat"] == 0
    line = api.ok("POST", "ProductLine", {"Activity": {"ID": invoice["ID"]}, "Description": "Uren",
                                          "Quantity": 3, "Price": 100.0, "VatPercentage": 21}, status=201)
    assert line["TotalIncludingVat"] == 363.0
    assert state.get("Activity_Invoice", invoice["ID"])["TotalIncludingVat"] == 363.0
    api.ok("PUT", f"ProductLine({line['ID']})", {"Quantity": 1, "DiscountPercentage": 50})
    assert state.get("Activity_Invoice", invoice["ID"])["TotalExcludingVat"] == 50.0
    assert api.call("DELETE", f"ProductLine({line['ID']})").status_code == 204
    assert state.get("Activity_Invoice", invoice["ID"])["TotalExcludingVat"] == 0


# ---- webhooks ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def receiver():
    received: list[tuple[dict, bytes]] = []
    lock = threading.Lock()
    app = FastAPI()
    failures = {"left": 1}  # the first call fails, to exercise retries

    @app.post("/hook")
    async def hook(request: Request):
        with lock:
            if failures["left"]:
                failures["left"] -= 1
                return JSONResponse({"status": "try again"}, status_code=503)
        body = await request.body()
        with lock:
            received.append((dict(request.headers), body))
        return {"ok": True}

    @app.post("/fail")
    async def fail():
        return JSONResponse({"error": "nope"}, status_code=500)

    with ServerThread(app) as server:
        yield server.url, received


def test_webhook_delivery_signed_and_ordered(tribe, receiver):
    state, api = tribe
    url, received = receiver
    created = api.session.post(f"{api.url}/v1/webhooks", json={
        "entityType": "Relation.Organization", "webhookUrl": f"{url}/hook",
        "headers": [{"name": "X-Custom", "value": "abc"}]}, timeout=5)
    assert created.status_code == 201
    hook = created.json()
    assert hook["secret"] and hook["entityType"] == "Relation.Organization"
    assert hook["id"] in [h["id"] for h in api.session.get(f"{api.url}/v1/webhooks", timeout=5).json()]

    org = api.ok("POST", "Relation_Organization", {"Name": "Webhook BV"}, status=201)
    api.ok("PUT", f"Relation_Organization({org['ID']})", {"Website": "https://webhook.nl"})
    api.ok("POST", "Product", {"Name": "Not watched"}, status=201)  # other type: no event
    assert api.call("DELETE", f"Relation_Organization({org['ID']})").status_code == 204
    assert state.webhooks.wait_idle(10)

    events = [json.loads(body) for _, body in received if json.loads(body)["payload"]["entityId"] == org["ID"]]
    assert [e["payload"]["type"] for e in events] == [
        "EntityCreationMutation", "EntityUpdateMutation", "EntityDeletionMutation"]
    assert len({e["payload"]["eventId"] for e in events}) == 3
    assert all(e["webhookId"] == hook["id"] and e["payload"]["entityType"] == "Relation.Organization" for e in events)
    for headers, body in received:
        assert headers["x-custom"] == "abc"
        assert headers[SIGNATURE_HEADER.lower()] == sign(hook["secret"], body)
        assert headers[SIGNATURE_HEADER.lower()] != sign("wrong-secret", body)
    first = next(d for d in state.webhooks.deliveries() if d["entityId"] == org["ID"])
    assert first["attempts"] == 2 and first["delivered"] is True and first["status"] == 200

    assert api.session.delete(f"{api.url}/v1/webhooks/{hook['id']}", timeout=5).status_code == 204
    count = len(received)
    api.ok("POST", "Relation_Organization", {"Name": "After delete"}, status=201)
    time.sleep(0.2)
    assert len(received) == count


def test_relationship_webhooks_use_relationship_mutations(tribe, receiver):
    state, api = tribe
    url, received = receiver
    hook = api.session.post(f"{api.url}/v1/webhooks", json={"entityType": "Relationship", "webhookUrl": f"{url}/hook"},
                            timeout=5).json()
    org = state.all("Relation_Organization")[-1]
    supplier = api.ok("POST", "Relationship_Organization_Supplier", {"Organization": {"ID": org["ID"]}}, status=201)
    assert state.webhooks.wait_idle(10)
    payloads = [json.loads(body)["payload"] for _, body in received if json.loads(body)["webhookId"] == hook["id"]]
    assert payloads == [{"type": "RelationshipCreationMutation", "entityType": "Relationship.Organization.Supplier",
                         "relationshipId": supplier["ID"], "eventId": payloads[0]["eventId"],
                         "timestamp": payloads[0]["timestamp"]}]
    api.session.delete(f"{api.url}/v1/webhooks/{hook['id']}", timeout=5)


def test_webhook_failures_are_recorded(tribe, receiver):
    state, api = tribe
    url, _ = receiver
    hook = api.session.post(f"{api.url}/v1/webhooks", json={"entityType": "Product", "webhookUrl": f"{url}/fail"},
                            timeout=5).json()
    api.ok("POST", "Product", {"Name": "Failing"}, status=201)
    assert state.webhooks.wait_idle(10)
    failed = [d for d in state.webhooks.deliveries() if d["webhookId"] == hook["id"]]
    assert failed and failed[0]["delivered"] is False and failed[0]["attempts"] == state.webhooks.max_attempts
    assert failed[0]["status"] == 500
    api.session.delete(f"{api.url}/v1/webhooks/{hook['id']}", timeout=5)


# ---- rate limit, counters, faults ------------------------------------------------------------
def test_reset_restores_the_seeded_tenant():
    state = TribeState(rate_limit=0)
    seed(state, organisations=5, persons=3, products=2, rng_seed=11)
    ids = sorted(o["ID"] for o in state.all("Relation_Organization"))
    state.insert("Relation_Organization", {"Name": "Extra"})
    state.reset()
    assert sorted(o["ID"] for o in state.all("Relation_Organization")) == ids  # same seed, same IDs
    assert state.snapshot()["Datastore_Phase_ActivityInvoice"] == 3


def test_rate_limit_429_with_retry_after():
    state = TribeState(rate_limit=20, reference_data=False)
    with ServerThread(create_app(state)) as server:
        api = Api(server.url)  # the token call counts as call 1
        statuses = [api.call("GET", "Datastore_Unit").status_code for _ in range(21)]
        assert statuses[:19] == [200] * 19 and statuses[19:] == [429, 429]
        limited = api.call("GET", "Datastore_Unit")
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        assert "Rate limit" in limited.json()["error"]["message"]
        counters = state.counters()
        assert counters["rate_limited"] == 3 and counters["tokens_issued"] == 1
        assert counters["calls"]["GET Datastore_Unit"] == 22 and counters["total"] == 23
        state.reset_counters()
        assert state.counters()["total"] == 0


def test_fault_injection_and_control_routes(tribe):
    state, api = tribe
    assert requests.put(f"{api.url}/_sandbox/faults", json={"error_5xx": 1.0}, timeout=5).status_code == 200
    try:
        response = api.call("GET", "Product")
        assert response.status_code in (500, 502, 503)
        assert response.json()["error"]["message"] == "Injected server error"
        assert state.faults.injected["error_5xx"] >= 1
    finally:
        assert requests.delete(f"{api.url}/_sandbox/faults", timeout=5).status_code == 200
    assert api.call("GET", "Product").status_code == 200
    snapshot = requests.get(f"{api.url}/_sandbox/state", timeout=5).json()
    assert snapshot["Product"] == len(state.all("Product")) and snapshot["Datastore_Unit"] == 4
