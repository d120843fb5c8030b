"""OAuth2 client-credentials tokens, as Tribe's ORY Hydra issues them, on the simulator clock."""
from __future__ import annotations

import base64
import binascii
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import unquote_plus

from sandbox.common import Clock
from sandbox.tribe.errors import OAuthError, ODataError

__all__ = ["TokenAuthority"]

_KNOWN_SCOPES = {"read", "write", "offline", "offline_access", "openid"}
_DEFAULT_SCOPE = "read write"


@dataclass(frozen=True)
class _Token:
    client_id: str
    scope: str
    expires_at: datetime


class TokenAuthority:
    """Registered clients and the bearer tokens issued to them.

    Args:
        clock: Expiry is measured on this clock, so tests can advance past it.
        ttl_s: Token lifetime in seconds (``expires_in``).
    """

    def __init__(self, clock: Clock, ttl_s: int = 3600) -> None:
        self.clock = clock
        self.ttl_s = ttl_s
        self.clients: dict[str, str] = {}
        self.issued = 0
        self._tokens: dict[str, _Token] = {}
        self._lock = threading.Lock()

    def add_client(self, client_id: str, client_secret: str) -> None:
        with self._lock:
            self.clients[client_id] = client_secret

    def issue(self, form: dict[str, str], authorization: str | None) -> dict[str, object]:
        """Handle one token request.

        Args:
            form: The decoded ``application/x-www-form-urlencoded`` body.
            authorization: The ``Authorization`` header, for HTTP Basic client auth.

        Returns:
            ``{"access_token", "token_type": "bearer", "expires_in", "scope"}``.

        Raises:
            OAuthError: Hydra-style error (invalid_request, unsupported_grant_type,
                invalid_client, invalid_scope).
        """
        grant = form.get("grant_type")
        if not grant:
            raise OAuthError(400, "invalid_request", "The request is missing the 'grant_type' parameter.")
        if grant != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type",
                             f"The grant type '{grant}' is not supported by this client.",
                             "Use grant_type=client_credentials.")
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            client_id, client_secret = _basic(authorization)
        with self._lock:
            known = client_id is not None and self.clients.get(client_id)
        if not known or not client_secret or not secrets.compare_digest(known, client_secret):
            raise OAuthError(401, "invalid_client", "Client authentication failed (unknown client, wrong "
                             "secret or no client authentication included).")
        scope = " ".join(form.get("scope", "").split()) or _DEFAULT_SCOPE
        unknown = set(scope.split()) - _KNOWN_SCOPES
        if unknown:
            raise OAuthError(400, "invalid_scope", f"The requested scope is invalid: {' '.join(sorted(unknown))}.")
        token = secrets.token_urlsafe(32)
        with self._lock:
            expiry = self.clock.now() + timedelta(seconds=self.ttl_s)
            self._tokens[token] = _Token(client_id, scope, expiry)
            self.issued += 1
        return {"access_token": token, "token_type": "bearer", "expires_in": self.ttl_s, "scope": scope}

    def client_for(self, token: str | None) -> str | None:
        """Return the client of a live token, or None (missing, unknown or expired)."""
        if not token:
            return None
        with self._lock:
            entry = self._tokens.get(token)
        if entry is None:
            return None
        if entry.expires_at <= self.clock.now():
            with self._lock:
                self._tokens.pop(token, None)
            return None
        return entry.client_id

    def require(self, token: str | None) -> str:
        """Like ``client_for`` but raises the API's 401."""
        client = self.client_for(token)
        if client is None:
            reason = "is missing" if not token else "is invalid or has expired"
            raise ODataError(401, "Unauthorized", f"The access token {reason}",
                             {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return client

    def revoke_all(self) -> None:
        with self._lock:
            self._tokens.clear()


def _basic(header: str) -> tuple[str | None, str | None]:
    try:
        raw = base64.b64decode(header.split(None, 1)[1]).decode()
    except (binascii.Error, UnicodeDecodeError, IndexError):
        return None, None
    client_id, _, secret = raw.partition(":")
    return unquote_plus(client_id), unquote_plus(secret)  # RFC 6749 form-encodes both parts
