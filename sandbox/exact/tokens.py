"""Exact's OAuth rules without HTTP: codes, grants, rotating refresh tokens, access tokens.

A grant is one app × user consent with its division scope. Its refresh tokens form a tree: each
refresh adds a child to the token presented. Using a node kills every node outside its subtree
(so when a fork's one branch is used, the other dies: picqer#460); in strict mode the node
itself dies at once, in grace mode only when its successor is used (INV-1419).
"""
from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sandbox.common.fixedwindow import UTC_DAY, FixedWindow, FixedWindowBudget
from sandbox.exact.errors import OAuthError
from sandbox.exact.options import ExactOptions

__all__ = ["AccessToken", "Grant", "TokenAuthority"]


@dataclass
class Grant:
    id: str
    client_id: str
    user_id: str
    divisions: frozenset[int]
    last_issued: float = 0.0
    alive: bool = True


@dataclass
class RefreshNode:
    token: str
    grant: Grant
    parent: RefreshNode | None
    issued_at: float  # when it (and its access token) were handed out
    dead: bool = False
    children: list[RefreshNode] = field(default_factory=list)


@dataclass
class AccessToken:
    token: str
    grant: Grant
    issued_at: float
    expires_at: float
    revoked: bool = False


@dataclass
class _Code:
    client_id: str
    user_id: str
    redirect_uri: str
    divisions: frozenset[int]
    expires_at: float
    used: bool = False


def _stamp(epoch: float) -> str:
    """Exact's way of writing a moment in the expiry message: ``11/3/2021 2:50:46 PM``."""
    t = datetime.fromtimestamp(epoch, UTC)
    return f"{t.month}/{t.day}/{t.year} {(t.hour % 12) or 12}:{t.minute:02d}:{t.second:02d} {'AM' if t.hour < 12 else 'PM'}"


