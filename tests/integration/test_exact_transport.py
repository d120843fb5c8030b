"""Exact Online's budgets and error block through the real hook (``client_for``: the core's
fixed-window limiter, header reader and error guard as the hook sets them) against the Exact
simulator: the minute paces without a 429, a spent day stops at once and is not retried, and
refused records stop reaching Exact well before it would block the key."""
from __future__ import annotations

import json
import uuid

import pytest
from cryptography.fernet import Fernet

from sandbox.exact.clients import REDIRECT_URI, ExactServer
from sandbox.exact.seed import NL
from tests.integration.test_exact_tokens import browser
from tribe_operators.exceptions import ApiClientError, BudgetExhaustedError, ErrorBudgetHeldError
from tribe_operators.systems.exact.authorize import ExactAuthorization
from tribe_operators.systems.exact.hook import ExactOnlineHook

pytestmark = pytest.mark.postgres
ACCOUNTS = {"$filter": "Blocked eq false", "$select": "ID,Code,Name"}


@pytest.fixture
def exact(link_db, monkeypatch):
    """A signed-in hook on a fresh simulator (its own client id: budgets and guards are per key)."""
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", Fernet.generate_key().decode())

    def start(**options):
        server = ExactServer(**options).__enter__()
        server.state.client_id = f"app-{uuid.uuid4().hex[:8]}"  # budgets and guards are this process's, per app
        conn = {"conn_type": "exact_online", "host": server.url, "login": server.state.client_id,
                "password": server.state.client_secret,
                "extra": {"division": NL, "redirect_uri": REDIRECT_URI, "max_attempts": 3}}
        monkeypatch.setenv("AIRFLOW_CONN_EXACT_DEFAULT", json.dumps(conn))
        flow = ExactAuthorization(ExactOnlineHook())
        flow.complete(browser(flow.url()))
        server.state.reset_counters()
        started.append(server)
        return server, ExactOnlineHook()

    started: list[ExactServer] = []
    yield start
    for server in started:
        server.__exit__(None, None, None)


def test_seventy_calls_at_full_speed_meet_no_minutely_429(exact):
    """Exact's own numbers (60 a clock minute): the run crosses a minute boundary, paced, not refused."""
    server, hook = exact()
    client = hook.client_for(NL)
    for _ in range(70):
        client.request("GET", "crm/Accounts", params=ACCOUNTS)
    counters = server.state.counters()
    assert counters["rate_limited"]["minutely"] == 0, counters
    assert counters["requests"]["GET crm/accounts"] == 70


def test_a_spent_day_stops_at_once_and_is_not_retried(exact):
    server, hook = exact(daily_limit=40)
    client = hook.client_for(NL)
    with pytest.raises(BudgetExhaustedError, match="resumes after 00:00 UTC"):
        for _ in range(60):
            client.request("GET", "crm/Accounts", params=ACCOUNTS)
    sent = server.state.counters()["requests"]["GET crm/accounts"]
    assert sent <= 41, sent  # the 40 allowed, at most one refused
    with pytest.raises(BudgetExhaustedError):  # the next call stops before it is sent
        client.request("GET", "crm/Accounts", params=ACCOUNTS)
    assert server.state.counters()["requests"]["GET crm/accounts"] == sent
    assert server.state.counters()["rate_limited"]["daily"] <= 1


def test_twelve_refused_records_reach_exact_six_times_and_the_key_is_never_blocked(exact):
    server, hook = exact()
    client = hook.client_for(NL)
    refused, held = 0, 0
    for n in range(12):
        try:  # an account without a name: Exact answers 400
            client.request("POST", "crm/Accounts", json={"Code": f"{9000 + n}", "Status": "C"})
        except ErrorBudgetHeldError as exc:
            held += 1
            assert "crm/Accounts" in exc.reason and "retried after" in exc.reason
        except ApiClientError as exc:
            refused += 1
            assert exc.status == 400
    counters = server.state.counters()
    assert (refused, held) == (6, 6), (refused, held)
    assert counters["requests"].get("POST crm/accounts") == 6 and counters["blocks"] == 0, counters
    client.request("GET", "system/Divisions")  # other endpoints still go
