"""``ApiClient``: one cached session + auth + pacing + retry + error classification.

Every hook is a thin wrapper around one of these, REST or RPC alike; operators never see raw
HTTP. What differs between vendors is given to it, not coded in it: whether a call may be
repeated (a property of the call — every JSON-RPC call is a POST, yet ``search_read`` is
safe to repeat and ``create`` is not), errors a server reports inside a 200 (JSON-RPC), and
the rate-limit headers that say how much budget is left (of one window or several), and
whether an error guard counts refusals per endpoint.
"""
from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import requests

from tribe_operators.exceptions import (
    AmbiguousWriteError,
    ApiClientError,
    NetworkError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TokenExpiredError,
)
from tribe_operators.http.guard import endpoint_of
from tribe_operators.http.retry import build_retrying

if TYPE_CHECKING:
    from tenacity import Retrying

    from tribe_operators.http.auth import ClientCredentialsAuth, KeyAuth
    from tribe_operators.http.guard import ErrorGuard
    from tribe_operators.http.pacing import RateLimiter
    from tribe_operators.http.pagination import Paginator

RateState = tuple[int, float] | dict[str, tuple[int, float]]

__all__ = ["ApiClient", "json_numbers"]

log = logging.getLogger(__name__)
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})


class ApiClient:
    """Send requests to one vendor API.

    Args:
        base_url: Prefix of every path (no trailing slash).
        auth: Token provider, applied per attempt.
        limiter: Client-side pacing shared by everyone using the same API key.
        error_message: Pulls the server's own message out of an error response.
        headers: Default headers (e.g. a subscription key).
        timeout: Seconds per request (connect and read).
        retrying: Factory of the tenacity policy; tests pass one with ``wait_none()``.
        body_error: Reads a response for an error the server reports in its body (JSON-RPC's
            ``error`` inside a 200, Odoo's exception class in a JSON-2 4xx/5xx) and returns it as a
            typed error, or None to let the status decide.
        rate_headers: Reads a response's rate-limit headers → ``(remaining, seconds to reset)``
            of the limiter's first window, or ``{window: (remaining, seconds to reset)}`` for each
            window whose headers it carries (``pacing.rate_windows_reader``), or None. Each
            corrects its window (``RateLimiter.observe``); on a 429 without ``Retry-After`` the
            client waits for the reset of the window the 429 names, and a spent ``final`` window
            raises ``BudgetExhaustedError``.
        guard: Counts refusals per endpoint and refuses to send to one that had too many
            (``guard.ErrorGuard``); None sends regardless.
    """

    def __init__(
        self,
        base_url: str,
        auth: ClientCredentialsAuth | KeyAuth,
        *,
        limiter: RateLimiter | None = None,
        error_message: Callable[[requests.Response], str] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
        retrying: Callable[[], Retrying] = build_retrying,
        body_error: Callable[[requests.Response], Exception | None] | None = None,
        rate_headers: Callable[[requests.Response], RateState | None] | None = None,
        guard: ErrorGuard | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.limiter = limiter
        self.error_message = error_message or (lambda r: r.text[:500])
        self.timeout = timeout
        self.retrying = retrying
        self.body_error = body_error
        self.rate_headers = rate_headers
        self.guard = guard
        self.session = auth.session
        self.session.headers.update({"Accept": "application/json", **(headers or {})})
        self.calls: Counter[str] = Counter()  # requests sent per "METHOD endpoint" (attempts, not calls)
        self._calls_lock = threading.Lock()  # the load step sends from several threads

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                json: Any = None, headers: dict[str, str] | None = None,
                idempotent: bool | None = None) -> requests.Response:
        """Send with retries; return the 2xx response or raise a typed error.

        A call that is not ``idempotent`` (default: by its verb, so a POST is a create) is
        retried only when the server surely did not act on it (429, refused connection); any
        other failure raises ``AmbiguousWriteError`` so the caller looks the record up by its
        import reference before trying again. An RPC read says ``idempotent=True``.
        """
        method = method.upper()
        idempotent = method in IDEMPOTENT if idempotent is None else idempotent
        for attempt in self.retrying():
            with attempt:
                try:
                    return self._send(method, path, params, json, headers)
                except (ServerError, NetworkError) as exc:
                    if idempotent or getattr(exc, "not_sent", False):
                        raise
                    raise AmbiguousWriteError(f"{method} {path}: outcome unknown ({exc})") from exc
        raise AssertionError("unreachable")  # pragma: no cover - tenacity re-raises

    def pages(self, path: str, paginator: Paginator, params: dict[str, Any] | None = None,
              extract: Callable[[requests.Response], list[Any]] | None = None) -> Iterator[list[Any]]:
        """Yield one list of rows per page, lazily. The paginator names the next page by its
        params (``path`` again) or by a URL the server gave (an OData ``__next``), sent as is."""
        extract = extract or paginator.rows
        query: dict[str, Any] | str | None = paginator.first(dict(params or {}))
        while query is not None:
            if isinstance(query, str):
                response = self.request("GET", query)
            else:
                response = self.request("GET", path, params=query)
            rows = extract(response)
            paginator.guard(rows)
            if rows:
                yield rows
            query = paginator.next(query, response, rows)

    def _send(self, method: str, path: str, params: dict[str, Any] | None, body: Any,
              headers: dict[str, str] | None) -> requests.Response:
        endpoint = endpoint_of(path, self.base_url)
        url = path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"
        if self.guard is not None:
            self.guard.allow(endpoint)  # before the limiter: a held endpoint spends no budget
        status = None
        try:
            response = self._sent(method, url, endpoint, params, body, headers)
            status = response.status_code
        finally:
            if self.guard is not None:
                self.guard.record(endpoint, status)  # None: nothing answered, its slot is freed
        return self._check(method, url, response)

    def _sent(self, method: str, url: str, endpoint: str, params: dict[str, Any] | None, body: Any,
              headers: dict[str, str] | None) -> requests.Response:
        """One request on the wire, paced by the limiter; the answer as it came."""
        if self.limiter is not None:
            self.limiter.acquire()
        with self._calls_lock:
            self.calls[f"{method} {endpoint}"] += 1
        try:
            response = self.session.request(method, url, params=params, json=json_numbers(body), headers=headers,
                                            auth=self.auth, timeout=self.timeout)
        except requests.ConnectionError as exc:
            error = NetworkError(f"{method} {url}: {exc}")
            # Refused before a byte was sent: safe to retry even a create.
            error.not_sent = "NewConnectionError" in repr(exc) or "Connection refused" in str(exc)  # type: ignore[attr-defined]
            raise error from exc
        except requests.RequestException as exc:  # timeouts, broken bodies
            raise NetworkError(f"{method} {url}: {exc}") from exc
        return response

    def _rate_state(self, response: requests.Response) -> dict[str | None, tuple[int, float]]:
        """The server's count per window (None: the limiter's first), fed to the limiter: the
        server's count corrects ours. Of a 429, the windows it exceeded: those it says have
        none left, else all whose headers it carries (a vendor may send only the exceeded set)."""
        state = self.rate_headers(response) if self.rate_headers is not None else None
        windows: dict[str | None, tuple[int, float]] = (
            {} if not state else dict(state) if isinstance(state, dict) else {None: state})
        if response.status_code == 429:
            spent = {name: (0, reset) for name, (left, reset) in windows.items() if left <= 0}
            windows = {**windows, **(spent or {name: (0, reset) for name, (_, reset) in windows.items()})}
        if self.limiter is not None:
            for name, (remaining, reset_in_s) in windows.items():
                self.limiter.observe(remaining, reset_in_s, window=name)
        return {name: w for name, w in windows.items() if w[0] <= 0} if response.status_code == 429 else windows

    def _check(self, method: str, url: str, response: requests.Response) -> requests.Response:
        status = response.status_code
        windows = self._rate_state(response)
        if self.body_error is not None and status not in (401, 429):
            error = self.body_error(response)  # what the server said, in its own terms
            if error is not None:
                raise error
        if status < 400:
            return response
        if status == 401:
            if not self.auth.refreshable:  # a fixed key: asking again changes nothing
                raise ApiClientError(status, f"{method} {url}: 401, the key was refused", _json_or_none(response))
            self.auth.invalidate()
            raise TokenExpiredError(f"{method} {url}: 401, token refused; re-authenticating")
        if status == 429:
            retry_after = _seconds(response.headers.get("Retry-After"))
            if self.limiter is not None:
                spent = getattr(self.limiter, "exhausted", lambda: None)()
                if spent is not None:  # a final window (the day): stop, no retry can succeed before its reset
                    raise spent
                if retry_after is not None or not windows:
                    self.limiter.penalise(retry_after or 1.0)  # else held until the window's reset (observe)
            if retry_after is None and windows:
                retry_after = max(max(reset_in_s, 0.0) for _, reset_in_s in windows.values())
            error = RateLimitedError(f"{method} {url}: 429 rate limited", retry_after=retry_after)
            error.not_sent = True  # type: ignore[attr-defined]  # a 429 was never processed
            raise error
        if status >= 500:
            raise ServerError(f"{method} {url}: {status} {self.error_message(response)}",
                              retry_after=_seconds(response.headers.get("Retry-After")))
        error_type = NotFoundError if status == 404 else ApiClientError
        raise error_type(status, f"{method} {url}: {self.error_message(response)}", _json_or_none(response))


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def json_numbers(body: Any) -> Any:
    """A request body with its ``Decimal`` amounts as JSON numbers: the shortest float that reads
    back as the same decimal text (``Decimal("19.99")`` is sent as ``19.99``), whole ones as ints."""
    if isinstance(body, Decimal):
        return int(body) if body == body.to_integral_value() else float(body)
    if isinstance(body, dict):
        return {k: json_numbers(v) for k, v in body.items()}
    if isinstance(body, list | tuple):
        return [json_numbers(v) for v in body]
    return body
