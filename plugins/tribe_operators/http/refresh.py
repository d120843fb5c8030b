"""OAuth2 refresh-token grant with a token store: for vendors whose refresh token is single-use
and rotates on every renewal (Exact Online), so it must outlive the process that got it.

The first renewal uses the refresh token of the Airflow connection (what the app's
authorization-code flow gave); from then on the store's, which is the only live one. A renewal
happens under the store's lock: read, ask the token endpoint, save the new pair, commit — so a
crash after the answer loses nothing that was committed, and a second worker waits and then
uses the access token the first one stored instead of spending the refresh token again.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import requests

from tribe_operators.exceptions import AuthError, NetworkError, RateLimitedError, ServerError
from tribe_operators.http.auth import CachedBearer, mask

if TYPE_CHECKING:
    from tribe_operators.store.tokens import TokenStore

__all__ = ["RefreshTokenAuth"]


class RefreshTokenAuth(CachedBearer):
    """Bearer tokens from a rotating refresh token kept in ``store``.

    Args:
        token_url: The token endpoint.
        client_id / client_secret: The app's credentials (sent in the form body).
        store: Where the current refresh (and access) token is kept, encrypted.
        initial_refresh_token: The connection's, used only while the store holds none.
        renew_before_s: Renew this long before the access token's stated expiry.
    """

    def __init__(self, token_url: str, client_id: str, client_secret: str, store: TokenStore, *,
                 initial_refresh_token: str, renew_before_s: float = 30.0, session: requests.Session | None = None,
                 timeout: float = 30.0) -> None:
        super().__init__(renew_before_s)
        mask(client_secret)
        mask(initial_refresh_token)
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.store = store
        self._initial = initial_refresh_token
        self.session = session or requests.Session()
        self.timeout = timeout
        self.renewals = 0  # token endpoint calls made by this instance

    def _renew(self) -> None:
        with self.store.renewing() as (current, save):
            now = datetime.now(UTC)
            if (current is not None and current.access_token and current.access_expires_at is not None
                    and current.access_expires_at - timedelta(seconds=self.renew_before_s) > now):
                self._use(current.access_token, (current.access_expires_at - now).total_seconds())  # another's
                return
            refresh = current.refresh_token if current is not None else self._initial
            body = self._ask(refresh)
            access, new_refresh = body["access_token"], body.get("refresh_token") or refresh
            mask(access)
            mask(new_refresh)
            lifetime = float(body.get("expires_in") or 600)
            save(new_refresh, access, now + timedelta(seconds=lifetime))  # committed with the lock's release
            self.renewals += 1
            self._use(access, lifetime)

    def _ask(self, refresh: str) -> dict[str, str]:
        form = {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": self.client_id,
                "client_secret": self._client_secret}
        try:
            resp = self.session.post(self.token_url, data=form, headers={"Accept": "application/json"},
                                     timeout=self.timeout)
        except requests.RequestException as exc:
            raise NetworkError(f"token request to {self.token_url} failed: {exc}") from exc
        if resp.status_code == 429:
            raise RateLimitedError("token endpoint rate limited")
        if resp.status_code >= 500:
            raise ServerError(f"token endpoint answered {resp.status_code}")
        if resp.status_code != 200:
            raise AuthError(f"refresh token refused ({resp.status_code}: {resp.text[:200]}); the stored one is "
                            "spent or revoked — authorize the app again and put the new refresh token in the "
                            "connection")
        return resp.json()