class TokenAuthority:
    def __init__(self, now: Callable[[], datetime], options: ExactOptions) -> None:
        self._now = now
        self.options = options
        self.lock = threading.RLock()
        self.counts: Counter[str] = Counter()
        self.calls = FixedWindowBudget([FixedWindow("day", options.token_calls_per_day, UTC_DAY)], now)
        self.clear()

    def clear(self) -> None:
        with self.lock:
            self._codes: dict[str, _Code] = {}
            self._nodes: dict[str, RefreshNode] = {}
            self._access: dict[str, AccessToken] = {}
            self._grants: dict[str, Grant] = {}
            self.counts.clear()
            self.calls.reset()

    def _epoch(self) -> float:
        return self._now().timestamp()

    # --- the authorization code -------------------------------------------------------------
    def issue_code(self, client_id: str, user_id: str, redirect_uri: str, divisions: frozenset[int]) -> str:
        code = "XTzM!IAAAAC" + secrets.token_urlsafe(48)  # real codes carry a '!' (CD step3)
        with self.lock:
            self._codes[code] = _Code(client_id, user_id, redirect_uri, divisions,
                                      self._epoch() + self.options.code_ttl_s)
            self.counts["codes_issued"] += 1
        return code

    def count_call(self, client_id: str) -> None:
        """Every token-endpoint call counts toward the daily quota, refused ones too."""
        self.calls.windows["day"].limit = self.options.token_calls_per_day
        with self.lock:
            self.counts["token_calls"] += 1
        if not self.calls.take(client_id).allowed:
            with self.lock:
                self.counts["token_quota_refused"] += 1
            # [INFER] what an app past 200 token calls a day gets
            raise OAuthError(400, "access_denied", "Rate limit exceeded: too many token requests today",
                             reason="TooManyTokenRequests", counted=False)

    def exchange_code(self, client_id: str, code: str, redirect_uri: str) -> dict[str, str]:
        with self.lock:
            entry = self._codes.get(code)
            if entry is None or entry.client_id != client_id:
                raise OAuthError(400, "invalid_grant", "Token is not allowed, because of invalid or empty chainId")
            if entry.used:
                self.counts["code_reused"] += 1
                raise OAuthError(400, "invalid_grant", "The authorization code has already been used.")  # [INFER]
            if self._epoch() > entry.expires_at:
                raise OAuthError(400, "invalid_grant", "The authorization code has expired.")  # [INFER]
            if redirect_uri != entry.redirect_uri:
                raise OAuthError(400, "invalid_grant", "The redirect_uri does not match the authorization request.")
            entry.used = True
            for grant in self._grants.values():  # [INFER] a new consent ends the app × user's old chain
                if grant.client_id == client_id and grant.user_id == entry.user_id:
                    self._end_grant(grant)
            grant = Grant(secrets.token_hex(8), client_id, entry.user_id, entry.divisions)
            self._grants[grant.id] = grant
            return self._issue(grant, None)

    # --- refresh -------------------------------------------------------------------------------
    def refresh(self, client_id: str, token: str) -> dict[str, str]:
        opts = self.options
        with self.lock:
            node = self._nodes.get(token)
            if node is None or node.grant.client_id != client_id:
                raise OAuthError(400, "invalid_grant", "Token is not allowed, because of invalid or empty chainId")
            now = self._epoch()
            if node.dead:
                self.counts["old_refresh_token_used"] += 1
                raise OAuthError(401, "unauthorized_client", "Old refresh token used.")
            expires = node.issued_at + opts.refresh_ttl_s
            if now > expires:
                self.counts["refresh_token_expired"] += 1
                raise OAuthError(400, "invalid_request",
                                 f"The refresh token expired at {_stamp(expires)} and it is now {_stamp(now)}.")
            base = node.issued_at if opts.too_early_scope == "token" else node.grant.last_issued
            if now < base + opts.refresh_min_age_s:
                self.counts["too_early"] += 1
                raise OAuthError(opts.too_early_status, "access_denied", "Rate limit exceeded: access_token not expired",
                                 reason="TooEarlyToRefreshTokens")
            self._use(node)
            return self._issue(node.grant, node)

    def _use(self, node: RefreshNode) -> None:
        keep = set()
        stack = [node]
        while stack:
            current = stack.pop()
            keep.add(current.token)
            stack.extend(current.children)
        for other in self._nodes.values():
            if other.grant is node.grant and other.token not in keep and not other.dead:
                other.dead = True
        if self.options.refresh_mode == "strict":
            node.dead = True

    def _issue(self, grant: Grant, parent: RefreshNode | None) -> dict[str, str]:
        now = self._epoch()
        if self.options.revoke_access_on_refresh:
            for access in self._access.values():
                if access.grant is grant:
                    access.revoked = True
        access = AccessToken("AAEAA" + secrets.token_urlsafe(96), grant, now, now + self.options.access_ttl_s)
        node = RefreshNode("Gcp7!IAAAA" + secrets.token_urlsafe(64), grant, parent, now)
        if parent is not None:
            parent.children.append(node)
        self._access[access.token] = access
        self._nodes[node.token] = node
        grant.last_issued = now
        self.counts["tokens_issued"] += 1
        # expires_in is a JSON *string* on the wire (CD step3; ossobv's comment)
        return {"access_token": access.token, "token_type": "bearer",
                "expires_in": str(self.options.access_ttl_s), "refresh_token": node.token}

    def _end_grant(self, grant: Grant) -> None:
        grant.alive = False
        for node in self._nodes.values():
            if node.grant is grant:
                node.dead = True

    # --- API access ----------------------------------------------------------------------------
    def check(self, token: str) -> tuple[str, AccessToken | None]:
        """``("ok", access)`` or ``("missing"|"invalid"|"expired"|"revoked", access-or-None)``."""
        if not token:
            return "missing", None
        with self.lock:
            access = self._access.get(token)
            if access is None:
                return "invalid", None
            if access.revoked:
                self.counts["revoked_token_used"] += 1
                return "revoked", access
            if self._epoch() >= access.expires_at:
                self.counts["expired_token_used"] += 1
                return "expired", access
            return "ok", access

    def revoke(self, token: str | None = None) -> int:
        """Revoke ``token``, or every live access token (the server "flushing" tokens). Returns how many."""
        now = self._epoch()
        with self.lock:
            targets = [self._access[token]] if token in self._access else [] if token else [
                a for a in self._access.values() if not a.revoked and a.expires_at > now]
            for access in targets:
                access.revoked = True
            self.counts["revoked"] += len(targets)
            return len(targets)

    def live_refresh_tokens(self) -> list[str]:
        with self.lock:
            return [n.token for n in self._nodes.values() if not n.dead and n.grant.alive]

    def grants(self) -> list[Grant]:
        with self.lock:
            return list(self._grants.values())
