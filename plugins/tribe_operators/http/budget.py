"""A vendor's rate budget shared by every process and host that talks to the same account.

The in-process :class:`~tribe_operators.http.pacing.RateLimiter` keeps one task inside the
vendor's window, but two tasks (two Celery workers, two hosts) each believe they own the whole
of it. :class:`SharedBudget` keeps the window in Redis instead, as pyrate-limiter's
``RedisBucket``: a log of request times per account, and one Lua call that checks every
window of the vendor (Exact Online: a minute *and* a day) and records the request only when
all of them have room — atomic, so no two workers take the last slot. Compared with
``limits`` (also well kept, Redis-backed): its windows are whole seconds and several windows
are separate calls, where the vendors' windows need our safety margin (1.1 s for
PowerOffice's second) and Exact's two windows must be checked together.

What the server says corrects the shared count (``observe``): fewer requests left than the log
knows of means others (another integration on the same key, requests we did not count) used
them, and the difference is recorded for everyone. A 429's ``Retry-After`` holds every
process (``penalise``). Configured by ``rate_limit_store`` (a ``redis://`` URL) in the
connection's extra, or once for all connections as the Airflow setting
``[tribe_sync] rate_limit_store``; without one, the in-process limiter paces (the demo,
``dag.test()``).
"""
from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Sequence
from typing import Any

from tribe_operators.exceptions import FatalError

__all__ = ["SETTING", "SharedBudget", "store_url"]

SETTING = ("tribe_sync", "rate_limit_store")  # [tribe_sync] rate_limit_store = redis://host:6379/0
_LEAK_EVERY = 200  # requests between clearing entries older than the longest window


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
    """The limiter interface of ``RateLimiter`` (acquire, penalise, observe, allowed_rate) over
    a budget kept in Redis.

    Args:
        url: The Redis server (``redis://127.0.0.1:6379/0``).
        key: What the vendor counts (``poweroffice:<subscription key hash>``, ``exact:<app>:<division>``).
        windows: ``(requests, seconds)`` per vendor window; each is stretched by ``safety``
            (2 %, at least 0.1 s), as the in-process limiter does, so requests that arrive a
            little bunched still fit the vendor's own count.
    """

    def __init__(self, url: str, key: str, windows: Sequence[tuple[float, float]], *,
                 safety: float | None = None) -> None:
        import redis
        from pyrate_limiter import Rate, RedisBucket

        if not windows or any(limit < 1 or per <= 0 for limit, per in windows):
            raise ValueError("every window needs at least one request and a positive length")
        self.windows = [(int(limit), per + (safety if safety is not None else max(0.1, 0.02 * per)))
                        for limit, per in windows]
        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        try:
            self._redis.ping()
        except redis.RedisError as exc:
            raise FatalError(f"the shared rate budget's store {url} ({'.'.join(SETTING)} or the connection's "
                             f"rate_limit_store) cannot be reached: {exc}") from exc
        rates = [Rate(limit, max(1, round(window * 1000))) for limit, window in self.windows]
        # The key may hold a secret (PowerOffice counts per subscription key): Redis sees a hash.
        name = f"{key.partition(':')[0]}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"
        self._log = f"tribe_sync:budget:{name}"
        self._bucket = RedisBucket.init(rates, self._redis, self._log)
        self._hold = f"tribe_sync:budget-hold:{name}"
        self._lock = threading.Lock()  # RedisBucket keeps the last failing rate on the instance
        self._puts = 0
        self.waited_s = 0.0

    def _put(self, weight: int = 1) -> float:
        """Record ``weight`` requests if every window has room; else the seconds to wait."""
        from pyrate_limiter import RateItem

        with self._lock:
            now = self._bucket.now()
            self._puts += 1
            if self._puts % _LEAK_EVERY == 0:
                self._bucket.leak(now)
            item = RateItem("request", now, weight=weight)
            decision = self._bucket.put_decision(item)
            if decision.failing_rate is None:
                return 0.0
            wait_ms = decision.retry_after_ms if decision.retry_after_ms is not None else self._bucket.waiting(item)
            return max(wait_ms, 1) / 1000.0

    def acquire(self) -> None:
        """Block until every process together may send one more request, then count it."""
        while True:
            held_ms = self._redis.pttl(self._hold)
            wait = held_ms / 1000.0 if held_ms and held_ms > 0 else self._put()
            if wait <= 0:
                return
            self.waited_s += wait
            time.sleep(wait)

    def penalise(self, seconds: float) -> None:
        """Nobody sends for ``seconds`` (a 429's Retry-After), unless a longer hold is set."""
        ms = max(1, round(seconds * 1000))
        if (self._redis.pttl(self._hold) or 0) < ms:
            self._redis.set(self._hold, 1, px=ms)

    def observe(self, remaining: int, reset_in_s: float) -> None:
        """The server's count of what is left of its (first) window: when the log holds fewer
        requests than the server counted, record the difference for everyone; none left holds
        everyone until its reset."""
        if remaining <= 0:
            self.penalise(max(reset_in_s, 0.0))
            return
        limit, window = self.windows[0]
        now_ms = self._bucket.now()
        counted = int(self._redis.zcount(self._log, now_ms - window * 1000, now_ms))
        for _ in range(min(limit, limit - remaining - counted)):  # one by one: as many as still fit every window
            if self._put() > 0:
                break

    @property
    def allowed_rate(self) -> float:
        """Requests per second all processes together get at most (the tightest window)."""
        return min(limit / window for limit, window in self.windows)
