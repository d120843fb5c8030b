"""A clock the tests can move: token expiry and LastMutationDate both read it."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

__all__ = ["Clock"]


class Clock:
    """Wall-clock time plus an offset that tests may advance (``clock.advance(1300)``)."""

    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()
        self._last: datetime | None = None

    def now(self) -> datetime:
        """Return the simulated 'now', strictly increasing so no two mutations share a stamp."""
        with self._lock:
            now = datetime.now(UTC) + self._offset
            if self._last is not None and now <= self._last:
                now = self._last + timedelta(microseconds=1)
            self._last = now
            return now

    def advance(self, seconds: float) -> None:
        """Move simulated time, e.g. forward past a token's expiry, or back to seed old data.

        Moving back is explicit, so the strictly-increasing guard starts over from there.
        """
        with self._lock:
            self._offset += timedelta(seconds=seconds)
            if seconds < 0:
                self._last = None
