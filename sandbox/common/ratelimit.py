"""Server-side request limits as the vendors document them (sliding window)."""
from __future__ import annotations

import math
import threading
import time
from collections import deque

__all__ = ["SlidingWindowLimiter"]


class SlidingWindowLimiter:
    """Allow at most ``limit`` requests in any ``window_s`` seconds.

    ``check()`` returns ``(allowed, retry_after_seconds)``. ``limit=0`` disables the limiter.
    """

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._hits: deque[float] = deque()
        self._lock = threading.Lock()
        self.rejected = 0

    def check(self) -> tuple[bool, int]:
        if self.limit <= 0:
            return True, 0
        now = time.monotonic()
        with self._lock:
            while self._hits and self._hits[0] <= now - self.window_s:
                self._hits.popleft()
            if len(self._hits) >= self.limit:
                self.rejected += 1
                wait = self._hits[0] + self.window_s - now
                return False, max(1, math.ceil(wait))
            self._hits.append(now)
            return True, 0

    def remaining(self) -> int:
        with self._lock:
            return max(0, self.limit - len(self._hits)) if self.limit > 0 else 1 << 30

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
            self.rejected = 0
