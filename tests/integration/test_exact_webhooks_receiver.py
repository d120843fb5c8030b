"""Exact Online's webhooks into our receiver, end to end: subscribed through the CLI in the Exact
simulator, which then posts its validation request and its signed events to our receiver (the
``tribe_sync`` plugin mounted as the API server mounts it, on a real socket); an Item changed in
Exact starts ``exact_to_tribe`` once, however often the event is delivered; a bad HashCode
starts nothing; a bank entry booked in Exact (its ``FinancialTransactions`` event) starts
``exact_payments_to_tribe`` for the division, and not the relations import.

Real pieces throughout: Airflow's ``trigger_dag`` on the (SQLite) metadata DB with the DAGs
serialized into it, the replay store and the token store on PostgreSQL, the Exact simulator as
the sender (its own HMAC code signs the events).
"""
from __future__ import annotations

import io
import json
import logging
import os
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import requests
from cryptography.fernet import Fernet

from sandbox.exact.clients import REDIRECT_URI, ExactServer
from sandbox.exact.entities import find_spec
from sandbox.exact.seed import BE, NL
from sandbox.exact.webhooks import hash_code
from tests.fixtures.webhooks import dag_runs
from tests.integration.test_exact_tokens import browser
from tribe_operators.cli import main
from tribe_operators.store.webhook_events import WebhookEvents

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]

IMPORT = "exact_to_tribe"
PAYMENTS = "exact_payments_to_tribe"
PATH = "/tribe-sync/webhooks/exact"


@pytest.fixture(scope="module", autouse=True)
def _forget_webhook_runs(forget_webhook_runs) -> None:
    """The metadata DB outlives this module: leave no queued ``webhook__`` runs behind."""


@pytest.fixture
def receiver(link_db, serialized_dags) -> Iterator[Any]:
    """Airflow's own ``init_plugins`` on a FastAPI root (as the API server does), on a socket."""
    from airflow.api_fastapi.app import init_plugins
    from fastapi import FastAPI

    from sandbox.common import ServerThread

    root = FastAPI()
    init_plugins(root)
    with ServerThread(root) as server:
        yield server


@pytest.fixture
def exact(link_db, monkeypatch) -> Iterator[ExactServer]:
    """The Exact simulator, its app authorized once in ``exact_default`` with the app's webhook
    secret in the connection (as an operator copies it from the App Center)."""
    from tribe_operators.http.guard import forget_shared_guards
    from tribe_operators.http.pacing import forget_shared_limiters
    from tribe_operators.systems.exact.authorize import ExactAuthorization
    from tribe_operators.systems.exact.hook import ExactOnlineHook

    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", Fernet.generate_key().decode())
    forget_shared_limiters()
    forget_shared_guards()  # the refused Contacts topic counts toward the endpoint's refusals
    with ExactServer(webhook_validation_delay_s=0.05, webhook_attempts=1) as server:
        monkeypatch.setenv("AIRFLOW_CONN_EXACT_DEFAULT", json.dumps({
            "conn_type": "exact_online", "host": server.url, "login": server.state.client_id,
            "password": server.state.client_secret,
            "extra": {"division": NL, "redirect_uri": REDIRECT_URI, "webhook_secret": server.state.webhook_secret}}))
        flow = ExactAuthorization(ExactOnlineHook())
        flow.complete(browser(flow.url()))
        yield server
    forget_shared_limiters()
    forget_shared_guards()


