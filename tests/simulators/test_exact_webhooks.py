"""The Exact simulator's webhooks: the empty validation POST, signed events (HashCode over the raw
Content, upper-case hex), no PUT, and a callback that fails validation."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from sandbox.exact.receiver import CallbackReceiver
from sandbox.exact.seed import NL


@pytest.fixture
def exact(server):
    server.state.reset()
    server.state.options.webhook_validation_delay_s = 0.3
    return server


@pytest.fixture
def hook():
    with CallbackReceiver() as receiver:
        yield receiver


def _subscribe(exact, token, url, topic="Accounts"):
    started = time.monotonic()
    response = exact.post("webhooks/WebhookSubscriptions", token, {"CallbackURL": url, "Topic": topic})
    assert response.status_code == 201, response.text
    return response.json()["d"], started


def _raw_content(body: bytes) -> str:
    text = body.decode()
    assert text.startswith('{"Content":') and ',"HashCode":"' in text
    return text[len('{"Content":'):text.rindex(',"HashCode":')]


def test_subscribing_brings_an_empty_validation_post_about_a_second_later(exact, token, hook):
    row, started = _subscribe(exact, token, hook.url)
    assert row["Topic"] == "Accounts" and row["Division"] == NL and row["ClientID"] == exact.state.client_id
    calls = hook.wait_for(1)
    assert len(calls) == 1
    assert calls[0].body == b"" and calls[0].headers.get("content-length") == "0"
    assert calls[0].at - started >= 0.25  # after the subscription, not during it
    listed = exact.get("webhooks/WebhookSubscriptions", token).json()["d"]["results"]
    assert [r["ID"] for r in listed] == [row["ID"]]


def test_account_changes_arrive_signed_with_upper_case_hmac_sha256_of_the_raw_content(exact, token, hook):
    _subscribe(exact, token, hook.url)
    hook.wait_for(1)
    account = next(iter(exact.state.store.table(NL, "crm/Accounts").values()))
    assert exact.call("PUT", f"crm/Accounts(guid'{account['ID']}')", token, json={"Phone": "010-1234567"}
                      ).status_code == 204
    calls = hook.wait_for(2)
    assert len(calls) == 2
    raw = _raw_content(calls[1].body)
    digest = hmac.new(exact.state.webhook_secret.encode(), raw.encode(), hashlib.sha256)
    payload = json.loads(calls[1].body)
    assert payload["HashCode"] == digest.hexdigest().upper()
    assert payload["HashCode"] not in (digest.hexdigest(), base64.b64encode(digest.digest()).decode())
    content = payload["Content"]
    assert set(content) == {"Topic", "ClientId", "Division", "Action", "Key", "ExactOnlineEndpoint", "EventCreatedOn"}
    assert (content["Topic"], content["Action"], content["Key"], content["Division"]) == (
        "Accounts", "Update", account["ID"], NL)
    fetched = exact.get(content["ExactOnlineEndpoint"], token)
    assert fetched.status_code == 200 and fetched.json()["d"]["Phone"] == "010-1234567"


def test_items_events_and_no_events_for_other_topics(exact, token, hook):
    _subscribe(exact, token, hook.url, topic="Items")
    hook.wait_for(1)
    exact.post("crm/Accounts", token, {"Name": "Geen event"})
    created = exact.post("logistics/Items", token, {"Code": "NEW-1", "Description": "Nieuw", "Unit": "stuk"})
    assert created.status_code == 201, created.text
    exact.call("DELETE", f"logistics/Items(guid'{created.json()['d']['ID']}')", token)
    calls = hook.wait_for(3)
    actions = [json.loads(c.body)["Content"]["Action"] for c in calls[1:]]
    assert actions == ["Create", "Delete"]
    assert exact.state.webhooks.wait_idle() and exact.state.counters()["webhooks"]["events_delivered"] == 2


def test_a_subscription_cannot_be_updated_only_deleted(exact, token, hook):
    row, _ = _subscribe(exact, token, hook.url)
    hook.wait_for(1)
    uri = row["__metadata"]["uri"]
    refused = exact.call("PUT", uri, token, json={"CallbackURL": hook.url + "/other"})
    assert refused.status_code == 400 and refused.json()["error"]["message"]["value"] == "You're not allowed to Update()"
    assert exact.call("DELETE", uri, token).status_code == 204
    account = next(iter(exact.state.store.table(NL, "crm/Accounts").values()))
    exact.call("PUT", f"crm/Accounts(guid'{account['ID']}')", token, json={"Phone": "1"})
    time.sleep(0.3)
    assert len(hook.calls) == 1


def test_a_callback_failing_validation_loses_its_subscription(exact, token, hook):
    hook.status = 500
    exact.state.options.webhook_attempts = 1
    _subscribe(exact, token, hook.url)
    hook.wait_for(1)
    assert exact.state.webhooks.wait_idle()
    assert exact.get("webhooks/WebhookSubscriptions", token).json()["d"]["results"] == []


def test_unknown_topics_are_refused(exact, token, hook):
    refused = exact.post("webhooks/WebhookSubscriptions", token, {"CallbackURL": hook.url, "Topic": "Unicorns"})
    assert refused.status_code == 400
