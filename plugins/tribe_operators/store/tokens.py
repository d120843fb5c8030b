"""OAuth tokens kept between runs, encrypted, renewed by one process at a time.

A vendor that rotates its refresh token on every use (Exact Online: the old one is dead the
moment a new one is issued) leaves nothing to retry with if the new token is lost, and two
workers refreshing at once invalidate each other. So the token lives in the link database,
encrypted with Airflow's own Fernet key (``[core] fernet_key``, the one that encrypts
connections; a comma-separated list rotates like Airflow's), and a renewal holds a lock (a
PostgreSQL advisory lock per connection and scope, which works before the first token is
stored) from reading the refresh token until the new one is committed: the second worker
waits, then finds a fresh access token and uses it. (SQLite, the demo's, takes its one write
lock at the start of the block: ``BEGIN IMMEDIATE``.)

A client-credentials token (PowerOffice Go, Tribe) has no refresh token, but fetching one per
task process costs a token call each: ``shared_token_store`` keeps it here too, under a key
naming the Airflow connection and a digest of its credentials (other keys, another row), with
an empty refresh token.
"""
from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from tribe_operators.exceptions import FatalError
from tribe_operators.store.schema import oauth_token
from tribe_operators.store.upsert import upsert

__all__ = ["CLIENT_CREDENTIALS", "ChainState", "StoredTokens", "TokenStore", "UndecryptableTokens", "shared_token_store",
           "token_hash"]

log = logging.getLogger(__name__)
CLIENT_CREDENTIALS = "client_credentials"  # the scope of client-credentials rows (no refresh token)


class UndecryptableTokens(FatalError):
    """The stored tokens cannot be decrypted with the current Fernet key."""


@dataclass(frozen=True)
class StoredTokens:
    refresh_token: str | None  # None: a client-credentials row
    access_token: str | None
    access_expires_at: datetime | None
    rotations: int
    issued_at: datetime | None = None  # the database's clock after the answer
    refused: bool = False  # the server refused this access token: never send it again
    calls_today: int = 0  # token endpoint calls on this UTC day


@dataclass(frozen=True)
class ChainState:
    """What may be shown of a token chain (the page): its key, its clock and its counts — read
    without a token column, so nothing is decrypted and no token can leak into it."""

    chain: str  # whose chain (the store's conn_id: an app at a vendor, no secret)
    scope: str
    issued_at: datetime | None  # the current access token's, by the database's clock
    access_expires_at: datetime | None
    rotations: int
    calls_today: int  # token endpoint calls on this UTC day
    updated_at: datetime | None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _fernet(keys: str | None = None) -> MultiFernet:
    raw = keys if keys is not None else os.environ.get("AIRFLOW__CORE__FERNET_KEY") or _airflow_key()
    parts = [k.strip() for k in (raw or "").split(",") if k.strip()]
    if not parts:
        raise FatalError("no Fernet key to encrypt stored tokens with: set Airflow's [core] fernet_key "
                         "(AIRFLOW__CORE__FERNET_KEY)")
    return MultiFernet([Fernet(k.encode()) for k in parts])


def _airflow_key() -> str | None:
    try:
        from airflow.configuration import conf

        return conf.get("core", "fernet_key", fallback=None)
    except Exception:  # noqa: BLE001 - outside Airflow: only the environment variable
        return None


