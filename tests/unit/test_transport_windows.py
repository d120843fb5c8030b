"""Several rate windows per budget, in-process, against a real local server: each window is
corrected from its own headers; a 429 that carries only the minute's set waits for the minute,
one that carries only the day's set stops the task (``BudgetExhaustedError``), unretried."""
from __future__ import annotations

import pickle
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from tenacity import wait_none

from sandbox.common import ServerThread
from tribe_operators.exceptions import BudgetExhaustedError, ErrorBudgetHeldError, RateLimitedError
from tribe_operators.http.auth import KeyAuth
from tribe_operators.http.client import ApiClient
from tribe_operators.http.pacing import DAY_S, RateLimiter, Window, rate_windows_reader
from tribe_operators.http.retry import build_retrying

SEEN: Counter[str] = Counter()
MINUTE = ("X-RateLimit-Minutely-Remaining", "X-RateLimit-Minutely-Reset")
DAY = ("X-RateLimit-Remaining", "X-RateLimit-Reset")
READER = rate_windows_reader({"minute": MINUTE, "day": DAY})


def _midnight_ms() -> int:
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    return int(datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=UTC).timestamp() * 1000)


def _app() -> FastAPI:
    """``/r/{script}``: the n-th request answers as the script's n-th letter says (the last one
    repeats): ``o`` 200 with both sets, ``m`` a minutely 429 (its set only, resets in 1 s),
    ``d`` a daily 429 (its set only, resets at 00:00 UTC), ``z`` a 200 saying the day is spent,
    ``3`` a 200 saying 3 calls of the day are left, ``b`` a minutely 429 with both sets."""
    app = FastAPI()

    @app.get("/r/{script}")
    async def scripted(script: str, request: Request) -> JSONResponse:
        SEEN[script] += 1
        step = script[min(SEEN[script], len(script)) - 1]
        minute = {MINUTE[0]: "50", MINUTE[1]: str(int((time.time() + 1.0) * 1000))}
        day = {DAY[0]: "4000", DAY[1]: str(_midnight_ms())}
        if step == "m":
            return JSONResponse({"error": "minutely limit"}, 429, headers={**minute, MINUTE[0]: "0"})
        if step == "b":  # both sets, as some vendors send: the one at 0 is the one exceeded
            return JSONResponse({"error": "minutely limit"}, 429, headers={**minute, MINUTE[0]: "0", **day})
        if step == "d":
            return JSONResponse({"error": "daily limit"}, 429, headers={**day, DAY[0]: "0"})
        if step in "z3":
            return JSONResponse({"d": []}, headers={**minute, **day, DAY[0]: "0" if step == "z" else "3"})
        return JSONResponse({"d": []}, headers={**minute, **day})

    return app


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    with ServerThread(_app()) as srv:
        yield srv


def _windows(day: int = 5000) -> list[Window]:
    return [Window("minute", 60, 60.0, fixed=True), Window("day", day, DAY_S, fixed=True, final=True)]


def _client(server: Any, limiter: RateLimiter | None = None) -> ApiClient:
    return ApiClient(server.url, KeyAuth("k"), limiter=limiter or RateLimiter(windows=_windows()), rate_headers=READER,
                     retrying=lambda: build_retrying(wait=wait_none(), max_attempts=6))


def test_a_minutely_429_waits_for_the_minutes_reset_and_leaves_the_day_alone(server):
    client = _client(server)
    started = time.monotonic()
    assert client.request("GET", "/r/mo").status_code == 200
    # No Retry-After and no tenacity wait here: the limiter held the request until the
    # minute's reset header said (1 s), then it went through.
    assert time.monotonic() - started >= 0.8
    assert SEEN["mo"] == 2
    assert client.limiter.exhausted() is None
    assert client.request("GET", "/r/mo").status_code == 200


def test_a_429_with_both_sets_exceeded_the_window_at_zero_only(server):
    client = _client(server)
    started = time.monotonic()
    assert client.request("GET", "/r/bo").status_code == 200
    assert time.monotonic() - started >= 0.8
    assert client.limiter.exhausted() is None  # the day said 4,000 left: not spent


def test_a_daily_429_stops_at_once_until_00_00_utc(server):
    client = _client(server)
    with pytest.raises(BudgetExhaustedError) as caught:
        client.request("GET", "/r/d")
    assert SEEN["d"] == 1  # not retried: a retry storm only spends calls the vendor refuses
    assert abs(caught.value.reset_at - datetime.fromtimestamp(_midnight_ms() / 1000, UTC)) < timedelta(seconds=1)
    assert "resumes after 00:00 UTC" in str(caught.value)
    with pytest.raises(BudgetExhaustedError):
        client.request("GET", "/r/o")  # any endpoint of the key: refused before it is sent
    assert SEEN["o"] == 0


