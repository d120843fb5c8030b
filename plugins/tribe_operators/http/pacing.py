"""Client-side pacing: stay under a vendor's published rate instead of bouncing off 429s."""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

__all__ = ["SMOOTH_BURST_S", "RateLimiter", "rate_header_reader", "shared_limiter"]

SMOOTH_BURST_S = 2.0  # a long window's budget is paced evenly; bursts of this many seconds' worth


class RateLimiter:
    """At most ``rate`` requests in any ``per + safety`` seconds (a sliding-window log), paced
    at that average rate with bursts of at most ``burst`` (a token bucket).

    The vendors count requests in a sliding window as they *arrive*; requests leave us in
    order but may arrive a little bunched (network, GIL, server queues). Mirroring their
    window, stretched by ``safety`` seconds, absorbs that jitter; the log is the hard limit.

    A log alone lets a fresh client spend a long window's whole budget at once (Tribe: 1,000
    requests in the first 30-50 s of a minute) and from then on frees slots in the pattern
    they were used a window earlier: every later window replays those bursts, and a client
    that pauses inside one (a batch boundary, a slow commit) cannot win the slots back before
    the window ends (bench/ratelimit.py, 2,500 records: 0.95 of Tribe's rate with 4 rows in
    flight, 0.93 with 8). The bucket spreads a long window's budget evenly instead: it refills
    at ``rate / (per + safety)`` and holds ``burst`` requests, enough to make up a pause of
    ``SMOOTH_BURST_S`` seconds, yet small enough that the log rarely has to wait (0.97 with 4
    or 8 in flight). A window of up to ``SMOOTH_BURST_S`` seconds keeps a bucket the size of
    the limit, which never waits before the log does: PowerOffice's 10 per second is paced
    exactly as before.

    Args:
        rate: Requests the vendor allows per ``per`` seconds.
        per: The vendor's window in seconds.
        safety: Extra window length; default ``max(0.1, 2 % of per)``.
        burst: Requests that may go out back to back; default ``min(rate, rate × SMOOTH_BURST_S / per)``.
    """

    def __init__(self, rate: float, per: float = 1.0, *, safety: float | None = None,
                 burst: float | None = None) -> None:
        if rate < 1 or per <= 0:
            raise ValueError("rate must be >= 1 and per positive")
        self.limit = int(rate)
        self.window = per + (safety if safety is not None else max(0.1, 0.02 * per))
        self.burst = max(1.0, float(burst) if burst is not None else min(self.limit, self.limit * SMOOTH_BURST_S / per))
        self._refill_per_s = self.limit / self.window
        self._tokens = self.burst
        self._refilled = time.monotonic()
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()
        self._hold_until = 0.0
        self.waited_s = 0.0

    def acquire(self) -> None:
        """Block until the caller may send one request, then count it as sent."""
        while True:
            with self._lock:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._refilled) * self._refill_per_s)
                self._refilled = now
                while self._sent and self._sent[0] <= now - self.window:
                    self._sent.popleft()
                wait = self._hold_until - now
                if wait <= 0:
                    full = self._sent[0] + self.window - now if len(self._sent) >= self.limit else 0.0
                    wait = max(full, (1.0 - 1e-9 - self._tokens) / self._refill_per_s)  # 1e-9: float dust
                    if wait <= 0:
                        self._tokens -= 1.0
                        self._sent.append(now)
                        return
            self.waited_s += wait
            time.sleep(max(wait, 0.001))

    def penalise(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (the server said: wait)."""
        with self._lock:
            self._hold_until = max(self._hold_until, time.monotonic() + seconds)

    def observe(self, remaining: int, reset_in_s: float) -> None:
        """What the server says is left of its window: when that is less than ours, the
        difference counts as sent (another process, another host, or requests of ours the
        server counted that we did not); none left holds everything until its reset."""
        with self._lock:
            if remaining <= 0:
                self._hold_until = max(self._hold_until, time.monotonic() + max(reset_in_s, 0.0))
                return
            now = time.monotonic()
            while self._sent and self._sent[0] <= now - self.window:
                self._sent.popleft()
            ours = self.limit - len(self._sent)
            for _ in range(max(0, min(ours - remaining, self.limit))):
                self._sent.append(now)
            self._tokens = min(self._tokens, float(remaining))

    @property
    def allowed_rate(self) -> float:
        """Requests per second this limiter lets through at most."""
        return self.limit / self.window


_shared: dict[tuple[Any, ...], Any] = {}
_shared_lock = threading.Lock()


def shared_limiter(key: str, rate: float, per: float = 1.0, *, store: str | None = None) -> Any:
    """One limiter per API key: with a ``store`` (a Redis URL, ``http.budget.store_url``) every
    process and host using that key shares one budget (``SharedBudget``); without, every hook
    of this process does (``RateLimiter``)."""
    with _shared_lock:
        limiter = _shared.get((key, rate, per, store))
        if limiter is None:
            if store:
                from tribe_operators.http.budget import SharedBudget

                limiter = SharedBudget(store, key, [(rate, per)])
            else:
                limiter = RateLimiter(rate, per)
            _shared[(key, rate, per, store)] = limiter
        return limiter


def rate_header_reader(remaining: str, reset: str, *, reset_is: str = "epoch_ms",
                       clock: Any = time.time) -> Any:
    """A ``rate_headers`` reader for ``ApiClient``: ``(remaining, seconds to reset)`` from two
    headers (matched case-insensitively, as ``requests`` does). ``reset_is``: ``epoch_ms``
    (Exact Online's ``X-RateLimit-Minutely-Reset``), ``epoch_s`` or ``seconds`` (a delay)."""
    if reset_is not in {"epoch_ms", "epoch_s", "seconds"}:
        raise ValueError(f"reset_is must be epoch_ms, epoch_s or seconds, not {reset_is!r}")

    def read(response: Any) -> tuple[int, float] | None:
        left, at = response.headers.get(remaining), response.headers.get(reset)
        try:
            left_n, at_f = int(left), float(at)
        except (TypeError, ValueError):
            return None  # absent or garbled: no correction
        if reset_is == "seconds":
            return left_n, at_f
        return left_n, (at_f / 1000.0 if reset_is == "epoch_ms" else at_f) - clock()

    return read
