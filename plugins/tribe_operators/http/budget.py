"""A vendor's rate budget: the windows it counts requests in, and their count shared by every
process and host that talks to the same account.

A vendor may count in several windows at once (Exact Online: 60 calls per clock minute *and*
5,000 per UTC day); each is a :class:`Window`, counted on its own and corrected from its own
rate headers. A ``final`` window is a budget, not a pace: when it is spent the task stops
(``BudgetExhaustedError``) instead of sleeping until it comes back. How a client spends the
windows in one process (``RateLimiter``, ``shared_limiter``) is :mod:`~tribe_operators.http.pacing`'s.

The in-process limiter keeps one task inside the vendor's windows, but two tasks (two Celery
workers, two hosts) each believe they own the whole of them. :class:`SharedBudget` keeps the
windows in Redis instead: a log of request times per account and window, and one Lua call that
checks every window of the vendor and records the request only when all of them have room —
atomic, so no two workers take the last slot, with the same window arithmetic (sliding or
fixed, the safety margin).

Why not a library: pyrate-limiter's ``RedisBucket`` (used here before) keeps one log for all
its rates, so the server's count of one window (the day: 3,000 used elsewhere) can only be
recorded as requests that fill every window (the minute for a minute); ``limits`` checks
several windows in separate calls, in whole seconds, and starts a fixed window at its first
hit rather than at 00:00 UTC. The script is a dozen lines of sorted-set calls.

What the server says corrects the shared count of the window it names (``observe``): fewer
requests left than the log knows of means others (another integration on the same key,
requests we did not count) used them, and the difference is recorded for everyone. A 429's
``Retry-After`` holds every process (``penalise``); a final window the server says is spent
stops every process until its reset (``BudgetExhaustedError``). Configured by ``rate_limit_store`` (a ``redis://`` URL) in the
connection's extra, or once for all connections as the Airflow setting
``[tribe_sync] rate_limit_store``; without one, the in-process limiter paces (the demo,
``dag.test()``).
"""
from __future__ import annotations

import hashlib
import math
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tribe_operators.exceptions import BudgetExhaustedError, FatalError

__all__ = ["DAY_S", "SETTING", "SharedBudget", "Window", "store_url"]

SETTING = ("tribe_sync", "rate_limit_store")  # [tribe_sync] rate_limit_store = redis://host:6379/0
DAY_S = 86_400.0  # a fixed window of this length resets at 00:00 UTC (POSIX days start at UTC midnight)


@dataclass(frozen=True)
class Window:
    """One window a vendor counts requests in.

    Args:
        name: What the rate-header reader calls it (``minute``, ``day``).
        limit: Requests the vendor allows in it.
        seconds: Its length.
        fixed: Resets on the clock, at multiples of ``seconds`` since the epoch (60: the clock
            minute; ``DAY_S``: the UTC day), rather than sliding.
        final: Spent means stop (``BudgetExhaustedError``), not wait.
        safety: Margin in seconds for requests that arrive a little bunched or a clock that is a
            little off. A sliding window is stretched by it; a fixed one also counts requests
            sent that close to its start, and starts that much later. Default 2 % of
            ``seconds``, at least 0.1 s (and at most 2 s for a fixed window: a day's 2 % is half an hour).
    """

    name: str
    limit: int
    seconds: float
    fixed: bool = False
    final: bool = False
    safety: float | None = None

    def __post_init__(self) -> None:
        if self.limit < 1 or self.seconds <= 0:
            raise ValueError("rate must be >= 1 and per positive (every window needs a limit and a length)")

    @property
    def margin(self) -> float:
        if self.safety is not None:
            return self.safety
        return min(2.0, max(0.1, 0.02 * self.seconds)) if self.fixed else max(0.1, 0.02 * self.seconds)

    @property
    def span(self) -> float:
        """The longest stretch of time whose requests count together."""
        return self.seconds + (2 * self.margin if self.fixed else self.margin)

    def _period(self, now: float) -> float:
        return math.floor((now - self.margin) / self.seconds) * self.seconds

    def start(self, now: float) -> float:
        """Requests sent after this moment count at ``now``. A fixed window's period begins a
        margin late and reaches a margin back, so a clock that is off by less than the margin
        in either direction never lets its previous period's requests go uncounted."""
        return self._period(now) - self.margin if self.fixed else now - self.span

    def room_at(self, now: float, blocking: float) -> float:
        """When a full window has room again: its next period, or when ``blocking`` (the send
        time whose expiry frees a slot) leaves a sliding one."""
        return self._period(now) + self.seconds + self.margin if self.fixed else blocking + self.span

    def reset_in(self, now: float, reset_in_s: float) -> float:
        """A server's reset delay, or this window's own when the header's is unusable (a
        negative delay from a skewed clock, or one longer than the window)."""
        if 0 < reset_in_s <= self.span:
            return reset_in_s
        return self.room_at(now, now) - now


