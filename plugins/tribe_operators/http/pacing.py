"""Client-side pacing: stay under a vendor's published rate instead of bouncing off 429s."""
from __future__ import annotations

import threading
import time
from collections import deque

__all__ = ["RateLimiter", "shared_limiter"]


class RateLimiter:
    """At most ``rate`` requests in any ``per + safety`` seconds (a sliding-window log).

    The vendors count requests in a sliding window as they *arrive*; requests leave us in
    order but may arrive a little bunched (network, GIL, server queues). Mirroring their
    window, stretched by ``safety`` seconds, absorbs that jitter while bursts within the
    budget still go out at once — better throughput than even spacing at the same safety.

    Args:
        rate: Requests the vendor allows per ``per`` seconds.
        per: The vendor's window in seconds.
        safety: Extra window length; default ``max(0.1, 2 % of per)``.
    """

    def __init__(self, rate: float, per: float = 1.0, *, safety: float | None = None) -> None:
        if rate < 1 or per <= 0:
            raise ValueError("rate must be >= 1 and per positive")
        self.limit = int(rate)
        self.window = per + (safety if safety is not None else max(0.1, 0.02 * per))
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()
        self._hold_until = 0.0
        self.waited_s = 0.0

    def acquire(self) -> None:
        """Block until the caller may send one request, then count it as sent."""
        while True:
            with self._lock:
                now = time.monotonic()
                while self._sent and self._sent[0] <= now - self.window:
                    self._sent.popleft()
                wait = self._hold_until - now
                if wait <= 0 and len(self._sent) < self.limit:
                    self._sent.append(now)
                    return
                if wait <= 0:
                    wait = self._sent[0] + self.window - now
            self.waited_s += wait
            time.sleep(max(wait, 0.001))

    def penalise(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (the server said: wait)."""
        with self._lock:
            self._hold_until = max(self._hold_until, time.monotonic() + seconds)

    @property
    def allowed_rate(self) -> float:
        """Requests per second this limiter lets through at most."""
        return self.limit / self.window


_shared: dict[tuple[str, float, float], RateLimiter] = {}
_shared_lock = threading.Lock()


def shared_limiter(key: str, rate: float, per: float = 1.0) -> RateLimiter:
    """One limiter per API key per process: every hook using that key shares the budget."""
    with _shared_lock:
        limiter = _shared.get((key, rate, per))
        if limiter is None:
            limiter = _shared[(key, rate, per)] = RateLimiter(rate, per)
        return limiter