def test_a_200_saying_the_day_is_spent_is_kept_and_the_next_call_stops(server):
    client = _client(server)
    assert client.request("GET", "/r/zo").status_code == 200  # the answer is good: the call happened
    with pytest.raises(BudgetExhaustedError):
        client.request("GET", "/r/zo")
    assert SEEN["zo"] == 1


def test_the_days_remaining_corrects_the_day_not_the_minute(server):
    limiter = RateLimiter(windows=_windows(day=1000), burst=10)  # no pacing in the way
    client = _client(server, limiter)
    client.request("GET", "/r/3o")  # the server: 3 calls of the day left (others spent the rest)
    started = time.monotonic()
    for _ in range(3):
        client.request("GET", "/r/o")
    assert time.monotonic() - started < 0.5  # the minute was not filled by the day's correction
    with pytest.raises(BudgetExhaustedError, match="day window"):
        client.request("GET", "/r/o")
    assert SEEN["o"] == 3


def test_the_reader_returns_whichever_sets_are_present():
    import requests

    now = 1_700_000_000.0
    reader = rate_windows_reader({"minute": MINUTE, "day": DAY}, clock=lambda: now)
    response = requests.Response()
    assert reader(response) is None
    response.headers.update({MINUTE[0]: "0", MINUTE[1]: str(int((now + 20) * 1000))})
    assert reader(response) == {"minute": (0, 20.0)}
    response.headers.update({DAY[0]: "12", DAY[1]: "soon"})  # garbled: ignored, the other still read
    assert reader(response) == {"minute": (0, 20.0)}


class Clock:
    def __init__(self, at: datetime) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now


def test_a_fixed_day_resets_at_00_00_utc_not_a_day_after_its_first_call():
    clock = Clock(datetime(2024, 3, 1, 23, 50, tzinfo=UTC))
    limiter = RateLimiter(windows=[Window("day", 3, DAY_S, fixed=True, final=True)], clock=clock)
    for _ in range(3):
        limiter.acquire()
    with pytest.raises(BudgetExhaustedError) as caught:
        limiter.acquire()
    assert caught.value.reset_at == datetime(2024, 3, 2, 0, 0, 2, tzinfo=UTC)  # its 2 s margin
    clock.now += 13 * 60  # 00:03 UTC: a new day (a sliding day would wait until 23:50)
    limiter.acquire()


def test_a_fixed_window_starts_a_margin_late_and_reaches_a_margin_back():
    """A clock off by less than the margin either way never lets the server see more than the
    limit in one of its minutes."""
    clock = Clock(datetime(2024, 3, 1, 12, 0, 30, tzinfo=UTC))
    window = Window("minute", 2, 60.0, fixed=True, final=True)  # final: it raises instead of sleeping
    limiter = RateLimiter(windows=[window], clock=clock)
    limiter.acquire()
    clock.now += 29.5  # 12:00:59.5
    limiter.acquire()
    clock.now += 1.0  # 12:01:00.5: a new minute by our clock, perhaps not yet by the server's
    with pytest.raises(BudgetExhaustedError):
        limiter.acquire()
    clock.now += 1.0  # 12:01:01.5, past the margin (1.2 s): the new minute…
    limiter.acquire()
    with pytest.raises(BudgetExhaustedError):  # …still counts the call of 12:00:59.5 (by the server's
        limiter.acquire()  # clock, if it runs behind ours, it fell in this minute)


@pytest.mark.parametrize("error", [BudgetExhaustedError(datetime(2024, 3, 2, tzinfo=UTC)),
                                   ErrorBudgetHeldError("crm/Accounts", datetime(2024, 3, 2, tzinfo=UTC), 6)])
def test_a_spent_budget_or_a_held_endpoint_is_never_retried(error):
    calls = []

    def fail() -> None:
        calls.append(1)
        raise error

    with pytest.raises(type(error)):
        for attempt in build_retrying(wait=wait_none(), max_attempts=6):
            with attempt:
                fail()
    assert len(calls) == 1
    again = pickle.loads(pickle.dumps(error))  # crosses process boundaries intact
    assert type(again) is type(error) and str(again) == str(error)


def test_a_429_of_a_window_the_limiter_does_not_keep_is_still_retried(server):
    limiter = RateLimiter(windows=[Window("second", 10, 1.0)])  # no "minute" window
    client = ApiClient(server.url, KeyAuth("k"), limiter=limiter, rate_headers=READER,
                       retrying=lambda: build_retrying(wait=wait_none(), max_attempts=2))
    with pytest.raises(RateLimitedError) as caught:
        client.request("GET", "/r/m")
    assert 0 < caught.value.retry_after <= 1.0  # the minute's reset header, not a blind back-off
