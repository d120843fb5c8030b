"""OAuth2 authorization-code grant, once, by a person: for vendors with no client-credentials
grant (Exact Online), whose backend can only start from a human consent.

The person opens :meth:`AuthorizationCode.url`, consents, and pastes the URL the browser was
sent to; :meth:`complete` takes the code out of it and exchanges it at once (codes are
single-use and live minutes), and the first token pair goes straight into the encrypted token
store (never into the Airflow connection), stamped with the store's clock after the answer —
from there ``http.refresh.RefreshTokenAuth`` keeps the chain going.
"""
from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from tribe_operators.exceptions import AuthError, NetworkError
from tribe_operators.http.auth import mask

if TYPE_CHECKING:
    from tribe_operators.store.tokens import TokenStore

__all__ = ["AuthorizationCode"]


class AuthorizationCode:
    """One authorization of an app by a person.

    Args:
        auth_url / token_url: The vendor's endpoints.
        client_id / client_secret: The app's credentials (sent in the form body).
        redirect_uri: As registered for the app (sent with both requests).
        store: Where the first tokens go (encrypted).
    """

    def __init__(self, auth_url: str, token_url: str, client_id: str, client_secret: str, redirect_uri: str,
                 store: TokenStore, *, session: requests.Session | None = None, timeout: float = 30.0) -> None:
        mask(client_secret)
        self.auth_url, self.token_url = auth_url, token_url
        self.client_id, self._client_secret = client_id, client_secret
        self.redirect_uri = redirect_uri
        self.store = store
        self.session = session or requests.Session()
        self.timeout = timeout
        self.state = secrets.token_urlsafe(16)

    def url(self) -> str:
        """Where the person consents (the ``state`` ties the answer to this authorization)."""
        query = {"client_id": self.client_id, "redirect_uri": self.redirect_uri, "response_type": "code",
                 "state": self.state}
        return f"{self.auth_url}?{urlencode(query)}"

    def code_from(self, callback_url: str, *, check_state: bool = True) -> str:
        """The code in the URL the browser was sent to (URL-decoded: Exact's contain ``!``)."""
        query = parse_qs(urlsplit(callback_url.strip()).query)
        if "error" in query:
            raise AuthError(f"the authorization was refused: {query['error'][0]} "
                            f"{query.get('error_description', [''])[0]}".strip())
        if "code" not in query:
            raise AuthError("the pasted URL holds no 'code': paste the whole address the browser was sent to "
                            "after consenting")
        if check_state and query.get("state", [None])[0] != self.state:
            raise AuthError("the pasted URL belongs to another authorization (its 'state' differs): open the URL "
                            "printed above and paste where that one leads")
        return query["code"][0]

    def complete(self, callback_url: str, *, check_state: bool = True) -> None:
        """Exchange the code and store the first tokens; an AuthError says what went wrong."""
        code = self.code_from(callback_url, check_state=check_state)
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
                "client_id": self.client_id, "client_secret": self._client_secret}
        with self.store.renewing() as (_current, save, count_call):
            count_call()
            try:
                resp = self.session.post(self.token_url, data=form, headers={"Accept": "application/json"},
                                         timeout=self.timeout)
            except requests.RequestException as exc:
                raise NetworkError(f"token request to {self.token_url} failed: {exc}") from exc
            if resp.status_code != 200:
                raise AuthError(f"the code was refused ({resp.status_code}: {_description(resp)}). A code works "
                                "once and for a few minutes: open the authorization URL again and paste the new "
                                "address at once")
            body = resp.json()
            issued = self.store.now()
            access, refresh = body["access_token"], body["refresh_token"]
            mask(access)
            mask(refresh)
            save(refresh, access, issued + timedelta(seconds=float(body.get("expires_in") or 600)), issued_at=issued)


def _description(resp: requests.Response) -> str:
    try:
        body: Any = resp.json()
    except ValueError:
        return resp.text[:200]
    if isinstance(body, dict):
        return str(body.get("error_description") or body.get("error") or body)[:200]
    return str(body)[:200]
