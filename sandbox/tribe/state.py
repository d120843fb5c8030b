"""``TribeState``: everything one simulated Tribe tenant holds, shared by routes, seeders and tests."""
from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from sandbox.common import Clock, FaultConfig, SlidingWindowLimiter
from sandbox.tribe.auth import TokenAuthority
from sandbox.tribe.invoices import InvoiceRules
from sandbox.tribe.reference import RelationshipRules, bootstrap, identity_org_id
from sandbox.tribe.store import EntityStore, iso
from sandbox.tribe.webhooks import WebhookRegistry

__all__ = ["TribeState", "DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET"]

DEFAULT_CLIENT_ID = "tribe-sync"
DEFAULT_CLIENT_SECRET = "tribe-secret"


class TribeState:
    """One in-process Tribe tenant.

    Args:
        clock: Simulated time (token expiry, CreationDate/LastMutationDate, invoice dates).
        token_ttl_s: Access-token lifetime (``expires_in``).
        rate_limit: Calls allowed per client per ``rate_window_s``; 0 disables limiting.
        rate_window_s: Sliding-window length in seconds.
        faults: Fault-injection settings (shared with the middleware and ``/_sandbox/faults``).
        webhook_attempts: Delivery attempts per webhook event.
        webhook_backoff_s: First retry delay for webhook deliveries (doubles per attempt).
        reference_data: Create the tenant configuration (identity org, phases, units, VAT, countries).
    """

    def __init__(self, *, clock: Clock | None = None, token_ttl_s: int = 3600, rate_limit: int = 1000,
                 rate_window_s: float = 60.0, faults: FaultConfig | None = None, webhook_attempts: int = 4,
                 webhook_backoff_s: float = 0.2, reference_data: bool = True) -> None:
        self.clock = clock or Clock()
        self.faults = faults or FaultConfig()
        self.auth = TokenAuthority(self.clock, token_ttl_s)
        self.auth.add_client(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
        self.store = EntityStore(self.clock)
        self.lock = self.store.lock
        self.invoices = InvoiceRules()
        self.store.rules = [RelationshipRules(), self.invoices]
        self.webhooks = WebhookRegistry(lambda: iso(self.clock.now()), max_attempts=webhook_attempts,
                                        backoff_s=webhook_backoff_s)
        self.store.listeners.append(self.webhooks.on_change)
        self.rate_limit = rate_limit
        self.rate_window_s = rate_window_s
        self._limiters: dict[str, SlidingWindowLimiter] = {}
        self._counter_lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._total = 0
        self._rate_limited = 0
        self.reference_data = reference_data
        self.seed_args: dict[str, Any] | None = None  # remembered so reset() can re-seed
        if reference_data:
            bootstrap(self.store)

    # ---- configuration -----------------------------------------------------------------
    @property
    def clients(self) -> dict[str, str]:
        return self.auth.clients

    @property
    def token_ttl_s(self) -> int:
        return self.auth.ttl_s

    @token_ttl_s.setter
    def token_ttl_s(self, value: int) -> None:
        self.auth.ttl_s = value

    def add_client(self, client_id: str, client_secret: str) -> None:
        """Register another OAuth2 client (client-credentials)."""
        self.auth.add_client(client_id, client_secret)

    @property
    def identity_org_id(self) -> str | None:
        """ID of our own organisation ("Tribe Demo BV")."""
        return identity_org_id(self.store)

    # ---- rate limiting -----------------------------------------------------------------
    def limiter_for(self, client: str) -> SlidingWindowLimiter:
        """The sliding-window limiter of one client (created on first use)."""
        with self._counter_lock:
            limiter = self._limiters.get(client)
            if limiter is None:
                limiter = self._limiters[client] = SlidingWindowLimiter(self.rate_limit, self.rate_window_s)
            return limiter

    @property
    def limiter(self) -> SlidingWindowLimiter:
        """The default client's limiter."""
        return self.limiter_for(DEFAULT_CLIENT_ID)

    def set_rate_limit(self, limit: int, window_s: float = 60.0) -> None:
        """Change the per-client limit; every client starts a fresh window."""
        with self._counter_lock:
            self.rate_limit, self.rate_window_s = limit, window_s
            self._limiters.clear()

    def check_rate(self, client: str) -> tuple[bool, int]:
        allowed, retry_after = self.limiter_for(client).check()
        if not allowed:
            with self._counter_lock:
                self._rate_limited += 1
        return allowed, retry_after

    # ---- store access for tests and seeders --------------------------------------------
    def insert(self, entity_set: str, fields: dict[str, Any]) -> dict:
        """Create an entity directly (same validation and rules as the API).

        ``ID``, ``CreationDate`` and ``LastMutationDate`` may be given (seeding history).
        Navigations take ``{"ID": ...}`` links or nested dicts (deep insert).

        Returns:
            A copy of the stored record; single navigations appear as the target ID string.
        """
        return dict(self.store.create(entity_set, fields, system=True))

    def get(self, entity_set: str, entity_id: str) -> dict | None:
        record = self.store.lookup(entity_id, entity_set)
        return dict(record) if record else None

    def all(self, entity_set: str) -> list[dict]:
        """Every record of a set; base sets (``Relation``...) include their subtypes."""
        return [dict(r) for r in self.store.rows(entity_set)]

    def update(self, entity_set: str, entity_id: str, fields: dict[str, Any]) -> dict:
        return dict(self.store.update(entity_set, entity_id, fields, system=True))

    def delete(self, entity_set: str, entity_id: str) -> None:
        self.store.delete(entity_set, entity_id)

    # ---- observability -----------------------------------------------------------------
    def record_call(self, method: str, label: str) -> None:
        with self._counter_lock:
            self._calls[f"{method} {label}"] += 1
            self._total += 1

    def counters(self) -> dict[str, Any]:
        """API calls by "METHOD EntitySet", total, 429s, tokens issued, webhook delivery outcomes."""
        deliveries = self.webhooks.deliveries()
        with self._counter_lock:
            return {
                "total": self._total,
                "calls": dict(sorted(self._calls.items())),
                "rate_limited": self._rate_limited,
                "tokens_issued": self.auth.issued,
                "webhook_deliveries": {
                    "delivered": sum(1 for d in deliveries if d["delivered"] is True),
                    "failed": sum(1 for d in deliveries if d["delivered"] is False),
                    "pending": sum(1 for d in deliveries if d["delivered"] is None),
                },
            }

    def reset_counters(self) -> None:
        with self._counter_lock:
            self._calls.clear()
            self._total = 0
            self._rate_limited = 0
            self.auth.issued = 0

    def snapshot(self) -> dict[str, int]:
        """Number of records per (concrete) entity set."""
        return self.store.counts()

    def forget_seed(self) -> None:
        """From now on ``reset()`` goes back to reference data only (see ``PowerOfficeState``)."""
        with self.lock:
            self.seed_args = None

    def reset(self) -> None:
        """Back to the freshly built tenant: reference data (and the last seed, re-run with the
        same arguments), no webhooks, zero counters, fresh rate windows, no faults. Tokens stay
        valid so a running client is not logged out."""
        self.webhooks.clear()
        with self.lock:
            self.store.clear()
            if self.reference_data:
                bootstrap(self.store)
            if self.seed_args is not None:
                from sandbox.tribe.seed import seed  # local import: seed imports this module
                seed(self, **self.seed_args)
        with self._counter_lock:
            self._limiters.clear()
        self.faults.clear()
        self.reset_counters()