class TokenStore:
    """The stored tokens of one connection (and scope)."""

    def __init__(self, engine: sa.Engine, conn_id: str, scope: str = "default", *, keys: str | None = None) -> None:
        self.engine = engine
        self.key = {"conn_id": conn_id, "scope": scope}
        self._fernet = _fernet(keys)

    @contextmanager
    def renewing(self, *, unreadable_as_none: bool = False,
                 ) -> Iterator[tuple[StoredTokens | None, Callable[..., None], Callable[[], None]]]:
        """``with store.renewing() as (current, save, count_call):`` — the row is locked for the
        block; ``save(refresh, access, expires_at, issued_at=None)`` writes the renewal and
        ``count_call()`` counts a token endpoint call, both in the same transaction.
        ``unreadable_as_none``: a row the Fernet key cannot decrypt is as good as none (a
        client-credentials token: the next one replaces it), not an error."""
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # held until commit; works before the row exists
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                             {"key": f"oauth_token:{self.key['conn_id']}:{self.key['scope']}"})
            elif conn.dialect.name == "sqlite":  # the write lock now, not at the first write
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            row = conn.execute(sa.select(oauth_token).where(*self._where())).first()
            current = self._decrypt(row, unreadable_as_none) if row is not None else None
            today = datetime.now(UTC).date()
            calls = [current.calls_today if current else 0, False]  # [count, counted in this block]

            def count_call() -> None:
                calls[0], calls[1] = calls[0] + 1, True

            def save(refresh: str | None, access: str | None, expires_at: datetime | None,
                     issued_at: datetime | None = None) -> None:
                # No refresh token (client credentials): "" (the column is NOT NULL; no Fernet token is empty).
                upsert(conn, oauth_token, [{**self.key, "refresh_token": self._encrypt(refresh) if refresh else "",
                                            "access_token": self._encrypt(access) if access else None,
                                            "access_expires_at": expires_at, "issued_at": issued_at,
                                            "refused_access_hash": None,
                                            "rotations": (current.rotations + 1) if current else 1,
                                            "calls_day": today, "calls": calls[0], "updated_at": datetime.now(UTC)}],
                       conflict=list(self.key), update=["refresh_token", "access_token", "access_expires_at",
                                                        "issued_at", "refused_access_hash", "rotations",
                                                        "calls_day", "calls", "updated_at"])
                calls[1] = False

            yield current, save, count_call
            if calls[1] and row is not None:  # a call that did not renew (refused, too early) counts too
                conn.execute(sa.update(oauth_token).where(*self._where()).values(calls_day=today, calls=calls[0]))

    def now(self) -> datetime:
        """The database's clock: one clock for every worker (a token's age is judged by it)."""
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                return conn.execute(sa.text("SELECT clock_timestamp()")).scalar_one()
        return datetime.now(UTC)

    def mark_refused(self, access_token: str) -> None:
        """The server refused this access token: no worker sends it again (it waits for a new one)."""
        with self.engine.begin() as conn:
            conn.execute(sa.update(oauth_token).where(*self._where()).values(refused_access_hash=token_hash(access_token)))

    def state(self) -> ChainState | None:
        """The chain's clock and counts, no token (None before the first is stored)."""
        c = oauth_token.c
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(c.conn_id, c.scope, c.issued_at, c.access_expires_at, c.rotations,
                                         c.calls_day, c.calls, c.updated_at).where(*self._where())).first()
        if row is None:
            return None
        return ChainState(row.conn_id, row.scope, _aware(row.issued_at), _aware(row.access_expires_at),
                          int(row.rotations), _calls_today(row), _aware(row.updated_at))

    def read(self, *, unreadable_as_none: bool = False) -> StoredTokens | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(oauth_token).where(*self._where())).first()
        return self._decrypt(row, unreadable_as_none) if row is not None else None

    def _where(self) -> list[Any]:
        return [oauth_token.c[k] == v for k, v in self.key.items()]

    def _encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def _decrypt(self, row: sa.Row, unreadable_as_none: bool = False) -> StoredTokens | None:
        try:
            refresh = self._fernet.decrypt(row.refresh_token.encode()).decode() if row.refresh_token else None
            access = self._fernet.decrypt(row.access_token.encode()).decode() if row.access_token else None
        except InvalidToken as exc:
            if unreadable_as_none:
                log.warning("the stored token of %s cannot be decrypted with the current Fernet key: replacing it",
                            self.key["conn_id"])
                return None
            raise UndecryptableTokens(f"the stored tokens of {self.key['conn_id']!r} cannot be decrypted with the "
                             "current Fernet key (rotated without keeping the old one?)") from exc
        return StoredTokens(refresh, access, _aware(row.access_expires_at), int(row.rotations),
                            issued_at=_aware(row.issued_at),
                            refused=bool(access and row.refused_access_hash == token_hash(access)),
                            calls_today=_calls_today(row))


def shared_token_store(name: str, fingerprint: str, engine: sa.Engine | None = None) -> TokenStore | None:
    """Where the client-credentials token of connection ``name`` (whose credentials digest to
    ``fingerprint``) is shared: the link database (connection ``tribe_sync_db``), or None when
    there is none or no Fernet key — a hook used on its own then fetches its own token, as before."""
    if engine is None:
        from airflow.sdk.exceptions import AirflowNotFoundException

        from tribe_operators.store.engine import DEFAULT_CONN_ID, engine_for

        try:
            engine = engine_for()
        except AirflowNotFoundException:
            log.info("no %s connection: the access token of %s is this process's own", DEFAULT_CONN_ID, name)
            return None
    try:
        return TokenStore(engine, f"{name[:200]}|{fingerprint[:24]}", CLIENT_CREDENTIALS)
    except FatalError as exc:  # no Fernet key: never store a token in clear
        log.warning("the access token of %s is not shared between processes: %s", name, exc)
        return None


def _calls_today(row: Any) -> int:
    """The row's token endpoint calls if they were counted on this UTC day, else none yet."""
    return int(row.calls or 0) if row.calls_day == datetime.now(UTC).date() else 0


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value
