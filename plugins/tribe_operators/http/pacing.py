"""Client-side pacing: stay under a vendor's published rate instead of bouncing off 429s."""
from __future__ import annotations

import threading
import time

__all__ = ["RateLimiter", "shared_limiter"]


class RateLimiter:
    """Spread requests evenly: at most ``rate`` per ``per`` seconds, at a safety margin.

    Evenly spaced slots (a leaky bucket) keep every sliding window the server checks
    below its limit, also when several threads share one limiter.

    Args:
        rate: Requests allowed per ``per`` seconds by the vendor.
        per: Window length in seconds.
        margin: Fraction of the allowed rate we aim for (0.95 leaves room for jitter).
    """

    def __init__(self, rate: float, per: float = 1.0, *, margin: float = 0.95) -> None:
        if rate <= 0 or per <= 0:
            raise ValueError("rate and per must be positive")
        self.interval = per / (rate * margin)
        self._next = 0.0
        self._lock = threading.Lock()
        self.waited_s = 0.0

    def acquire(self) -> None:
        """Block until the caller may send one request."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        delay = slot - now
        if delay > 0:
            self.waited_s += delay
            time.sleep(delay)

    def penalise(self, seconds: float) -> None:
        """Push every later slot back (the server said: wait)."""
        with self._lock:
            self._next = max(self._next, time.monotonic() + seconds)


_shared: dict[tuple[str, float, float], RateLimiter] = {}
_shared_lock = threading.Lock()


def shared_limiter(key: str, rate: float, per: float = 1.0) -> RateLimiter:
    """One limiter per API key per process: every hook using that key shares the budget."""
    with _shared_lock:
        limiter = _shared.get((key, rate, per))
        if limiter is None:
            limiter = _shared[(key, rate, per)] = RateLimiter(rate, per)
        return limiter