def delivered(exact: ExactServer, kind: str, n: int) -> list[dict[str, Any]]:
    """The simulator's ``kind`` deliveries once ``n`` are done. Not ``wait_idle`` alone: a worker
    that has taken its item off the queue but not yet logged the delivery looks idle."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        done = [d for d in exact.state.webhooks.deliveries if d["kind"] == kind and d["delivered"] is not None]
        if len(done) >= n:
            return done
        time.sleep(0.02)
    raise AssertionError(f"{n} {kind} deliveries expected; the simulator made {exact.state.webhooks.deliveries}")


def subscribe(link_db, url: str, *extra: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["--db-url", link_db.url.render_as_string(hide_password=False), "webhooks", "subscribe",
                 "--conn", "exact_default", "--url", url, *extra], out)
    return code, out.getvalue()


@pytest.fixture
def subscribed(exact, receiver, link_db) -> ExactServer:
    code, printed = subscribe(link_db, f"{receiver.url}{PATH}")
    assert code == 0, printed
    delivered(exact, "validation", 3)
    return exact


def end_item(exact: ExactServer) -> str:
    """End an item in Exact (what makes it Inactive in Tribe), as Exact's UI would: an Update."""
    spec = find_spec("logistics/Items")
    with exact.state.lock:
        item = next(iter(exact.state.store.table(NL, spec).values()))
        exact.state.store.update(NL, spec, item, {"EndDate": datetime(2026, 1, 31)})
    return item["ID"]


def events(exact: ExactServer) -> list[dict[str, Any]]:
    return delivered(exact, "event", 1)


def import_runs() -> list[dict[str, Any]]:
    return [r for r in dag_runs() if r["dag_id"] == IMPORT]


def test_subscribing_is_validated_by_the_receiver_and_running_it_again_keeps_it(exact, receiver, link_db):
    url = f"{receiver.url}{PATH}"
    runs_before = len(dag_runs())
    code, printed = subscribe(link_db, url)
    assert code == 0, printed
    for topic in ("Accounts", "Items", "FinancialTransactions"):
        assert f"{NL}\t{topic}\tsubscribed" in printed, printed
    assert f"{NL}\tContacts\tnot offered" in printed, printed  # the simulator has no Contacts topic
    validations = delivered(exact, "validation", 3)
    # Exact drops a subscription whose empty validation POST is not answered 200.
    assert [(v["topic"], v["status"], v["delivered"]) for v in sorted(validations, key=lambda v: v["topic"])] == [
        ("Accounts", 200, True), ("FinancialTransactions", 200, True), ("Items", 200, True)]
    assert sorted(r["Topic"] for r in exact.state.webhooks.rows(NL)) == ["Accounts", "FinancialTransactions", "Items"]
    assert len(dag_runs()) == runs_before  # a validation starts nothing

    again, printed = subscribe(link_db, url)
    assert again == 0 and f"{NL}\tAccounts\tkept" in printed and f"{NL}\tItems\tkept" in printed, printed
    assert f"{NL}\tFinancialTransactions\tkept" in printed, printed
    assert len(exact.state.webhooks.rows(NL)) == 3

    code, printed = subscribe(link_db, url, "--division", str(BE))  # a division named on the command line
    assert code == 0 and f"{BE}\tItems\tsubscribed" in printed, printed
    assert len(exact.state.webhooks.rows(NL)) == 3 and len(exact.state.webhooks.rows(BE)) == 3


def test_an_item_ended_in_exact_starts_the_import_once_however_often_it_is_delivered(subscribed, receiver,
                                                                                      link_db):
    exact = subscribed
    before = len(import_runs())
    item_id = end_item(exact)

    (event,) = events(exact)
    assert (event["topic"], event["action"], event["key"]) == ("Items", "Update", item_id)
    assert (event["status"], event["delivered"], event["attempts"]) == (200, True, 1)
    (run,) = [r for r in import_runs() if r["conf"]["entity_id"] == item_id]
    event_id = run["conf"]["webhook_event_id"]
    assert run["run_id"] == f"webhook__{event_id}"
    assert run["conf"] == {"division": NL, "topic": "Items", "action": "Update", "entity_type": "Items",
                           "entity_id": item_id, "scope": "default", "webhook_event_id": event_id}
    assert run["state"].endswith("queued") and run["triggered_by"].endswith("REST_API")
    assert WebhookEvents(link_db).get(event_id, IMPORT).status == "triggered"

    # Exact delivers the same event again (its retry after a lost answer): the same bytes.
    again = requests.post(f"{receiver.url}{PATH}", data=event["body"], timeout=10,
                          headers={"Content-Type": "application/json"})
    assert (again.status_code, again.json()["status"]) == (200, "duplicate"), again.text
    assert len(import_runs()) == before + 1


