"""An error-rate guard per endpoint: stop sending before the vendor blocks the key.

Exact Online counts 400/401/403/404 answers per API key × user × division × endpoint, and
after ten in an hour blocks the key for an hour (longer when it happens again). Twelve
invoices refused for one bad VAT code are enough, so "quarantine and go on" is not: the guard
counts those answers per endpoint over a rolling hour and, once ``limit`` (default 6, below
the vendor's ten) were counted, refuses to send to that endpoint at all
(``ErrorBudgetHeldError``: the record is held and tried again next hour).

The counts live in pyrate-limiter buckets — a sorted set in Redis when a ``rate_limit_store``
is configured, so every worker of the key shares them; an in-process list otherwise — one
bucket per endpoint, used as a time-stamped log (put, leak, count, peek).

A request in flight holds a place until its answer is recorded: in one process, requests to an
endpoint are never more than ``limit`` minus its refusals, so several load threads cannot all
pass the check and be refused together (``limit`` refusals at most, never ``limit`` + threads).
Other processes sharing the store are not in this count: two workers sending to one endpoint
at the same moment may each pass it once more, which the margin below the vendor's ten covers.
"""
from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from tribe_operators.exceptions import ErrorBudgetHeldError, FatalError

__all__ = ["COUNTED", "ErrorGuard", "endpoint_of", "forget_shared_guards", "shared_guard"]

COUNTED = frozenset({400, 401, 403, 404})  # what Exact counts toward its block
_KEY_SEGMENT = re.compile(r"\([^/]*\)")  # Accounts(guid'…'), Items(12), Customers('A-1')
_ID_SEGMENT = re.compile(r"^(\d+|\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?)$")
_UNLIMITED = 1_000_000  # the bucket records every refusal; the guard decides on ``limit`` itself


def endpoint_of(path_or_url: str, base_url: str = "") -> str:
    """The endpoint a request counts toward: its path without host, query, the base URL's path
    (a division), key segments (``(guid'…')``) and ids (numbers, GUIDs), so an absolute next
    link, a GET by key and a list all count as one: ``crm/Accounts``."""
    path = unquote(urlsplit(path_or_url).path)
    base = unquote(urlsplit(base_url).path).rstrip("/")
    if base and (path == base or path.startswith(base + "/")):
        path = path[len(base):]
    path = _KEY_SEGMENT.sub("", path)
    return "/".join("{id}" if _ID_SEGMENT.match(part) else part for part in path.split("/") if part)


class ErrorGuard:
    """Counts refusals per endpoint in a rolling window and holds an endpoint that had enough.

    Args:
        key: What the vendor counts per (``exact:<client id>:<division>``); may hold a secret,
            Redis sees a hash of it.
        limit: Refusals in the window after which the endpoint is held (the vendor blocks at 10).
        window_s: The rolling window (an hour).
        statuses: The answers that count.
        store: A Redis URL (``rate_limit_store``) to share counts with every worker, or None
            for this process alone.
        clock: Wall time in epoch seconds (tests move it).
    """

    def __init__(self, key: str, *, limit: int = 6, window_s: float = 3600.0, statuses: Iterable[int] = COUNTED,
                 store: str | None = None, clock: Callable[[], float] = time.time) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("an error guard needs a positive limit and window")
        self.limit = limit
        self.window_ms = round(window_s * 1000)
        self.statuses = frozenset(statuses)
        self.clock = clock
        self._prefix = f"tribe_sync:errors:{key.partition(':')[0]}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"
        self._redis = _connect(store) if store else None
        self._buckets: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()
        self._answered = threading.Condition()

    def allow(self, endpoint: str) -> None:
        """Take a place to send to ``endpoint``; raise ``ErrorBudgetHeldError`` when it had
        ``limit`` refusals in the window. Waits while the requests in flight could bring it there
        (each must then be ``record``-ed, answered or not)."""
        with self._answered:
            while True:
                bucket, now = self._bucket(endpoint), self._now()
                bucket.leak(now)  # refusals older than the window no longer count
                counted = bucket.count()
                if counted >= self.limit:
                    # Room again when the oldest of the newest ``limit`` leaves the window.
                    oldest = bucket.peek(self.limit - 1)
                    at = (oldest.timestamp if oldest is not None else now) + self.window_ms
                    raise ErrorBudgetHeldError(endpoint, datetime.fromtimestamp(at / 1000, UTC), counted)
                if counted + self._in_flight[endpoint] < self.limit:
                    self._in_flight[endpoint] += 1
                    return
                self._answered.wait(timeout=5.0)  # another worker's refusals may leave the window too

    def record(self, endpoint: str, status: int | None) -> None:
        """Count the answer when its status is one the vendor counts, and give its place back
        (``None``: no answer came)."""
        try:
            if status in self.statuses:
                from pyrate_limiter import RateItem

                bucket = self._bucket(endpoint)
                bucket.put(RateItem("refusal", self._now()))
                if self._redis is not None:
                    self._redis.pexpire(bucket.bucket_key, self.window_ms)  # an endpoint left alone leaves no key
        finally:
            with self._answered:
                if self._in_flight[endpoint] > 0:
                    self._in_flight[endpoint] -= 1
                self._answered.notify_all()

    def errors(self, endpoint: str) -> int:
        """Refusals of ``endpoint`` counted in the window now."""
        bucket = self._bucket(endpoint)
        bucket.leak(self._now())
        return int(bucket.count())

    def _now(self) -> int:
        return round(self.clock() * 1000)

    def _bucket(self, endpoint: str) -> Any:
        from pyrate_limiter import InMemoryBucket, Rate, RedisBucket

        with self._lock:
            bucket = self._buckets.get(endpoint)
            if bucket is None:
                rates = [Rate(_UNLIMITED, self.window_ms)]
                bucket = (RedisBucket.init(rates, self._redis, f"{self._prefix}:{endpoint}")
                          if self._redis is not None else InMemoryBucket(rates))
                self._buckets[endpoint] = bucket
            return bucket


def _connect(url: str) -> Any:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise FatalError(f"the error guard's store {url} (rate_limit_store) cannot be reached: {exc}") from exc
    return client


_shared: dict[tuple[Any, ...], ErrorGuard] = {}
_shared_lock = threading.Lock()


def shared_guard(key: str, *, limit: int = 6, window_s: float = 3600.0, store: str | None = None) -> ErrorGuard:
    """One guard per vendor key in this process (every hook of the key counts into it); with a
    ``store`` the counts are shared with every process as well."""
    with _shared_lock:
        guard = _shared.get((key, limit, window_s, store))
        if guard is None:
            guard = _shared[(key, limit, window_s, store)] = ErrorGuard(key, limit=limit, window_s=window_s,
                                                                         store=store)
        return guard


def forget_shared_guards() -> None:
    """Drop this process's guards: what a new worker process starts with (without a shared
    store, an hour later its counts are gone). Redis-shared counts stay in Redis."""
    with _shared_lock:
        _shared.clear()
