"""OAuth2 refresh-token grant with a token store: for vendors whose refresh token is single-use
and rotates on every renewal (Exact Online), so it must outlive the process that got it.

One connection is one token chain, kept in the store (encrypted) and renewed under the store's
lock: read, ask the token endpoint, save the new pair, commit — a second worker waits, then uses
what the first stored instead of spending the refresh token again. The rules of the strictest
such vendor (Exact), each a parameter here so the core names no vendor:

* a new access token only ``min_interval_s`` after the last (Exact: 570 s, and every early
  request counts toward its error block). The age is judged by the store's clock (the
  database's, one for every worker), read *after* the answer, so the round trip never makes
  us early; a refusal "too early" anyway is a wait and a re-read of the store, never an error;
* an access token the server refused is marked in the store and never sent again by anyone;
  a new one is fetched when the rule allows (until then, the request waits);
* a refresh token refused as already used is re-read from the store once (another chain may
  have moved on) before the answer is "authorize the app again";
* token endpoint calls are counted per UTC day in the store (Exact allows 200).

The connection's refresh token is only a bootstrap: once the store holds one, it leads.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import requests

from tribe_operators.exceptions import AuthError, NetworkError, RateLimitedError, ServerError
from tribe_operators.http.auth import CachedBearer, mask

if TYPE_CHECKING:
    from tribe_operators.store.tokens import StoredTokens, TokenStore

__all__ = ["RefreshTokenAuth"]

log = logging.getLogger(__name__)
_TOO_EARLY = ("TooEarlyToRefreshTokens", "not expired")
_REPLAYED = "Old refresh token used"


class _TooEarly(Exception):
    pass


class _Replayed(Exception):
    pass


class RefreshTokenAuth(CachedBearer):
    """Bearer tokens from a rotating refresh token kept in ``store``.

    Args:
        token_url: The token endpoint.
        client_id / client_secret: The app's credentials (sent in the form body).
        store: Where the current refresh (and access) token is kept, encrypted.
        initial_refresh_token: The connection's, used only while the store holds none.
        renew_before_s: Renew this long before the access token's stated expiry.
        min_interval_s: The server refuses a new access token sooner than this after the last.
        margin_s: Added to ``min_interval_s`` (clocks differ a little; the answer took time).
        too_early_wait_s: How long to wait after a refusal "too early" before asking again.
        max_wait_s: Give up (AuthError) when no token could be had for this long.
        clock / sleep: The store's clock and ``time.sleep`` unless given (tests move time).
    """

    def __init__(self, token_url: str, client_id: str, client_secret: str, store: TokenStore, *,
                 initial_refresh_token: str | None = None, renew_before_s: float = 30.0, min_interval_s: float = 0.0,
                 margin_s: float = 5.0, too_early_wait_s: float = 10.0, max_wait_s: float = 700.0,
                 session: requests.Session | None = None, timeout: float = 30.0, calls_per_day: int | None = None,
                 clock: Callable[[], datetime] | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(renew_before_s)
        self.calls_per_day = calls_per_day  # the vendor's token calls a day, where it has a limit (shown)
        mask(client_secret)
        if initial_refresh_token:
            mask(initial_refresh_token)
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.store = store
        self._initial = initial_refresh_token
        self.session = session or requests.Session()
        self.timeout = timeout
        self.min_interval_s, self.margin_s = min_interval_s, margin_s
        self.too_early_wait_s, self.max_wait_s = too_early_wait_s, max_wait_s
        self.now = clock or store.now
        self._sleep = sleep
        self._renew_at: datetime | None = None
        self.renewals = 0  # token endpoint calls that gave a token, by this instance
        self.too_early = 0  # refusals "too early" this instance got
        self._replay_reread = False

    # ---- the cached token ------------------------------------------------------------------
    def token(self) -> str:
        """A valid access token: the cached one, the store's, or a new one when the rules allow
        (waiting until they do)."""
        with self._lock:
            waited = 0.0
            while True:
                if self._token is not None and self._renew_at is not None and self.now() < self._renew_at:
                    return self._token
                wait = self._renew()
                if wait <= 0:
                    assert self._token is not None
                    return self._token
                if waited + wait > self.max_wait_s:
                    raise AuthError(f"no access token from {self.token_url} after waiting {waited:.0f} s; the token "
                                    "endpoint keeps refusing a renewal")
                log.info("access token: waiting %.0f s before asking %s again (it allows one renewal per %.0f s)",
                         wait, self.token_url, self.min_interval_s)
                self._sleep(wait)
                waited += wait

    def invalidate(self) -> None:
        """The server refused the access token we sent: mark it in the store so that no worker
        sends it again, and forget it here."""
        with self._lock:
            if self._token is not None:
                self.store.mark_refused(self._token)
            self._token, self._renew_at = None, None

    def _renew_time(self, stored: StoredTokens) -> datetime | None:
        """When a stored access token is to be renewed (a row from before ``issued_at`` was
        kept: a little before its expiry)."""
        if stored.access_expires_at is None:
            return None
        if stored.issued_at is None:
            return stored.access_expires_at - timedelta(seconds=self.renew_before_s)
        lifetime = (stored.access_expires_at - stored.issued_at).total_seconds()
        return self._renew_time_of(stored.issued_at, lifetime)

    def _keep(self, token: str, renew_at: datetime) -> None:
        mask(token)
        self._token, self._renew_at = token, renew_at
        self._expires_at = float("inf")  # CachedBearer's own clock is not used here

    # ---- one renewal, under the store's lock ------------------------------------------------
    def _renew(self) -> float:
        """Use the store's token, or renew it; returns 0 when a token is in hand, else how many
        seconds to wait before trying again."""
        with self.store.renewing() as (current, save, count_call):
            now = self.now()
            if current is not None and current.access_token and not current.refused:
                renew_at = self._renew_time(current)
                if renew_at is not None and now < renew_at:
                    self._keep(current.access_token, renew_at)  # another worker's, or ours from before
                    return 0
            earliest = self._earliest(current)
            if earliest is not None and now < earliest:
                return (earliest - now).total_seconds()  # refused young, or renewed too recently
            refresh = current.refresh_token if current is not None else self._initial
            if not refresh:
                raise AuthError(f"no refresh token for {self.token_url}: authorize the app first "
                                "(tribe-sync oauth authorize)")
            count_call()
            try:
                body = self._ask(refresh)
            except _TooEarly:
                self.too_early += 1
                return self.too_early_wait_s
            except _Replayed as exc:
                if self._replay_reread:
                    raise AuthError(f"{self.token_url}: {exc}: the stored refresh token was already used "
                                    "(another copy of this connection's token chain?); authorize the app again "
                                    "(tribe-sync oauth authorize)") from exc
                self._replay_reread = True  # another worker may have stored its successor: read again once
                return 0.5
            issued = self.now()  # after the answer: the round trip never makes the next renewal early
            access, new_refresh = body["access_token"], body.get("refresh_token") or refresh
            mask(access)
            mask(new_refresh)
            lifetime = float(body.get("expires_in") or 600)
            save(new_refresh, access, issued + timedelta(seconds=lifetime), issued_at=issued)
            self.renewals += 1
            self._replay_reread = False
            self._keep(access, self._renew_time_of(issued, lifetime))
            return 0

    def _renew_time_of(self, issued: datetime, lifetime: float) -> datetime:
        """Shortly before the token's end, never before the server allows a new one."""
        renew = issued + timedelta(seconds=max(lifetime - self.renew_before_s, lifetime / 2))
        if self.min_interval_s:
            renew = max(renew, issued + timedelta(seconds=self.min_interval_s + self.margin_s))
        return min(renew, issued + timedelta(seconds=lifetime))

    def _earliest(self, current: StoredTokens | None) -> datetime | None:
        if current is None or current.issued_at is None or not self.min_interval_s:
            return None
        return current.issued_at + timedelta(seconds=self.min_interval_s + self.margin_s)

    def _ask(self, refresh: str) -> dict[str, Any]:
        form = {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": self.client_id,
                "client_secret": self._client_secret}
        try:
            resp = self.session.post(self.token_url, data=form, headers={"Accept": "application/json"},
                                     timeout=self.timeout)
        except requests.RequestException as exc:
            raise NetworkError(f"token request to {self.token_url} failed: {exc}") from exc
        text = resp.text[:300]
        if resp.status_code in (400, 401) and (resp.headers.get("Reason") in _TOO_EARLY
                                               or any(t in text for t in _TOO_EARLY)):
            raise _TooEarly(text)
        if resp.status_code == 401 and _REPLAYED in text:
            raise _Replayed(_REPLAYED)
        if resp.status_code == 429:
            raise RateLimitedError("token endpoint rate limited (its calls per day are spent?)")
        if resp.status_code >= 500:
            raise ServerError(f"token endpoint answered {resp.status_code}")
        if resp.status_code != 200:
            raise AuthError(f"refresh token refused ({resp.status_code}: {text}); the stored one is spent, "
                            "expired or revoked: authorize the app again (tribe-sync oauth authorize)")
        return resp.json()