# Take ``weight`` requests from every window, or from none. KEYS: one log (a sorted set of
# send times in ms) per window. ARGV: now, weight, a unique member prefix, then per window:
# the start of what counts (exclusive), its limit, how long its log is kept.
_TAKE = """
local now, weight, prefix = ARGV[1], tonumber(ARGV[2]), ARGV[3]
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1 + 3 * i])
  local over = redis.call('ZCARD', key) + weight - tonumber(ARGV[2 + 3 * i])
  if over > 0 then
    local blocking = redis.call('ZRANGE', key, over - 1, over - 1, 'WITHSCORES')
    return {i, blocking[2] or now}
  end
end
for i, key in ipairs(KEYS) do
  for n = 1, weight do redis.call('ZADD', key, now, prefix .. n) end
  redis.call('PEXPIRE', key, ARGV[3 + 3 * i])
end
return {0, now}
"""
# The server counted more of one window than its log holds: record the difference in that
# window alone. KEYS[1]: its log. ARGV: now, start, limit, remaining, member prefix, keep ms.
_CORRECT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local missing = tonumber(ARGV[3]) - tonumber(ARGV[4]) - redis.call('ZCARD', KEYS[1])
for n = 1, missing do redis.call('ZADD', KEYS[1], ARGV[1], ARGV[5] .. n) end
if missing > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[6]) end
return missing
"""


def store_url(extra: dict[str, Any]) -> str | None:
    """Where the shared budgets live: the connection's ``rate_limit_store`` (its password in
    ``rate_limit_store_password``, a name Airflow masks in forms, API answers and logs; a URL
    is not), else the Airflow setting, else None (in-process pacing)."""
    url = extra.get("rate_limit_store")
    if url:
        password = extra.get("rate_limit_store_password")
        if password:
            from urllib.parse import quote, urlsplit, urlunsplit

            parts = urlsplit(str(url))
            host = parts.netloc.rpartition("@")[2]
            user = parts.username or ""
            url = urlunsplit(parts._replace(netloc=f"{quote(user)}:{quote(str(password), safe='')}@{host}"))
        return str(url)
    section, key = SETTING
    env = os.environ.get(f"AIRFLOW__{section.upper()}__{key.upper()}")
    if env is not None:
        return env or None
    try:
        from airflow.configuration import conf

        return conf.get(section, key, fallback=None) or None
    except Exception:  # noqa: BLE001 - outside Airflow (bench, a script): no setting to read
        return None


class SharedBudget:
    """The limiter interface of ``RateLimiter`` (acquire, penalise, observe, exhausted,
    allowed_rate) over a budget kept in Redis.

    Args:
        url: The Redis server (``redis://127.0.0.1:6379/0``).
        key: What the vendor counts (``poweroffice:<subscription key hash>``, ``exact:<app>:<division>``).
        windows: Each vendor window: a ``Window``, or ``(requests, seconds)`` for a sliding one.
            Stretched by ``safety`` (2 %, at least 0.1 s), as the in-process limiter does, so
            requests that arrive a little bunched still fit the vendor's own count.
        safety: The margin of the ``(requests, seconds)`` windows.
        clock: Wall time in epoch seconds (every host's clock is assumed NTP-close; tests move it).
    """

    def __init__(self, url: str, key: str, windows: Sequence[tuple[float, float] | Window], *,
                 safety: float | None = None, clock: Callable[[], float] = time.time) -> None:
        import redis

        if not windows:
            raise ValueError("every window needs at least one request and a positive length")
        spec = [w if isinstance(w, Window) else Window(f"w{i}", int(w[0]), float(w[1]), safety=safety)
                for i, w in enumerate(windows)]
        if len({w.name for w in spec}) != len(spec):
            raise ValueError("windows need distinct names")
        self.spec = spec
        self.windows = [(w.limit, w.span) for w in spec]  # (requests, seconds) as paced
        self.clock = clock
        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        try:
            self._redis.ping()
        except redis.RedisError as exc:
            raise FatalError(f"the shared rate budget's store {url} ({'.'.join(SETTING)} or the connection's "
                             f"rate_limit_store) cannot be reached: {exc}") from exc
        # The key may hold a secret (PowerOffice counts per subscription key): Redis sees a hash.
        name = f"{key.partition(':')[0]}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"
        self._logs = [f"tribe_sync:budget:{name}:{w.name}" for w in spec]
        self._spent = {w.name: f"tribe_sync:budget-spent:{name}:{w.name}" for w in spec if w.final}
        self._hold = f"tribe_sync:budget-hold:{name}"
        self._take = self._redis.register_script(_TAKE)
        self._correct = self._redis.register_script(_CORRECT)
        self.waited_s = 0.0

    def _decide(self, weight: int = 1) -> tuple[float, Window | None]:
        """Record ``weight`` requests if every window has room: (0, None); else the seconds
        until the first full window has room, and that window."""
        now = self.clock()
        args: list[Any] = [_ms(now), weight, f"{uuid.uuid4().hex}:"]
        for w in self.spec:
            args += [_ms(w.start(now)), w.limit, max(1, _ms(w.span + w.margin))]
        full, blocking = self._take(keys=self._logs, args=args)
        if int(full) == 0:
            return 0.0, None
        window = self.spec[int(full) - 1]
        return max(window.room_at(now, float(blocking) / 1000.0) - now, 0.001), window

    def _put(self, weight: int = 1) -> float:
        """Record ``weight`` requests if every window has room; else the seconds to wait."""
        return self._decide(weight)[0]

    def acquire(self) -> None:
        """Block until every process together may send one more request, then count it; raise
        ``BudgetExhaustedError`` instead when a final window is spent."""
        while True:
            if (spent := self.exhausted()) is not None:
                raise spent
            held_ms = self._redis.pttl(self._hold)
            if held_ms and held_ms > 0:
                wait = held_ms / 1000.0
            else:
                wait, window = self._decide()
                if window is not None and window.final:
                    raise BudgetExhaustedError(_utc(self.clock() + wait), window.name)
            if wait <= 0:
                return
            self.waited_s += wait
            time.sleep(wait)

    def penalise(self, seconds: float) -> None:
        """Nobody sends for ``seconds`` (a 429's Retry-After), unless a longer hold is set."""
        ms = max(1, round(seconds * 1000))
        if (self._redis.pttl(self._hold) or 0) < ms:
            self._redis.set(self._hold, 1, px=ms)

    def observe(self, remaining: int, reset_in_s: float, window: str | None = None) -> None:
        """The server's count of what is left of ``window`` (default: the first): when its log
        holds fewer requests than the server counted, record the difference for everyone; none
        left holds everyone until its reset, or stops everyone until then when it is final."""
        index = 0 if window is None else next((i for i, w in enumerate(self.spec) if w.name == window), None)
        if index is None:
            return  # a window we do not keep: nothing to correct
        spec, now = self.spec[index], self.clock()
        if remaining <= 0:
            reset = spec.reset_in(now, reset_in_s)
            if spec.final:
                until = _ms(now + reset)
                self._redis.set(self._spent[spec.name], until, pxat=until)
            else:
                self.penalise(reset)
            return
        self._correct(keys=[self._logs[index]], args=[_ms(now), _ms(spec.start(now)), spec.limit, remaining,
                                                      f"{uuid.uuid4().hex}:", max(1, _ms(spec.span + spec.margin))])

    def exhausted(self) -> BudgetExhaustedError | None:
        """The error to stop with when the server said a final window is spent, else None."""
        if not self._spent:
            return None
        names = list(self._spent)
        for name, until in zip(names, self._redis.mget([self._spent[n] for n in names]), strict=True):
            if until is not None and int(until) > _ms(self.clock()):
                return BudgetExhaustedError(_utc(int(until) / 1000.0), name)
        return None

    @property
    def allowed_rate(self) -> float:
        """Requests per second all processes together get at most (the tightest window that paces)."""
        return min(w.limit / w.span for w in self.spec if not w.final) if any(not w.final for w in self.spec) \
            else min(w.limit / w.span for w in self.spec)


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _utc(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)
