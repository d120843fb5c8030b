"""Users' credentials: passwords, API keys (scope ``rpc``, optional expiry) and web sessions.

As in Odoo: an API key works wherever RPC takes a password (the login stays the user's), and is
the only credential JSON-2 accepts (``Authorization: bearer <key>``); a user with two-factor
authentication may not use the password over RPC; a web session (``/web/session/authenticate``)
takes the password only, never a key.
"""
from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["ApiKey", "Credentials"]


@dataclass
class ApiKey:
    uid: int
    digest: str
    name: str
    scope: str | None = "rpc"
    expires: datetime | None = None  # naive UTC


@dataclass
class Credentials:
    """Passwords and API keys by user id, and the web sessions."""

    passwords: dict[int, str] = field(default_factory=dict)
    keys: list[ApiKey] = field(default_factory=list)
    totp_users: set[int] = field(default_factory=set)  # 2FA on: RPC needs an API key
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def _digest(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()  # keys are stored hashed, shown once

    def set_password(self, uid: int, password: str) -> None:
        self.passwords[uid] = password

    def add_key(self, uid: int, name: str = "tribe-sync", key: str | None = None, *,
                expires: datetime | None = None, scope: str | None = "rpc") -> str:
        """A new API key for ``uid`` (40 hex characters = 160 bits, like Odoo's)."""
        key = key or secrets.token_hex(20)
        with self._lock:
            self.keys.append(ApiKey(uid, self._digest(key), name, scope, expires))
        return key

    def revoke(self, key: str) -> bool:
        digest = self._digest(key)
        with self._lock:
            before = len(self.keys)
            self.keys = [k for k in self.keys if k.digest != digest]
            return len(self.keys) != before

    def key_user(self, key: str, now: datetime) -> int | None:
        """The user of a valid (unexpired) RPC key, else None."""
        if not isinstance(key, str) or not key:
            return None
        digest = self._digest(key)
        for entry in self.keys:
            if entry.digest == digest and entry.scope in ("rpc", None) and (entry.expires is None or entry.expires > now):
                return entry.uid
        return None

    def check(self, uid: int, secret: Any, now: datetime, *, allow_key: bool = True) -> bool:
        """``_check_credentials``: an API key of this user, else the password (unless 2FA)."""
        if not isinstance(secret, str) or not secret:
            return False
        if allow_key and self.key_user(secret, now) == uid:
            return True
        return uid not in self.totp_users and self.passwords.get(uid) == secret

    def open_session(self, data: dict[str, Any]) -> str:
        sid = secrets.token_hex(20)
        with self._lock:
            self.sessions[sid] = dict(data)
        return sid

    def session(self, sid: str | None) -> dict[str, Any] | None:
        return self.sessions.get(sid or "")

    def close_session(self, sid: str | None) -> None:
        with self._lock:
            self.sessions.pop(sid or "", None)
