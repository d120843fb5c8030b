"""Client-side pacing: stay under a vendor's published rate instead of bouncing off 429s.

What the vendor counts is :mod:`~tribe_operators.http.budget`'s (its :class:`Window` objects,
and the count every process shares in Redis); this module spends it: the in-process
:class:`RateLimiter`, one limiter per API key (``shared_limiter``: in process, or the shared
budget when a store is configured), and the readers of the vendor's rate headers that correct
each window's count. ``Window`` and ``DAY_S`` are handed on from here, where callers import them.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from tribe_operators.exceptions import BudgetExhaustedError
from tribe_operators.http.budget import DAY_S, SharedBudget, Window

__all__ = ["DAY_S", "SMOOTH_BURST_S", "RateLimiter", "Window", "forget_shared_limiters", "rate_header_reader",
           "rate_windows_reader", "shared_limiter"]

log = logging.getLogger(__name__)
SMOOTH_BURST_S = 2.0  # a long window's budget is paced evenly; bursts of this many seconds' worth


class _Log:
    """Send times of one window, on the clock its kind needs (monotonic for a sliding window,
    wall time for one that resets on the clock)."""

    def __init__(self, window: Window, clock: Callable[[], float]) -> None:
        self.window = window
        self.clock = clock
        self.sent: deque[float] = deque()

    def used(self, now: float) -> int:
        start = self.window.start(now)
        while self.sent and self.sent[0] <= start:
            self.sent.popleft()
        return len(self.sent)

    def wait(self, now: float) -> float:
        used = self.used(now)
        if used < self.window.limit:
            return 0.0
        return max(self.window.room_at(now, self.sent[used - self.window.limit]) - now, 0.001)


class RateLimiter:
    """At most ``limit`` requests in every window (a log per window), paced at the first
    window's average rate with bursts of at most ``burst`` (a token bucket).

    The vendors count requests in a window as they *arrive*; requests leave us in order but may
    arrive a little bunched (network, GIL, server queues). Mirroring their window, stretched by
    a safety margin, absorbs that jitter; the logs are the hard limit.

    A log alone lets a fresh client spend a long window's whole budget at once (Tribe: 1,000
    requests in the first 30-50 s of a minute) and from then on frees slots in the pattern
    they were used a window earlier: every later window replays those bursts, and a client
    that pauses inside one (a batch boundary, a slow commit) cannot win the slots back before
    the window ends (bench/ratelimit.py, 2,500 records: 0.95 of Tribe's rate with 4 rows in
    flight, 0.93 with 8). The bucket spreads a long window's budget evenly instead: it refills
    at ``limit / window`` and holds ``burst`` requests, enough to make up a pause of
    ``SMOOTH_BURST_S`` seconds, yet small enough that the log rarely has to wait (0.97 with 4
    or 8 in flight). A window of up to ``SMOOTH_BURST_S`` seconds keeps a bucket the size of
    the limit, which never waits before the log does: PowerOffice's 10 per second is paced
    exactly as before.

    Args:
        rate: Requests the vendor allows per ``per`` seconds (one sliding window).
        per: The vendor's window in seconds.
        safety: Extra window length; default ``max(0.1, 2 % of per)``.
        burst: Requests that may go out back to back; default ``min(rate, rate × SMOOTH_BURST_S / per)``.
        windows: Several windows instead of ``rate``/``per``; the first that is not ``final``
            paces, ``final`` ones are budgets (``BudgetExhaustedError`` when spent).
        clock: Wall time in epoch seconds, for windows that reset on the clock (tests move it).
    """

    def __init__(self, rate: float | None = None, per: float = 1.0, *, safety: float | None = None,
                 burst: float | None = None, windows: Sequence[Window] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        if (rate is None) == (windows is None):
            raise ValueError("give either rate (and per) or windows")
        if windows is None:
            if rate is None or rate < 1 or per <= 0:
                raise ValueError("rate must be >= 1 and per positive")
            windows = [Window("window", int(rate), per, safety=safety)]
        if not windows or len({w.name for w in windows}) != len(windows):
            raise ValueError("windows need distinct names")
        self.clock = clock
        self._logs = {w.name: _Log(w, clock if w.fixed else time.monotonic) for w in windows}
        self._first = self._logs[windows[0].name]
        paced = next((w for w in windows if not w.final), None)
        first = paced or windows[0]
        self.limit = first.limit
        self.window = first.seconds + first.margin
        self._sent = self._logs[first.name].sent  # the pacing window's log
        self.burst = max(1.0, float(burst) if burst is not None else
                         min(self.limit, self.limit * SMOOTH_BURST_S / first.seconds))
        # Only budgets (no window to pace): a bucket that refills at once.
        self._refill_per_s = self.limit / self.window if paced is not None else 1e9
        self._tokens = self.burst
        self._refilled = time.monotonic()
        self._lock = threading.Lock()
        self._hold_until = 0.0
        self._spent: dict[str, float] = {}  # final window → wall time it comes back (the server said)
        self.waited_s = 0.0

    @property
    def spec(self) -> list[Window]:
        """The windows kept (``SharedBudget.spec`` alike)."""
        return [entry.window for entry in self._logs.values()]

    def acquire(self) -> None:
        """Block until the caller may send one request, then count it as sent; raise
        ``BudgetExhaustedError`` instead when a final window is spent."""
        while True:
            with self._lock:
                self._raise_if_spent()
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._refilled) * self._refill_per_s)
                self._refilled = now
                wait = self._hold_until - now
                if wait <= 0:
                    wait = (1.0 - 1e-9 - self._tokens) / self._refill_per_s  # 1e-9: float dust
                    for entry in self._logs.values():
                        full = entry.wait(entry.clock())
                        if full > 0 and entry.window.final:
                            raise BudgetExhaustedError(_utc(self.clock() + full), entry.window.name)
                        wait = max(wait, full)
                    if wait <= 0:
                        self._tokens -= 1.0
                        for entry in self._logs.values():
                            entry.sent.append(entry.clock())
                        return
            self.waited_s += wait
            time.sleep(max(wait, 0.001))

    def penalise(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (the server said: wait)."""
        with self._lock:
            self._hold_until = max(self._hold_until, time.monotonic() + seconds)

    def observe(self, remaining: int, reset_in_s: float, window: str | None = None) -> None:
        """What the server says is left of ``window`` (default: the first): when that is less than
        ours, the difference counts as sent (another process, another host, or requests of ours
        the server counted that we did not); none left holds everything until its reset, or
        marks a final window spent until then."""
        entry = self._first if window is None else self._logs.get(window)
        if entry is None:
            log.warning("the server reports a rate window %r this limiter does not keep (%s)", window,
                        ", ".join(self._logs))
            return
        with self._lock:
            now = entry.clock()
            if remaining <= 0:
                reset = entry.window.reset_in(now, reset_in_s)
                if entry.window.final:
                    wall = self.clock()
                    self._spent[entry.window.name] = max(self._spent.get(entry.window.name, 0.0), wall + reset)
                else:
                    self._hold_until = max(self._hold_until, time.monotonic() + reset)
                return
            ours = entry.window.limit - entry.used(now)
            for _ in range(max(0, min(ours - remaining, entry.window.limit))):
                entry.sent.append(now)
            self._tokens = min(self._tokens, float(remaining))

    def exhausted(self) -> BudgetExhaustedError | None:
        """The error to stop with when the server said a final window is spent, else None."""
        with self._lock:
            try:
                self._raise_if_spent()
            except BudgetExhaustedError as exc:
                return exc
            return None

    def _raise_if_spent(self) -> None:
        wall = self.clock()
        for name, until in self._spent.items():
            if until > wall:
                raise BudgetExhaustedError(_utc(until), name)

    @property
    def allowed_rate(self) -> float:
        """Requests per second this limiter lets through at most."""
        return self.limit / self.window


