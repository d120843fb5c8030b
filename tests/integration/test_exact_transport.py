"""Exact Online's budgets and error block through the real hook (``client_for``: the core's
fixed-window limiter, header reader and error guard as the hook sets them) against the Exact
simulator: the minute paces without a 429 and without wasting minutes, a spent day stops at once
and is not retried, and refused records stop reaching Exact well before it would block the key."""
from __future__ import annotations

import json
import time
import uuid
from collections import Counter

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

    def start(extra=None, **options):
        server = ExactServer(**options).__enter__()
        server.state.client_id = f"app-{uuid.uuid4().hex[:8]}"  # budgets and guards are this process's, per app
        conn = {"conn_type": "exact_online", "host": server.url, "login": server.state.client_id,
                "password": server.state.client_secret,
                "extra": {"division": NL, "redirect_uri": REDIRECT_URI, "max_attempts": 3, **(extra or {})}}
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


@pytest.mark.long
@pytest.mark.timeout(540)  # five real minutes of pacing, and up to 40 s to begin early in a minute
def test_three_hundred_calls_at_full_speed_meet_no_minutely_429_and_waste_no_minute(exact):
    """Exact's own numbers in real time (60 a clock minute: some five minutes, nearly all of it
    waiting): every clock minute Exact counts gets at most its 60 calls, none is refused, and the
    300 calls take no more clock minutes than they need (five) and one more for the pacing's
    smoothing, so the run is paced, not needlessly slow."""
    server, hook = exact()
    client = hook.client_for(NL)
    # Begin in the first third of a clock minute, so the count of minutes does not depend on
    # the second the test happens to start at (a run begun at :55 touches one minute more).
    if (into := time.time() % 60) > 20:
        time.sleep(60 - into + 0.5)
    minutes: Counter[str] = Counter()  # Exact's minute window (its reset, epoch ms) -> calls it counted
    left: dict[str, int] = {}          # and what Exact said was left of it after the last of them
    for _ in range(300):
        response = client.request("GET", "crm/Accounts", params=ACCOUNTS)
        window = response.headers["X-RateLimit-Minutely-Reset"]
        minutes[window] += 1
        left[window] = int(response.headers["X-RateLimit-Minutely-Remaining"])
    counters = server.state.counters()
    assert counters["rate_limited"]["minutely"] == 0, counters
    assert counters["requests"]["GET crm/accounts"] == 300
    # Exact's own count of each minute: ours, plus at most the one call signing in made (listing
    # the divisions the grant covers counts toward the division) when it fell in the same minute.
    assert all(calls <= 60 and 0 <= left[w] <= 60 - calls for w, calls in minutes.items()), (minutes, left)
    assert sum(60 - left[w] - calls for w, calls in minutes.items()) <= 1, (minutes, left)
    assert len(minutes) <= 300 // 60 + 1, minutes  # the five minutes 300 calls need, and one more


def test_a_spent_day_stops_at_once_and_is_not_retried(exact):
    """A day of 120 calls (the issue's number). The minute is widened to 6,000 on both sides
    (Exact's and the connection's) so the 120 calls go at once instead of waiting out two real
    minutes: the day is what this test is about, the minute is the test above."""
    server, hook = exact(extra={"calls_per_minute": 6000}, daily_limit=120, minutely_limit=6000)
    client = hook.client_for(NL)
    signing_in = server.state.budgets.used((server.state.client_id, NL), "daily")  # the divisions listed
    with pytest.raises(BudgetExhaustedError, match="resumes after 00:00 UTC"):
        for _ in range(200):
            client.request("GET", "crm/Accounts", params=ACCOUNTS)
    sent = server.state.counters()["requests"]["GET crm/accounts"]
    assert signing_in + sent == 120, (signing_in, sent)  # the whole day used, not one call past it
    with pytest.raises(BudgetExhaustedError):  # the next call stops before it is sent
        client.request("GET", "crm/Accounts", params=ACCOUNTS)
    assert server.state.counters()["requests"]["GET crm/accounts"] == sent
    assert server.state.counters()["rate_limited"]["daily"] == 0


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