def test_an_account_event_starts_the_import_for_accounts(subscribed):
    exact = subscribed
    account = exact.state.insert(NL, "crm/Accounts", {"Name": "Webhook Klant BV", "Status": "C"})
    (event,) = events(exact)
    assert (event["topic"], event["action"], event["status"]) == ("Accounts", "Create", 200)
    (run,) = [r for r in import_runs() if r["conf"]["entity_id"] == account["ID"]]
    assert (run["conf"]["entity_type"], run["conf"]["topic"]) == ("Accounts", "Accounts")


def payment_runs() -> list[dict[str, Any]]:
    return [r for r in dag_runs() if r["dag_id"] == PAYMENTS]


def book_bank_entry(exact: ExactServer) -> str:
    """A bank entry as the accountant books a customer's payment in Exact's UI."""
    from sandbox.exact.bankentry import FinancialEntryRules
    from sandbox.exact.seed import _ctx

    with exact.state.lock:
        ctx = _ctx(exact.state, NL)
        entry = FinancialEntryRules("financialtransaction/BankEntryLines", 12).create(
            ctx, ctx.spec("financialtransaction/BankEntries"),
            {"Journal": "20", "BankEntryLines": [{"AmountFC": -121.0, "Description": "Betaling"}]})
    return entry["EntryID"]


def test_a_bank_entry_in_exact_starts_the_payments_run_for_its_division_once(subscribed, receiver, link_db):
    exact = subscribed
    imports, before = len(import_runs()), len(payment_runs())
    entry_id = book_bank_entry(exact)

    (event,) = events(exact)
    assert (event["topic"], event["action"], event["key"], event["status"]) == (
        "FinancialTransactions", "Create", entry_id, 200)
    (run,) = [r for r in payment_runs() if r["conf"]["entity_id"] == entry_id]
    event_id = run["conf"]["webhook_event_id"]
    assert run["conf"] == {"division": NL, "topic": "FinancialTransactions", "action": "Create",
                           "entity_type": "FinancialTransactions", "entity_id": entry_id, "scope": "default",
                           "webhook_event_id": event_id}
    assert len(import_runs()) == imports  # a payment is not a relation: the import is not started
    assert WebhookEvents(link_db).get(event_id, PAYMENTS).status == "triggered"

    again = post(receiver, event["body"])  # Exact's redelivery: the same bytes
    assert (again.status_code, again.json()["status"]) == (200, "duplicate"), again.text
    assert len(payment_runs()) == before + 1


def test_an_event_signed_with_another_secret_is_refused_and_starts_nothing(subscribed, link_db, caplog):
    caplog.set_level(logging.DEBUG)
    exact = subscribed
    exact.state.webhook_secret = "not-the-apps-secret"  # what a forger would have
    before = len(import_runs())
    end_item(exact)
    (event,) = events(exact)
    assert (event["status"], event["delivered"]) == (401, False)
    assert len(import_runs()) == before
    assert "Exact Online webhook refused: missing or invalid signature" in caplog.text
    assert "not-the-apps-secret" not in caplog.text


def signed(secret: str, content: dict[str, Any]) -> bytes:
    raw = json.dumps(content, separators=(",", ":"))
    return ('{"Content":' + raw + ',"HashCode":"' + hash_code(secret, raw) + '"}').encode()


def content(**changes: Any) -> dict[str, Any]:
    return {"Topic": "Items", "ClientId": str(uuid.uuid4()), "Division": NL, "Action": "Update",
            "Key": str(uuid.uuid4()), "ExactOnlineEndpoint": "https://start.exactonline.nl/api/v1/100001/x",
            "EventCreatedOn": "2026-12-07T09:00:00.000", **changes}