def _utc(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


_shared: dict[tuple[Any, ...], Any] = {}
_shared_lock = threading.Lock()


def shared_limiter(key: str, rate: float | None = None, per: float = 1.0, *, store: str | None = None,
                   windows: Sequence[Window] | None = None) -> Any:
    """One limiter per API key: with a ``store`` (a Redis URL, ``budget.store_url``) every
    process and host using that key shares one budget (``SharedBudget``); without, every hook
    of this process does (``RateLimiter``). ``windows`` instead of ``rate``/``per`` for a
    vendor that counts in several (a clock minute and a UTC day)."""
    spec = tuple(windows) if windows is not None else (Window("window", int(rate or 0), per),)
    with _shared_lock:
        limiter = _shared.get((key, spec, store))
        if limiter is None:
            if store:
                limiter = SharedBudget(store, key, list(spec))
            else:
                limiter = RateLimiter(windows=spec)
            _shared[(key, spec, store)] = limiter
        return limiter


def forget_shared_limiters() -> None:
    """Drop this process's limiters: what a new worker process starts with (a day later, its
    in-process day window is a new day). Redis-shared budgets keep their counts in Redis."""
    with _shared_lock:
        _shared.clear()


_RESETS = {"epoch_ms", "epoch_s", "seconds"}


def _read(response: Any, remaining: str, reset: str, reset_is: str, clock: Callable[[], float]) -> tuple[int, float] | None:
    left, at = response.headers.get(remaining), response.headers.get(reset)
    try:
        left_n, at_f = int(left), float(at)
    except (TypeError, ValueError):
        return None  # absent or garbled: no correction
    if reset_is == "seconds":
        return left_n, at_f
    return left_n, (at_f / 1000.0 if reset_is == "epoch_ms" else at_f) - clock()


def rate_header_reader(remaining: str, reset: str, *, reset_is: str = "epoch_ms",
                       clock: Any = time.time) -> Any:
    """A ``rate_headers`` reader for ``ApiClient``: ``(remaining, seconds to reset)`` of one
    window from two headers (matched case-insensitively, as ``requests`` does). ``reset_is``:
    ``epoch_ms``, ``epoch_s`` or ``seconds`` (a delay)."""
    if reset_is not in _RESETS:
        raise ValueError(f"reset_is must be epoch_ms, epoch_s or seconds, not {reset_is!r}")
    return lambda response: _read(response, remaining, reset, reset_is, clock)


def rate_windows_reader(sets: Mapping[str, tuple[str, str]], *, reset_is: str = "epoch_ms",
                        clock: Any = time.time) -> Any:
    """A ``rate_headers`` reader for a vendor with several windows: ``{window: (remaining,
    seconds to reset)}`` for each set of headers the response carries (a vendor may send only
    the exceeded window's set with a 429), or None when it carries none.

    Args:
        sets: Window name → (remaining header, reset header), e.g. ``{"minute":
            ("X-RateLimit-Minutely-Remaining", "X-RateLimit-Minutely-Reset"), "day":
            ("X-RateLimit-Remaining", "X-RateLimit-Reset")}``.
    """
    if reset_is not in _RESETS:
        raise ValueError(f"reset_is must be epoch_ms, epoch_s or seconds, not {reset_is!r}")

    def read(response: Any) -> dict[str, tuple[int, float]] | None:
        found = {name: state for name, (remaining, reset) in sets.items()
                 if (state := _read(response, remaining, reset, reset_is, clock)) is not None}
        return found or None

    return read
