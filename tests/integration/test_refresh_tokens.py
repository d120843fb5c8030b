"""Rotating single-use refresh tokens (as Exact Online issues them) kept in the link database:
encrypted, the new one saved before it is used, the next run continuing from the stored one,
and two workers never spending one refresh token twice."""
from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from fastapi import FastAPI, Form
from fastapi.responses import JSONResponse

from sandbox.common import ServerThread
from tribe_operators.exceptions import AuthError
from tribe_operators.http.refresh import RefreshTokenAuth
from tribe_operators.store.schema import oauth_token
from tribe_operators.store.tokens import TokenStore

pytestmark = pytest.mark.postgres
KEY = Fernet.generate_key().decode()


class Issuer:
    """A token endpoint with single-use refresh tokens: each use kills the old one."""

    def __init__(self) -> None:
        self.live = {"first-refresh"}
        self.used: set[str] = set()
        self.refreshes = 0
        self.refused = 0
        self._n = itertools.count(1)
        self.lock = threading.Lock()

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/api/oauth2/token")
        def token(grant_type: str = Form(), refresh_token: str = Form(), client_id: str = Form(),
                  client_secret: str = Form()) -> JSONResponse:
            with self.lock:
                if grant_type != "refresh_token" or refresh_token not in self.live or client_secret != "s3cret":
                    self.refused += 1
                    if refresh_token in self.used:  # as Exact answers a replay (picqer#644)
                        return JSONResponse({"error": "unauthorized_client",
                                             "error_description": "Old refresh token used."}, status_code=401)
                    return JSONResponse({"error": "invalid_grant"}, status_code=400)
                self.live.discard(refresh_token)
                self.used.add(refresh_token)
                n = next(self._n)
                self.live.add(f"refresh-{n}")
                self.refreshes += 1
            return JSONResponse({"access_token": f"access-{n}", "refresh_token": f"refresh-{n}",
                                 "expires_in": "600", "token_type": "bearer"})

        return app


@pytest.fixture
def issuer() -> Iterator[tuple[Issuer, str]]:
    issuer = Issuer()
    with ServerThread(issuer.app()) as server:
        yield issuer, server.url + "/api/oauth2/token"


def _auth(link_db: Any, url: str, initial: str = "first-refresh") -> RefreshTokenAuth:
    return RefreshTokenAuth(url, "app-id", "s3cret", TokenStore(link_db, "exact_default", keys=KEY),
                            initial_refresh_token=initial)


def test_the_rotated_token_is_stored_encrypted_and_the_next_run_continues_from_it(issuer, link_db):
    issuer_, url = issuer
    first = _auth(link_db, url)
    assert first.token() == "access-1"
    with link_db.connect() as conn:
        stored = conn.execute(sa.select(oauth_token.c.refresh_token, oauth_token.c.access_token)).one()
    assert "refresh-1" not in stored.refresh_token and "access-1" not in stored.access_token  # encrypted
    # The access token in the store is still valid: the next process asks nothing.
    assert _auth(link_db, url).token() == "access-1" and issuer_.refreshes == 1
    with link_db.begin() as conn:  # the stored access token expired; the connection's refresh token is spent
        conn.execute(sa.update(oauth_token).values(access_token=None))
    later = _auth(link_db, url)  # a later run, a new process: it must use refresh-1, not first-refresh
    assert later.token() == "access-2" and issuer_.refused == 0


def test_two_workers_at_once_spend_the_refresh_token_once(issuer, link_db):
    issuer_, url = issuer
    tokens: list[str] = []
    workers = [threading.Thread(target=lambda: tokens.append(_auth(link_db, url).token())) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert tokens == ["access-1"] * 4
    assert issuer_.refreshes == 1 and issuer_.refused == 0


def test_a_spent_refresh_token_says_what_to_do(issuer, link_db):
    _, url = issuer
    with pytest.raises(AuthError, match="authorize the app again"):
        _auth(link_db, url, initial="never-issued").token()


def test_a_store_without_a_fernet_key_refuses(link_db, monkeypatch):
    from tribe_operators.exceptions import FatalError

    monkeypatch.delenv("AIRFLOW__CORE__FERNET_KEY", raising=False)
    monkeypatch.setattr("tribe_operators.store.tokens._airflow_key", lambda: None)
    with pytest.raises(FatalError, match="fernet_key"):
        TokenStore(link_db, "exact_default")
