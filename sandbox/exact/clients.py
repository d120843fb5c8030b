"""A running simulator for tests and demos, plus a thin caller that sends exactly what goes over
the wire (no client library in between).

    with ExactServer() as exact:                      # seeded, http://127.0.0.1:<free port>
        tokens = exact.authorize_and_exchange()       # the whole authorization-code flow
        exact.get("crm/Accounts", tokens["access_token"], params={"$filter": "Blocked eq false"})
    with ExactServer(tls=True) as exact:              # https with a throwaway CA: exact.ca.ca_file
        ...
"""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from sandbox.common import ServerThread
from sandbox.exact.app import create_app
from sandbox.exact.seed import NL, seed
from sandbox.exact.state import ExactState

__all__ = ["REDIRECT_URI", "ExactServer"]

REDIRECT_URI = "https://localhost/exact/callback"


class ExactServer:
    """An ``ExactState`` served on a free port for the duration of a ``with`` block.

    Args:
        state: The state to serve (a new one when omitted).
        tls: Serve HTTPS with a test CA (``self.ca``; ``trustme`` must be installed).
        seeded: Seed a new state with the demo divisions.
        **options: ``ExactOptions`` fields for a new state (``refresh_mode="strict"``, ``daily_limit=120``).
    """

    def __init__(self, state: ExactState | None = None, *, tls: bool = False, seeded: bool = True,
                 **options: Any) -> None:
        self.state = state or ExactState(**options)
        if state is None and seeded:
            seed(self.state)
        self.ca = None
        if tls:
            from sandbox.common.tls import TestCA, TlsServerThread

            self.ca = TestCA.create()
            self._thread: ServerThread = TlsServerThread(create_app(self.state), self.ca)
        else:
            self._thread = ServerThread(create_app(self.state))
        self.http = requests.Session()
        # Passed on every call: a session's verify loses to REQUESTS_CA_BUNDLE in the environment.
        self.verify: bool | str = str(self.ca.ca_file) if self.ca is not None else True

    def __enter__(self) -> ExactServer:
        self._thread.start()
        self.state.base_url = self.url
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()
        self.state.webhooks.clear()
        self._thread.stop()
        if self.ca is not None:
            self.ca.remove()

    @property
    def url(self) -> str:
        return self._thread.url

    def api(self, division: int | None = NL) -> str:
        return f"{self.url}/api/v1/{division}"

    # ---- OAuth ---------------------------------------------------------------------------
    def authorize(self, redirect_uri: str = REDIRECT_URI, state: str | None = None) -> str:
        """Walk the auth page (test mode consents at once) and return the ``code`` from the redirect."""
        params = {"client_id": self.state.client_id, "redirect_uri": redirect_uri, "response_type": "code",
                  **({"state": state} if state else {})}
        response = self.http.get(f"{self.url}/api/oauth2/auth", params=params, allow_redirects=False, timeout=10,
                                 verify=self.verify)
        assert response.status_code == 302, response.text
        return parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]

    def token(self, **form: str) -> requests.Response:
        """POST the token endpoint with the app's credentials in the form (override any field)."""
        data = {"client_id": self.state.client_id, "client_secret": self.state.client_secret, **form}
        return self.http.post(f"{self.url}/api/oauth2/token", data=data, timeout=10, verify=self.verify)

    def exchange(self, code: str, redirect_uri: str = REDIRECT_URI) -> requests.Response:
        return self.token(grant_type="authorization_code", code=code, redirect_uri=redirect_uri)

    def refresh(self, refresh_token: str) -> requests.Response:
        return self.token(grant_type="refresh_token", refresh_token=refresh_token)

    def authorize_and_exchange(self, redirect_uri: str = REDIRECT_URI) -> dict[str, str]:
        response = self.exchange(self.authorize(redirect_uri), redirect_uri)
        assert response.status_code == 200, response.text
        return response.json()

    # ---- REST ----------------------------------------------------------------------------
    def call(self, method: str, path: str, token: str, *, division: int | None = NL, json: Any = None,
             params: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> requests.Response:
        """``path`` relative to ``/api/v1/{division}/`` (or an absolute ``__next`` URL)."""
        url = path if path.startswith(("http://", "https://")) else f"{self.api(division)}/{path}"
        merged = {"Authorization": f"Bearer {token}", "Accept": "application/json", **(headers or {})}
        return self.http.request(method, url, json=json, params=params, headers=merged, timeout=10,
                                 verify=self.verify)

    def get(self, path: str, token: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, token, **kwargs)

    def post(self, path: str, token: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.call("POST", path, token, json=body, **kwargs)
