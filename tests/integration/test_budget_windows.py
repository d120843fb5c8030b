"""Several windows and the error guard shared through Redis: two clients of one vendor key (as
two Celery workers hold them, each its own ``SharedBudget`` and ``ErrorGuard``) against a real
local server. The day one worker spends stops the other before it sends; the server's count of
the day corrects the day alone; a minute's 429 holds both; refusals count for both."""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from tenacity import wait_none

from sandbox.common import ServerThread
from tribe_operators.exceptions import ApiClientError, BudgetExhaustedError, ErrorBudgetHeldError, RateLimitedError
from tribe_operators.http.auth import KeyAuth
from tribe_operators.http.budget import SharedBudget
from tribe_operators.http.client import ApiClient
from tribe_operators.http.guard import ErrorGuard
from tribe_operators.http.pacing import DAY_S, Window, rate_windows_reader
from tribe_operators.http.retry import build_retrying

KEY = "vendor:app:division"
MINUTE = ("X-RateLimit-Minutely-Remaining", "X-RateLimit-Minutely-Reset")
DAY = ("X-RateLimit-Remaining", "X-RateLimit-Reset")
SEEN: Counter[str] = Counter()






def _midnight_ms() -> int:
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    return int(datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=UTC).timestamp() * 1000)


def _app() -> FastAPI:
    """``/{answer}``: ``ok`` 200 with both header sets, ``day`` a daily 429 (its set only),
    ``minute`` a minutely 429 (its set only, resets in 1 s), ``left3`` a 200 saying 3 calls of
    the day are left, ``refuse`` a 400."""
    app = FastAPI()

    @app.get("/api/{answer}")
    async def answer(answer: str) -> JSONResponse:
        SEEN[answer] += 1
        minute = {MINUTE[0]: "50", MINUTE[1]: str(int((time.time() + 1.0) * 1000))}
        day = {DAY[0]: "4000", DAY[1]: str(_midnight_ms())}
        if answer == "day":
            return JSONResponse({"error": "daily"}, 429, headers={**day, DAY[0]: "0"})
        if answer == "minute":
            return JSONResponse({"error": "minutely"}, 429, headers={**minute, MINUTE[0]: "0"})
        if answer == "refuse":
            return JSONResponse({"error": "bad VAT code"}, 400)
        return JSONResponse({"d": []}, headers={**minute, **day, **({DAY[0]: "3"} if answer == "left3" else {})})

    return app


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    with ServerThread(_app()) as srv:
        yield srv


def _workers(server: Any, store: str, *, day: int = 5000, attempts: int = 3,
             guard_clock: Any = None) -> list[ApiClient]:
    """Two clients of one key, each with its own connections to the shared store."""
    SEEN.clear()
    windows = [Window("minute", 60, 60.0, fixed=True), Window("day", day, DAY_S, fixed=True, final=True)]
    reader = rate_windows_reader({"minute": MINUTE, "day": DAY})
    return [ApiClient(f"{server.url}/api", KeyAuth("k"), limiter=SharedBudget(store, KEY, windows),
                      rate_headers=reader, retrying=lambda: build_retrying(wait=wait_none(), max_attempts=attempts),
                      guard=ErrorGuard(KEY, store=store, clock=guard_clock or time.time))
            for _ in range(2)]


def test_a_day_one_worker_spent_stops_the_other_before_it_sends(server, redis_store):
    one, two = _workers(server, redis_store)
    with pytest.raises(BudgetExhaustedError) as caught:
        one.request("GET", "day")
    assert "resumes after 00:00 UTC" in str(caught.value)
    with pytest.raises(BudgetExhaustedError) as other:
        two.request("GET", "ok")
    assert SEEN == Counter({"day": 1})  # neither a retry nor the other worker's call reached the server
    assert abs(other.value.reset_at - datetime.fromtimestamp(_midnight_ms() / 1000, UTC)) < timedelta(seconds=1)


def test_the_servers_count_of_the_day_corrects_the_day_alone(server, redis_store):
    one, two = _workers(server, redis_store, day=1000)
    one.request("GET", "left3")  # 3 calls of the day left: 996 were spent elsewhere
    started = time.monotonic()
    for _ in range(3):
        two.request("GET", "ok")
    assert time.monotonic() - started < 1.0  # the minute's log did not take the day's 996
    with pytest.raises(BudgetExhaustedError, match="day window"):
        one.request("GET", "ok")
    assert SEEN == Counter({"left3": 1, "ok": 3})


def test_a_minutely_429_holds_every_worker_until_the_minutes_reset(server, redis_store):
    one, two = _workers(server, redis_store, attempts=1)
    with pytest.raises(RateLimitedError):
        one.request("GET", "minute")
    started = time.monotonic()
    two.request("GET", "ok")
    assert time.monotonic() - started >= 0.8  # held until the minute's reset header (1 s)
    assert one.limiter.exhausted() is None  # a minute's 429 is a wait, not a stop


def test_a_fixed_day_in_redis_resets_at_00_00_utc(redis_store):
    class Clock:
        now = datetime(2024, 3, 1, 23, 59, 30, tzinfo=UTC).timestamp()

        def __call__(self) -> float:
            return self.now

    clock = Clock()
    windows = [Window("minute", 60, 60.0, fixed=True), Window("day", 3, DAY_S, fixed=True, final=True)]
    one, two = (SharedBudget(redis_store, KEY, windows, clock=clock) for _ in range(2))
    one.acquire()
    two.acquire()
    one.acquire()
    with pytest.raises(BudgetExhaustedError) as caught:
        two.acquire()
    assert caught.value.reset_at == datetime(2024, 3, 2, 0, 0, 2, tzinfo=UTC)  # 00:00 UTC and its 2 s margin
    clock.now += 3 * 60  # 00:02:30 UTC: a new day for both (a sliding day would wait until 23:59:30)
    one.acquire()
    two.acquire()


def test_refusals_count_for_every_worker_and_the_hold_lifts_after_the_hour(server, redis_store):
    class Clock:
        now = datetime(2024, 3, 1, 9, 0, tzinfo=UTC).timestamp()

        def __call__(self) -> float:
            return self.now

    clock = Clock()
    one, two = _workers(server, redis_store, guard_clock=clock)
    for client in (one, one, one, one, two, two):
        with pytest.raises(ApiClientError):
            client.request("GET", "refuse")
    for client in (one, two):
        with pytest.raises(ErrorBudgetHeldError):
            client.request("GET", "refuse")
    assert SEEN["refuse"] == 6
    assert one.request("GET", "ok").status_code == 200  # another endpoint: its own count
    clock.now += 3600 + 1
    with pytest.raises(ApiClientError):
        two.request("GET", "refuse")
    assert SEEN["refuse"] == 7
    import redis

    keys = redis.Redis.from_url(redis_store).keys("tribe_sync:errors:*")
    assert keys and all(redis.Redis.from_url(redis_store).pttl(k) > 0 for k in keys)  # they expire
