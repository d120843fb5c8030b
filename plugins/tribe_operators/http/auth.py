"""Authentication as small request callables (``requests.auth.AuthBase``).

The token is applied on every attempt, so a retry after a 401 carries a fresh one.
Fetched tokens go through ``mask_secret`` before anything can log them.

A client-credentials token is shared through the encrypted token store (``store.tokens``) when
the hook gives one: every task process builds its own hook, and without it each would fetch
a token of its own (one call per task where one per token lifetime does).
"""
from __future__ import annotations

import base64
import hashlib
import logging
import threading
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import requests
import sqlalchemy.exc
from requests.auth import AuthBase

from tribe_operators.exceptions import AuthError, NetworkError, RateLimitedError, ServerError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from tribe_operators.http.pacing import RateLimiter
    from tribe_operators.store.tokens import StoredTokens, TokenStore

log = logging.getLogger(__name__)
# The store is a cache: when it fails, the process fetches its own token (and says so).
_STORE_ERRORS: tuple[type[Exception], ...] = (sqlalchemy.exc.SQLAlchemyError,)

__all__ = ["ClientCredentialsAuth", "mask"]


def mask(value: str | None) -> None:
    """Register a secret with Airflow's log masker (no-op outside Airflow)."""
    if not value:
        return
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - only without Airflow installed
        return
    mask_secret(value)


class KeyAuth(AuthBase):
    """A fixed secret in a header: an API key (Odoo's JSON-2 ``Authorization: bearer <key>``).

    It cannot be renewed, so a 401 means the key is wrong or revoked: ``refreshable`` tells
    ``ApiClient`` not to retry it (a token of ``ClientCredentialsAuth`` is fetched anew)."""

    refreshable = False

    def __init__(self, value: str, *, header: str = "Authorization", scheme: str | None = "bearer",
                 session: requests.Session | None = None) -> None:
        mask(value)
        self._value = f"{scheme} {value}" if scheme else value
        self.header = header
        self.session = session or requests.Session()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers[self.header] = self._value
        return request

    def invalidate(self) -> None:
        """Nothing to renew."""


class BodyCredentials(KeyAuth):
    """Credentials that travel in each call's body (Odoo's JSON-RPC ``execute_kw``): no header
    to set; the secret is masked all the same, and a refusal is not retried."""

    def __init__(self, value: str, *, session: requests.Session | None = None) -> None:
        super().__init__(value, header="", scheme=None, session=session)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


