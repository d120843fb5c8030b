"""Fixed-window request budgets on a controllable clock (a clock minute, a UTC day, ...).

Exact Online counts calls in windows that start on a whole clock minute and at 00:00 UTC, not in
sliding windows (``ratelimit.SlidingWindowLimiter`` is the other model). A window of ``period_s``
seconds starts at ``floor(epoch / period_s) * period_s``, so 60 is a clock minute and 86,400 a UTC
day. Several windows form one budget: a call is admitted only when every window has room, and a
refused call consumes nothing.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime

__all__ = ["BudgetDecision", "FixedWindow", "FixedWindowBudget", "WindowState"]

MINUTE = 60
UTC_DAY = 86_400


@dataclass
class FixedWindow:
    """One window: ``limit`` calls per ``period_s`` (``limit <= 0`` means unlimited)."""

    name: str
    limit: int
    period_s: int


@dataclass(frozen=True)
class WindowState:
    limit: int
    remaining: int
    reset_ms: int  # epoch milliseconds at which the window ends

    @property
    def reset_s(self) -> float:
        return self.reset_ms / 1000


@dataclass(frozen=True)
class BudgetDecision:
    allowed: bool
    exceeded: str | None  # the name of the window that refused the call
    windows: dict[str, WindowState]


class FixedWindowBudget:
    """Per-key fixed windows: ``budget.take(("app", 100001))``.

    Args:
        windows: The windows, checked in order; when several are spent the *last* spent one is
            reported (list the longest last: a spent day outranks a spent minute).
        now: The time source (a simulator's controllable clock).
    """

    def __init__(self, windows: list[FixedWindow], now: Callable[[], datetime]) -> None:
        self.windows = {w.name: w for w in windows}
        self._now = now
        self._used: dict[tuple[Hashable, str], tuple[int, int]] = {}  # (key, window) -> (start, count)
        self._lock = threading.Lock()

    def set_limit(self, name: str, limit: int) -> None:
        with self._lock:
            self.windows[name].limit = limit

    def _start(self, window: FixedWindow, epoch: float) -> int:
        return int(epoch // window.period_s) * window.period_s

    def _count(self, key: Hashable, window: FixedWindow, start: int) -> int:
        began, count = self._used.get((key, window.name), (start, 0))
        return count if began == start else 0

    def _states(self, key: Hashable, epoch: float) -> dict[str, WindowState]:
        out = {}
        for w in self.windows.values():
            start = self._start(w, epoch)
            used = self._count(key, w, start)
            out[w.name] = WindowState(w.limit, max(0, w.limit - used), (start + w.period_s) * 1000)
        return out

    def take(self, key: Hashable) -> BudgetDecision:
        """Admit one call for ``key`` (consuming one unit of every window) or refuse it."""
        epoch = self._now().timestamp()
        with self._lock:
            exceeded = None
            for w in self.windows.values():
                if w.limit > 0 and self._count(key, w, self._start(w, epoch)) >= w.limit:
                    exceeded = w.name
            if exceeded is None:
                for w in self.windows.values():
                    start = self._start(w, epoch)
                    self._used[(key, w.name)] = (start, self._count(key, w, start) + 1)
            return BudgetDecision(exceeded is None, exceeded, self._states(key, epoch))

    def peek(self, key: Hashable) -> dict[str, WindowState]:
        """The windows of ``key`` now, without taking anything."""
        with self._lock:
            return self._states(key, self._now().timestamp())

    def used(self, key: Hashable, name: str) -> int:
        """Calls counted in the current ``name`` window of ``key``."""
        epoch = self._now().timestamp()
        with self._lock:
            w = self.windows[name]
            return self._count(key, w, self._start(w, epoch))

    def reset(self) -> None:
        with self._lock:
            self._used.clear()
