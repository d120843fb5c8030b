"""An error-rate block: too many failed calls in an hour and the caller is shut out for a while.

Exact Online: more than 10 calls answered 400/401/403/404 per API key × division × endpoint in an
hour block the key for an hour, longer when it happens again. What is counted (``count_key``) and
what gets blocked (``block_key``) are separate, so a simulator can count per endpoint and block the
whole key. Whether the hour is sliding or a clock hour is not documented: sliding is the default
(it never forgets an error early), a clock hour is an option.
"""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta

__all__ = ["ErrorRateBlocker"]


class ErrorRateBlocker:
    """Count errors per ``count_key``; past ``limit`` in ``window_s``, block ``block_key``.

    Args:
        now: The time source.
        limit: Errors allowed per window; the one after that blocks (``0`` disables blocking).
        window_s: The counting window.
        block_s: The first block's length; each further block of the same key lasts
            ``escalation`` times the previous one.
        clock_hour: Count in fixed windows aligned to the clock instead of a sliding one.
    """

    def __init__(self, now: Callable[[], datetime], *, limit: int = 10, window_s: int = 3600,
                 block_s: int = 3600, escalation: float = 2.0, clock_hour: bool = False) -> None:
        self._now = now
        self.limit = limit
        self.window_s = window_s
        self.block_s = block_s
        self.escalation = escalation
        self.clock_hour = clock_hour
        self._errors: dict[Hashable, deque[float]] = {}
        self._blocked: dict[Hashable, float] = {}
        self._block_count: dict[Hashable, int] = {}
        self.events: list[dict] = []  # one per block: key, count_key, since, until
        self._lock = threading.Lock()

    def _window_start(self, epoch: float) -> float:
        if self.clock_hour:
            return epoch // self.window_s * self.window_s
        return epoch - self.window_s

    def _live(self, count_key: Hashable, epoch: float) -> deque[float]:
        hits = self._errors.setdefault(count_key, deque())
        start = self._window_start(epoch)
        while hits and hits[0] < start:
            hits.popleft()
        return hits

    def record(self, count_key: Hashable, block_key: Hashable) -> bool:
        """Count one error; True when it set off a block."""
        epoch = self._now().timestamp()
        with self._lock:
            hits = self._live(count_key, epoch)
            hits.append(epoch)
            if self.limit <= 0 or len(hits) <= self.limit or self._blocked.get(block_key, 0) > epoch:
                return False
            n = self._block_count.get(block_key, 0)
            until = epoch + self.block_s * (self.escalation ** n)
            self._block_count[block_key] = n + 1
            self._blocked[block_key] = until
            hits.clear()  # the block is the consequence; counting starts again after it
            self.events.append({"key": block_key, "count_key": count_key, "since": epoch, "until": until})
            return True

    def blocked_until(self, block_key: Hashable) -> datetime | None:
        """When the block on ``block_key`` ends, or None when it is not blocked."""
        now = self._now()
        with self._lock:
            until = self._blocked.get(block_key)
        if until is None or until <= now.timestamp():
            return None
        return now + timedelta(seconds=until - now.timestamp())

    def count(self, count_key: Hashable) -> int:
        """Errors of ``count_key`` in the current window."""
        with self._lock:
            return len(self._live(count_key, self._now().timestamp()))

    def unblock(self) -> None:
        with self._lock:
            self._blocked.clear()

    def reset(self) -> None:
        with self._lock:
            self._errors.clear()
            self._blocked.clear()
            self._block_count.clear()
            self.events.clear()
