"""Authentication as small request callables (``requests.auth.AuthBase``).

The token is applied on every attempt, so a retry after a 401 carries a fresh one.
Fetched tokens go through ``mask_secret`` before anything can log them.
"""
from __future__ import annotations

import base64
import threading
import time
from typing import TYPE_CHECKING

import requests
from requests.auth import AuthBase

from tribe_operators.exceptions import AuthError, NetworkError, RateLimitedError, ServerError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tribe_operators.http.pacing import RateLimiter

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

    def __init__(self, renew_before_s: float) -> None:
        self.renew_before_s = renew_before_s
        self._token: str | None = None
        self._expires_at = 0.0  # monotonic
        self._lock = threading.Lock()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request

    def token(self) -> str:
        """Return a valid access token, fetching a new one when missing or about to expire."""
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
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
        self._expires_at = time.monotonic() + max(1.0, lifetime_s - min(self.renew_before_s, lifetime_s / 2))

    def _renew(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class ClientCredentialsAuth(CachedBearer):
    """OAuth2 client-credentials grant with a cached, proactively renewed bearer token.

    (Every auth method has one shape: ``session``, ``__call__``, ``invalidate()``, ``refreshable``.)

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
        super().__init__(renew_before_s)
        self.session = session or requests.Session()
        self.timeout = timeout
        self.limiter = limiter
        self.tokens_fetched = 0

    def _renew(self) -> None:
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
        self._use(body["access_token"], float(body.get("expires_in") or 3600))
        self.tokens_fetched += 1


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