class CachedBearer(AuthBase):
    """A bearer token kept until shortly before it expires, renewed by ``_renew`` (a subclass's
    grant) under a lock, so threads of one task share one token."""

    refreshable = True  # a refused token is fetched anew

    def __init__(self, renew_before_s: float, clock: Callable[[], datetime] | None = None) -> None:
        self.renew_before_s = renew_before_s
        self.clock = clock  # a wall clock a simulation moves; else time.monotonic
        self._token: str | None = None
        self._expires_at = 0.0  # on _now_s()
        self._lock = threading.Lock()

    def _now_s(self) -> float:
        return self.clock().timestamp() if self.clock is not None else time.monotonic()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request

    def token(self) -> str:
        """Return a valid access token, fetching a new one when missing or about to expire."""
        with self._lock:
            if self._token is None or self._now_s() >= self._expires_at:
                self._renew()
            assert self._token is not None
            return self._token

    def invalidate(self) -> None:
        """Forget the cached token (the server said it expired)."""
        with self._lock:
            self._token = None
            self._expires_at = 0.0

    def _use(self, token: str, lifetime_s: float) -> None:
        """Keep ``token`` (masked first) for ``lifetime_s``, renewing a little before its end."""
        mask(token)  # before anything else can see it
        self._token = token
        self._expires_at = self._now_s() + max(1.0, lifetime_s - self._margin(lifetime_s))

    def _margin(self, lifetime_s: float) -> float:
        """Renew this long before the end (at most half the lifetime)."""
        return min(self.renew_before_s, lifetime_s / 2)

    def _renew(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class ClientCredentialsAuth(CachedBearer):
    """OAuth2 client-credentials grant with a cached, proactively renewed bearer token.

    (Every auth method has one shape: ``session``, ``__call__``, ``invalidate()``, ``refreshable``.)

    With ``store``, the token is shared with every process of the connection: a process uses
    the stored token while it is valid for more than the renewal margin; otherwise it takes the
    store's lock, reads again (another process may just have renewed) and only then fetches and
    stores one. A token the server refused (401) is marked in the store, so the next process
    does not send it either, and one new token is fetched.

    Args:
        token_url: Absolute URL of the token endpoint.
        client_id: OAuth client id (PowerOffice: the application key).
        client_secret: OAuth client secret (PowerOffice: the client key).
        style: ``"body"`` sends the credentials as form fields (Tribe); ``"basic"`` sends
            them as HTTP Basic (PowerOffice).
        scope: Optional scope string.
        extra_headers: Headers the token call needs too (PowerOffice's subscription key).
        renew_before_s: Renew this many seconds before the token's stated expiry.
        session: Session used for the token call (shares the connection pool).
        timeout: Seconds for the token call.
        limiter: Pacing shared with the API calls (the token call counts against the limit).
        store: ``store(fingerprint)`` → the ``TokenStore`` to share the token through, or None
            (this process's own token); called once, on the first renewal. ``fingerprint``
            digests the credentials: other credentials, another stored token.
        clock: Wall clock (default: the store's, the database's); a simulation moves it.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        style: str = "body",
        scope: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        renew_before_s: float = 60.0,
        session: requests.Session | None = None,
        timeout: float = 30.0,
        limiter: RateLimiter | None = None,
        store: Callable[[str], TokenStore | None] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if style not in {"body", "basic"}:
            raise ValueError(f"unknown credentials style {style!r}")
        mask(client_secret)
        self._basic: str | None = None
        if style == "basic":
            # HTTP Basic carries the secret base64-encoded (decodable): mask that form too.
            self._basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
            mask(self._basic)
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.style = style
        self.scope = scope
        self.extra_headers = dict(extra_headers or {})
        super().__init__(renew_before_s, clock)
        self.session = session or requests.Session()
        self.timeout = timeout
        self.limiter = limiter
        self.tokens_fetched = 0  # token endpoint calls that gave a token, by this instance
        self.tokens_shared = 0  # tokens taken from the store instead
        self.renewed_by_another = 0  # of those: found after waiting for another process's renewal
        self._store_source = store
        self._store: TokenStore | None = None
        self._store_checked = store is None

    @property
    def fingerprint(self) -> str:
        """A digest of everything that decides whose token it is (never the secret itself)."""
        parts = [self.token_url, self.client_id, self._client_secret, self.scope or "",
                 *(f"{k}={v}" for k, v in sorted(self.extra_headers.items()))]
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()

    def invalidate(self) -> None:
        """The server refused the token: mark it in the store (a newer one stored meanwhile is
        not touched: the mark names this token) and forget it here."""
        with self._lock:
            refused, self._token, self._expires_at = self._token, None, 0.0
            if refused is not None and self._store is not None:
                try:
                    self._store.mark_refused(refused)
                except _STORE_ERRORS as exc:
                    log.warning("could not mark the refused token of %s in the token store: %s", self.token_url, exc)

    def _renew(self) -> None:
        self._token = None
        store = self._shared()
        if store is None:
            self._use(*self._fetch())
            return
        try:
            self._renew_shared(store)
        except _STORE_ERRORS as exc:
            if self._token is not None:  # fetched and in hand: only storing it failed
                log.warning("token store: could not keep the token of %s for other processes: %s", self.token_url, exc)
                return
            log.warning("token store unavailable (%s): this process fetches its own token from %s", exc, self.token_url)
            self._use(*self._fetch())

    def _renew_shared(self, store: TokenStore) -> None:
        if self._adopt(store.read(unreadable_as_none=True), store):
            return
        with store.renewing(unreadable_as_none=True) as (current, save, count_call):
            if self._adopt(current, store):  # another process renewed while we waited for the lock
                self.renewed_by_another += 1
                return
            count_call()
            issued = self._wall(store)  # before asking: the token's stated lifetime runs from no later
            token, lifetime = self._fetch()
            self._use(token, lifetime)
            save(None, token, issued + timedelta(seconds=lifetime), issued_at=issued)

    def _adopt(self, stored: StoredTokens | None, store: TokenStore) -> bool:
        """Use the stored token if it is valid for more than the renewal margin."""
        if stored is None or not stored.access_token or stored.refused or stored.access_expires_at is None:
            return False
        lifetime = ((stored.access_expires_at - stored.issued_at).total_seconds()
                    if stored.issued_at is not None else self.renew_before_s * 2)
        left = (stored.access_expires_at - self._wall(store)).total_seconds() - self._margin(lifetime)
        if left <= 0:
            return False
        mask(stored.access_token)
        self._token, self._expires_at = stored.access_token, self._now_s() + left
        self.tokens_shared += 1
        return True

    def _wall(self, store: TokenStore) -> datetime:
        return self.clock() if self.clock is not None else store.now()

    def _shared(self) -> TokenStore | None:
        """The token store, looked up on first use (None: this process's own token)."""
        if not self._store_checked:
            self._store_checked = True
            try:
                self._store = self._store_source(self.fingerprint) if self._store_source else None
            except _STORE_ERRORS as exc:
                log.warning("token store unavailable (%s): this process fetches its own token from %s",
                            exc, self.token_url)
        return self._store

    def _fetch(self) -> tuple[str, float]:
        """Ask the token endpoint: ``(access token, lifetime in seconds)``, the token masked."""
        form = {"grant_type": "client_credentials"}
        headers = {"Accept": "application/json", **self.extra_headers}
        if self._basic is not None:
            headers["Authorization"] = "Basic " + self._basic
        else:
            form |= {"client_id": self.client_id, "client_secret": self._client_secret}
        if self.scope:
            form["scope"] = self.scope
        if self.limiter is not None:
            self.limiter.acquire()
        try:
            resp = self.session.post(self.token_url, data=form, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise NetworkError(f"token request to {self.token_url} failed: {exc}") from exc
        if resp.status_code == 429:
            raise RateLimitedError("token endpoint rate limited", retry_after=_retry_after(resp))
        if resp.status_code >= 500:
            raise ServerError(f"token endpoint answered {resp.status_code}")
        if resp.status_code != 200:
            raise AuthError(f"token request refused ({resp.status_code}): {_oauth_error(resp)}")
        body = resp.json()
        token = body["access_token"]
        mask(token)  # before anything else can see it
        self.tokens_fetched += 1
        return token, float(body.get("expires_in") or 3600)


def _oauth_error(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:300]
    if isinstance(body, dict):
        return str(body.get("error_description") or body.get("error") or body.get("message") or body)
    return str(body)


def _retry_after(resp: requests.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
