"""Retry policy and client-side pacing, measured on the real objects."""
from __future__ import annotations

import time

import pytest
from tenacity import wait_none

from tribe_operators.exceptions import AmbiguousWriteError, ApiClientError, RateLimitedError, ServerError
from tribe_operators.http.pacing import RateLimiter
from tribe_operators.http.retry import WaitRetryAfter, build_retrying


def run(fn, **kw):
    for attempt in build_retrying(wait=wait_none(), **kw):
        with attempt:
            return fn()


def test_retryable_errors_are_retried_until_success():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ServerError("boom")
        return "ok"

    assert run(flaky, max_attempts=5) == "ok"
    assert len(calls) == 3


def test_fatal_and_ambiguous_errors_are_not_retried():
    for error in (ApiClientError(400, "bad"), AmbiguousWriteError("maybe")):
        calls = []

        def fail(error=error, calls=calls):
            calls.append(1)
            raise error

        with pytest.raises(type(error)):
            run(fail, max_attempts=5)
        assert len(calls) == 1


def test_last_error_is_reraised_typed_after_max_attempts():
    with pytest.raises(RateLimitedError):
        run(lambda: (_ for _ in ()).throw(RateLimitedError("429", retry_after=0)), max_attempts=2)


def test_wait_honours_retry_after_and_clamps_it():
    class State:
        def __init__(self, exc):
            self.outcome = type("O", (), {"exception": lambda s: exc})()
            self.attempt_number = 1

    wait = WaitRetryAfter(fallback=lambda rs: 0.25, max_wait=5)
    assert wait(State(RateLimitedError("x", retry_after=3))) == 3
    assert wait(State(RateLimitedError("x", retry_after=500))) == 5
    assert wait(State(ServerError("x"))) == 0.25


def test_rate_limiter_never_allows_more_than_the_limit_in_any_window():
    limiter = RateLimiter(5, 0.2, safety=0.05)  # 5 per 250 ms
    sent = []
    start = time.monotonic()
    for _ in range(16):
        limiter.acquire()
        sent.append(time.monotonic())
    for i in range(len(sent) - 5):
        assert sent[i + 5] - sent[i] >= 0.25 - 0.002  # the 6th is a full window after the 1st
    assert time.monotonic() - start < 1.2  # …but no slower than needed (3 full windows)


def test_penalty_holds_every_request():
    limiter = RateLimiter(100, 1.0)
    limiter.penalise(0.2)
    start = time.monotonic()
    limiter.acquire()
    assert time.monotonic() - start >= 0.19


def test_a_long_window_is_paced_evenly_after_a_short_burst():
    limiter = RateLimiter(100, 10.0, safety=0.0)  # 100 per 10 s: 10/s, bursts of 2 s' worth (20)
    assert limiter.burst == 20
    start = time.monotonic()
    for _ in range(20):
        limiter.acquire()
    assert time.monotonic() - start < 0.05  # the burst goes out at once…
    for _ in range(5):
        limiter.acquire()
    assert time.monotonic() - start >= 0.49  # …then one per 100 ms, not the rest of the 100 at once


def test_a_short_window_keeps_a_bucket_the_size_of_its_limit():
    assert RateLimiter(10, 1.0).burst == 10  # PowerOffice: paced by its log alone, as before
