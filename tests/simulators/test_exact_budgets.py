"""Exact's budgets (60 a clock minute, 5,000 a UTC day per app × division, fixed windows), the six
X-RateLimit-* headers, and the error-rate block; plus the two shared pieces in sandbox/common."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sandbox.common.errorrate import ErrorRateBlocker
from sandbox.common.fixedwindow import MINUTE, UTC_DAY, FixedWindow, FixedWindowBudget
from sandbox.exact.seed import BE, NL

HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Minutely-Limit",
           "X-RateLimit-Minutely-Remaining", "X-RateLimit-Minutely-Reset")


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.t = start

    def __call__(self) -> datetime:
        return self.t


# --- sandbox/common ------------------------------------------------------------------------------
def test_fixed_windows_start_on_the_clock_minute_and_at_midnight_utc():
    clock = FakeClock(datetime(2026, 3, 1, 23, 59, 50, tzinfo=UTC))
    budget = FixedWindowBudget([FixedWindow("minutely", 3, MINUTE), FixedWindow("daily", 5, UTC_DAY)], clock)
    for _ in range(3):
        assert budget.take("k").allowed
    refused = budget.take("k")
    assert not refused.allowed and refused.exceeded == "minutely"
    assert budget.used("k", "daily") == 3  # a refused call consumes nothing
    assert refused.windows["minutely"].reset_ms == int(datetime(2026, 3, 2, tzinfo=UTC).timestamp() * 1000)
    clock.t += timedelta(seconds=11)  # 00:00:01: a new minute *and* a new day, not 60 s after the first call
    decision = budget.take("k")
    assert decision.allowed and decision.windows["daily"].remaining == 4
    assert budget.take("other").windows["minutely"].remaining == 2  # per key


def test_a_spent_day_is_reported_over_a_spent_minute():
    clock = FakeClock(datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC))
    budget = FixedWindowBudget([FixedWindow("minutely", 2, MINUTE), FixedWindow("daily", 2, UTC_DAY)], clock)
    budget.take("k"), budget.take("k")
    assert budget.take("k").exceeded == "daily"


def test_the_error_blocker_blocks_after_the_limit_and_escalates():
    clock = FakeClock(datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC))
    blocker = ErrorRateBlocker(clock, limit=10)
    assert not any(blocker.record(("k", "ep"), "k") for _ in range(10))
    assert blocker.blocked_until("k") is None
    assert blocker.record(("k", "ep"), "k")
    assert blocker.blocked_until("k") == clock.t + timedelta(hours=1)
    clock.t += timedelta(hours=1, seconds=1)
    assert blocker.blocked_until("k") is None
    for _ in range(11):
        blocker.record(("k", "ep"), "k")
    assert blocker.blocked_until("k") == clock.t + timedelta(hours=2)  # longer the second time


def test_the_error_hour_slides_by_default_and_may_be_a_clock_hour():
    clock = FakeClock(datetime(2026, 3, 1, 12, 59, 0, tzinfo=UTC))
    sliding, fixed = ErrorRateBlocker(clock, limit=2), ErrorRateBlocker(clock, limit=2, clock_hour=True)
    for blocker in (sliding, fixed):
        blocker.record("ep", "k"), blocker.record("ep", "k")
    clock.t += timedelta(minutes=2)  # 13:01: a new clock hour
    assert sliding.record("ep", "k") and not fixed.record("ep", "k")


# --- the simulator -------------------------------------------------------------------------------
@pytest.fixture
def exact(server):
    server.state.reset()
    server.state.advance_to_next(MINUTE)  # a whole fresh minute ahead of the test
    return server


def test_every_division_call_carries_six_headers_with_resets_in_epoch_ms(exact, token):
    first = exact.get("financial/Journals", token)
    second = exact.get("financial/Journals", token)
    assert all(name in first.headers for name in HEADERS)
    assert first.headers["X-RateLimit-Limit"] == "5000" and first.headers["X-RateLimit-Minutely-Limit"] == "60"
    assert int(first.headers["X-RateLimit-Remaining"]) - 1 == int(second.headers["X-RateLimit-Remaining"])
    now_ms = exact.state.now().timestamp() * 1000
    minute_reset, day_reset = int(first.headers["X-RateLimit-Minutely-Reset"]), int(first.headers["X-RateLimit-Reset"])
    assert minute_reset % 60_000 == 0 and 0 < minute_reset - now_ms <= 60_000   # the end of this clock minute
    assert day_reset % 86_400_000 == 0 and 0 < day_reset - now_ms <= 86_400_000  # the next 00:00 UTC


def test_the_61st_call_in_a_clock_minute_gets_429_with_only_the_minutely_headers(exact, token):
    for _ in range(60):
        assert exact.get("financial/Journals", token).status_code == 200
    refused = exact.get("financial/Journals", token)
    assert refused.status_code == 429
    assert refused.json()["error"]["message"]["value"]
    assert refused.headers["X-RateLimit-Minutely-Remaining"] == "0"
    assert "X-RateLimit-Limit" not in refused.headers and "X-RateLimit-Remaining" not in refused.headers
    assert "Retry-After" not in refused.headers
    assert exact.state.counters()["rate_limited"]["minutely"] == 1
    exact.state.advance_to_next(MINUTE)
    assert exact.get("financial/Journals", token).status_code == 200


def test_a_daily_limit_of_120_refuses_the_121st_call_until_midnight_utc(exact):
    tokens = exact.authorize_and_exchange()
    token = tokens["access_token"]
    exact.state.options.daily_limit = 120
    exact.state.options.minutely_limit = 1000
    statuses = [exact.get("financial/Journals", token).status_code for _ in range(121)]
    assert statuses.count(200) == 120 and statuses[-1] == 429
    refused = exact.get("financial/Journals", token)
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert "X-RateLimit-Minutely-Limit" not in refused.headers  # only the spent window's set
    exact.state.advance_to_next(UTC_DAY)
    token = exact.refresh(tokens["refresh_token"]).json()["access_token"]  # a day later: a new token first
    again = exact.get("financial/Journals", token)
    assert again.status_code == 200 and again.headers["X-RateLimit-Remaining"] == "119"


def test_budgets_are_per_division_and_current_me_is_free(exact, token):
    exact.state.options.minutely_limit = 2
    exact.get("financial/Journals", token), exact.get("financial/Journals", token)
    assert exact.get("financial/Journals", token).status_code == 429
    assert exact.get("financial/Journals", token, division=BE).status_code == 200
    for _ in range(5):
        me = exact.http.get(f"{exact.url}/api/v1/current/Me", headers={"Authorization": f"Bearer {token}",
                                                                       "Accept": "application/json"})
        assert me.status_code == 200 and "X-RateLimit-Remaining" not in me.headers


def test_eleven_404s_on_one_endpoint_block_the_key_for_an_hour(exact):
    tokens = exact.authorize_and_exchange()
    token = tokens["access_token"]
    missing = "crm/Accounts(guid'00000000-0000-0000-0000-000000000001')"
    for _ in range(11):
        assert exact.get(missing, token).status_code == 404
    assert exact.state.counters()["blocks"] == 1
    blocked = exact.get("financial/Journals", token)  # the whole key, not just that endpoint [INFER]
    assert blocked.status_code == 429 and "blocked" in blocked.json()["error"]["message"]["value"]
    exact.state.advance(3601)
    token = exact.refresh(tokens["refresh_token"]).json()["access_token"]
    assert exact.get("financial/Journals", token).status_code == 200


def test_ten_errors_do_not_block_and_errors_count_per_endpoint(exact, token):
    for path in ("crm/Accounts(guid'00000000-0000-0000-0000-000000000001')",
                 "logistics/Items(guid'00000000-0000-0000-0000-000000000001')"):
        for _ in range(10):
            assert exact.get(path, token).status_code == 404
    assert exact.state.counters()["blocks"] == 0
    assert exact.get("financial/Journals", token).status_code == 200
    errors = exact.state.counters()["errors"]
    assert errors[f"{NL} crm/accounts"] == 10 and errors[f"{NL} logistics/items"] == 10


def test_a_blocked_key_may_get_403_with_a_reason(exact, token):
    exact.state.options.blocked_status = 403
    for _ in range(11):
        exact.get("crm/Accounts", token)  # the mandatory-filter 400
    blocked = exact.get("financial/Journals", token)
    assert blocked.status_code == 403 and blocked.headers["Reason"] == "ApiKeyBlocked"


def test_too_early_token_requests_count_toward_the_block(exact):
    exact.state.options.token_errors_counted = "too_early"
    tokens = exact.authorize_and_exchange()
    for _ in range(11):
        assert exact.refresh(tokens["refresh_token"]).headers["Reason"] == "TooEarlyToRefreshTokens"
    assert exact.state.counters()["blocks"] == 1
    assert exact.get("financial/Journals", tokens["access_token"]).status_code == 429
    exact.state.advance(3601)
    assert exact.refresh(tokens["refresh_token"]).status_code == 200