def post(receiver, body: bytes, path: str = PATH) -> requests.Response:
    return requests.post(f"{receiver.url}{path}", data=body, timeout=10, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("forge", ["HashCode of other content", "content changed after signing", "lower-case of "
                                   "another", "no HashCode", "not JSON", "HashCode not a string"])
def test_a_tampered_body_is_401_and_starts_nothing(exact, receiver, link_db, forge):
    secret = exact.state.webhook_secret
    good = signed(secret, content())
    body = {"HashCode of other content": good.replace(good[-66:-2], signed(secret, content())[-66:-2]),
            "content changed after signing": good.replace(b'"Update"', b'"Create"'),
            "lower-case of another": good.replace(good[-66:-2], hash_code("x", "y").lower().encode()),
            "no HashCode": good[:good.rindex(b',"HashCode"')] + b"}",
            "not JSON": b"Content=1&HashCode=2",
            "HashCode not a string": good[:good.rindex(b',"HashCode"')] + b',"HashCode":1}'}[forge]
    before = len(dag_runs())
    response = post(receiver, body)
    assert response.status_code == 401, response.text
    assert len(dag_runs()) == before
    with link_db.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM webhook_event").scalar() == 0


@pytest.mark.parametrize("changes", [{"Key": "1; DROP TABLE"}, {"Division": "abc"}, {"Division": True},
                                     {"Action": "Explode"}, {"Topic": ""}, {"Topic": None}])
def test_a_signed_body_of_the_wrong_shape_is_400(exact, receiver, changes):
    before = len(dag_runs())
    response = post(receiver, signed(exact.state.webhook_secret, content(**changes)))
    assert response.status_code == 400, response.text
    assert len(dag_runs()) == before


@pytest.mark.parametrize(("changes", "reason"), [
    ({"Topic": "SalesEntries"}, "topic SalesEntries is not synced"),
    ({"Action": "Delete"}, "deletions are read by the poll (sync/Deleted)"),
    ({"Division": 424242}, "424242 is not a scope of the exact settings")])
def test_events_not_synced_are_202_once_and_start_nothing(exact, receiver, link_db, changes, reason):
    body = signed(exact.state.webhook_secret, content(**changes))
    before = len(dag_runs())
    response = post(receiver, body)
    assert (response.status_code, response.json()["status"], response.json()["reason"]) == (202, "ignored", reason)
    assert post(receiver, body).json()["status"] == "duplicate"
    assert len(dag_runs()) == before


def test_a_financial_transaction_deleted_starts_the_payments_run(exact, receiver):
    """An entry removed can reopen a receivable: unlike a relation's Delete, it is read at once."""
    before = len(payment_runs())
    body = signed(exact.state.webhook_secret, content(Topic="FinancialTransactions", Action="Delete"))
    response = post(receiver, body)
    assert (response.status_code, response.json()["status"]) == (200, "triggered"), response.text
    assert [r["dag_id"] for r in response.json()["runs"]] == [PAYMENTS]
    assert len(payment_runs()) == before + 1


def test_the_validation_request_is_answered_and_unknown_senders_are_404(exact, receiver):
    for body in (b"", b"{}"):
        response = post(receiver, body)
        assert (response.status_code, response.json()) == (200, {"status": "validated"})
    assert post(receiver, b"", "/tribe-sync/webhooks/poweroffice").status_code == 404  # sends none of its own
    assert post(receiver, b"", "/tribe-sync/webhooks/nosuch").status_code == 404


def test_without_a_webhook_secret_events_are_503_but_subscribing_still_validates(exact, receiver, monkeypatch):
    conn = json.loads(os.environ["AIRFLOW_CONN_EXACT_DEFAULT"])
    conn["extra"].pop("webhook_secret")
    monkeypatch.setenv("AIRFLOW_CONN_EXACT_DEFAULT", json.dumps(conn))
    before = len(dag_runs())
    assert post(receiver, signed(exact.state.webhook_secret, content())).status_code == 503  # Exact retries
    assert post(receiver, b"").status_code == 200
    assert len(dag_runs()) == before
