"""One exception tree, rooted in ``TribeSyncError``; the class says what a caller should do.

* ``RetryableError`` — try again later (tenacity inside the hook, then Airflow task retries).
* ``FatalError`` — retrying cannot help (bad credentials, a 4xx the server explained, a connection
  or setting that does not hold): the task fails at once, no Airflow retry (``operators.base.fails_fast``).
* ``RecordError`` — one record is bad: quarantine it, the batch goes on.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

__all__ = [
    "AmbiguousWriteError",
    "ApiClientError",
    "AuthError",
    "BudgetExhaustedError",
    "DuplicateReferenceError",
    "ErrorBudgetHeldError",
    "FatalError",
    "LinkConflictError",
    "MappingConfigError",
    "NetworkError",
    "NotFoundError",
    "RateLimitedError",
    "RecordError",
    "RetryableError",
    "ServerError",
    "TokenExpiredError",
    "TribeSyncError",
]


class TribeSyncError(Exception):
    """Root of every error tribe-sync raises on purpose."""


class RetryableError(TribeSyncError):
    """Transient: the same call may succeed later.

    Args:
        message: What went wrong.
        retry_after: Seconds the server asked us to wait, if it said.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimitedError(RetryableError):
    """HTTP 429: the vendor's rate limit was hit."""


class ServerError(RetryableError):
    """HTTP 5xx from the vendor."""


class NetworkError(RetryableError):
    """Connection refused, reset, broken mid-body, or timed out."""


class TokenExpiredError(RetryableError):
    """HTTP 401 on an API call: the cached token is stale; re-authenticate and retry."""


class LinkConflictError(RetryableError):
    """A unique clash in the link store: another task bound the same record concurrently."""


class AmbiguousWriteError(RetryableError):
    """A create may or may not have happened (lost response, 5xx, timeout after sending).

    Never blindly re-send: look the record up by its import reference first.
    """


class FatalError(TribeSyncError):
    """Retrying will not help; fix configuration or data first."""


class AuthError(FatalError):
    """The credentials were refused."""


class ApiClientError(FatalError):
    """A 4xx the server explained; ``message`` carries the server's own words.

    Args:
        status: HTTP status code.
        message: The server's error message.
        body: The decoded error body, if any.
    """

    def __init__(self, status: int, message: str, body: object = None) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message
        self.body = body


class NotFoundError(ApiClientError):
    """HTTP 404."""


class DuplicateReferenceError(ApiClientError):
    """The system refused a create because a document with our unique reference exists: an
    earlier attempt landed. The caller looks it up by that reference instead of failing."""


class MappingConfigError(FatalError):
    """A mapping or settings file is invalid (caught at load time, not mid-run)."""


class RecordError(TribeSyncError):
    """One record cannot be synced; it goes to quarantine with this reason.

    Args:
        field: The field at fault (source or target name), or None for the whole record.
        reason: Human-readable and specific: what is wrong and what to do.
        record_id: The record's id in its source system, when known.
        mapped: The fields that did map (a record's numbers still count in dedupe when
            another of its fields is bad).
        action: What a person can do besides fixing the source (``schema.quarantine.action``:
            map an unmapped code, decide a match by number).
    """

    def __init__(self, field: str | None, reason: str, *, record_id: str | None = None,
                 mapped: dict[str, Any] | None = None, action: dict[str, Any] | None = None) -> None:
        where = f"field {field!r}: " if field else ""
        who = f"record {record_id}: " if record_id else ""
        super().__init__(f"{who}{where}{reason}")
        self.field = field
        self.reason = reason
        self.record_id = record_id
        self.mapped = mapped or {}
        self.action = action


class OutOfScope(TribeSyncError):
    """A record this stream does not sync (a contact of a prospect, which is neither customer
    nor supplier in the accounting system): counted and left alone, not quarantined."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BudgetExhaustedError(TribeSyncError):
    """A vendor's hard budget is spent (Exact Online: 5,000 calls per division per UTC day): the
    task stops cleanly and resumes after ``reset_at``. Neither retried nor waited on — a retry
    only spends calls the vendor refuses, and a sleep would hold a worker for hours.

    Args:
        reset_at: When the budget comes back (aware UTC).
        window: The spent window's name (``day``).
    """

    def __init__(self, reset_at: datetime, window: str = "day") -> None:
        super().__init__(f"rate budget spent ({window} window): resumes after {reset_at:%H:%M} UTC "
                         f"({reset_at:%Y-%m-%d %H:%M:%S}Z)")
        self.reset_at = reset_at
        self.window = window

    def __reduce__(self) -> tuple[Any, ...]:  # picklable across processes (Celery, task results)
        return type(self), (self.reset_at, self.window)


class ErrorBudgetHeldError(RecordError):
    """Not sent: the endpoint answered so many refusals (400/401/403/404) within the hour that one
    more could get the API key blocked (Exact Online blocks a key for an hour after ten). The
    record is held in quarantine and tried again after ``retry_at``.

    Args:
        endpoint: The endpoint as counted (path without host, query and key segments).
        retry_at: When the oldest counted refusal leaves the hour (aware UTC).
        errors: Refusals counted within the hour.
    """

    def __init__(self, endpoint: str, retry_at: datetime, errors: int = 0) -> None:
        super().__init__(None, f"held: {endpoint} refused {errors} requests within the hour; sending more "
                               f"could get the API key blocked — retried after {retry_at:%H:%M} UTC")
        self.endpoint = endpoint
        self.retry_at = retry_at
        self.errors = errors

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.endpoint, self.retry_at, self.errors)
