"""Everything one simulated Exact Online instance holds: the app, the user, divisions, tokens,
budgets, the error block, records, webhooks and counters.

One ``RLock`` guards it: uvicorn serves requests on its loop while tests call this API directly.
"""
from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime
from typing import Any

from sandbox.common import Clock, FaultConfig
from sandbox.common.errorrate import ErrorRateBlocker
from sandbox.common.fixedwindow import MINUTE, UTC_DAY, FixedWindow, FixedWindowBudget
from sandbox.exact.options import ExactOptions
from sandbox.exact.store import Store
from sandbox.exact.tokens import TokenAuthority
from sandbox.exact.values import wall_time

__all__ = ["ExactState"]

CLIENT_ID = "3f2b6c1e-8d4a-4e5f-9b0c-1a2d3e4f5a6b"
CLIENT_SECRET = "exact-sim-client-secret"
WEBHOOK_SECRET = "exact-sim-webhook-secret"
USER_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


class ExactState:
    """One Exact instance (e.g. ``start.exactonline.nl``) with one registered app and one user.

    Args:
        clock: The controllable clock (tests move it 570 s, a UTC day, 30 days).
        options: Switches (see ``options.ExactOptions``); keyword arguments override fields.
    """

    def __init__(self, *, clock: Clock | None = None, options: ExactOptions | None = None, **option_values: Any) -> None:
        self.clock = clock or Clock()
        self.options = options or ExactOptions()
        self.options.update(option_values)
        self._initial_options = self.options.as_dict()
        self.faults = FaultConfig()
        self.lock = threading.RLock()
        self.client_id = CLIENT_ID
        self.client_secret = CLIENT_SECRET
        self.webhook_secret = WEBHOOK_SECRET
        self.redirect_uris: list[str] = []  # empty: any redirect URI is accepted (test mode)
        self.user: dict[str, Any] = {"UserID": USER_ID, "UserName": "sync@tribe-demo.nl", "FullName": "Tribe Sync",
                                     "FirstName": "Tribe", "LastName": "Sync", "Email": "sync@tribe-demo.nl",
                                     "LanguageCode": "nl-NL", "Language": "NL"}
        self.divisions: dict[int, dict[str, Any]] = {}
        self.user_divisions: list[int] = []     # the divisions the user may reach (system/Divisions)
        self.current_division: int | None = None
        self.consent_divisions: set[int] | None = None  # the next consent's scope; None: all of the user's
        self.forbid_reason: str | None = None   # BlockedUser, InactiveUser, BlockedCustomer, LicenseExpired
        self.base_url = ""                      # the public URL (absolute __next links, webhook endpoints)
        self.tokens = TokenAuthority(self.clock.now, self.options)
        self.budgets = FixedWindowBudget([FixedWindow("minutely", self.options.minutely_limit, MINUTE),
                                          FixedWindow("daily", self.options.daily_limit, UTC_DAY)], self.clock.now)
        self.blocker = ErrorRateBlocker(self.clock.now)
        self.store = Store(self.wall_now)
        from sandbox.exact.webhooks import WebhookHub
        self.webhooks = WebhookHub(self)
        self.store.listeners.append(self.webhooks.on_change)
        self._seed_args: dict[str, Any] | None = None
        self.reset_counters()

    # --- time ------------------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    def wall_now(self) -> datetime:
        """Now as the naive Amsterdam wall time Exact stores."""
        return wall_time(self.clock.now(), self.options.timezone)

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def advance_to_next(self, period_s: int, after_s: float = 0.05) -> None:
        """Move the clock just past the next multiple of ``period_s``: 60 = the next clock minute,
        86,400 = the next 00:00 UTC (so a test has a whole fresh window before it)."""
        epoch = self.now().timestamp()
        self.advance(period_s - epoch % period_s + after_s)

    # --- records -------------------------------------------------------------------------------
    def insert(self, division: int, path: str, values: dict[str, Any]) -> dict[str, Any]:
        """Create a record through the entity's API rules (numbering, references, derived fields),
        as if POSTed by the user, but without a request. Returns the stored record."""
        from sandbox.exact.entities import find_spec
        from sandbox.exact.registry import rules_for
        from sandbox.exact.rules import Ctx

        spec = find_spec(path)
        with self.lock:
            ctx = Ctx(self, division, f"{self.base_url}/api/v1/{division}", {}, self.client_id)
            return rules_for(spec).create(ctx, spec, values)

    # --- divisions -----------------------------------------------------------------------------
    def add_division(self, code: int, description: str, *, country: str = "NL", currency: str = "EUR",
                     accessible: bool = True, **extra: Any) -> dict[str, Any]:
        with self.lock:
            self.divisions[code] = {"Code": code, "Description": description, "Country": country,
                                    "Currency": currency, "Legislation": country, "Status": 1, "BlockingStatus": 0,
                                    "Hid": len(self.divisions) + 1, "IsMainDivision": not self.divisions,
                                    "StartDate": datetime(2020, 1, 1), **extra}
            if accessible and code not in self.user_divisions:
                self.user_divisions.append(code)
            if self.current_division is None and accessible:
                self.current_division = code
            return self.divisions[code]

    def set_limits(self, *, minutely: int | None = None, daily: int | None = None) -> None:
        if minutely is not None:
            self.options.minutely_limit = minutely
        if daily is not None:
            self.options.daily_limit = daily

    def sync_limits(self) -> None:
        """Options may change at any time: push them into the budgets and the blocker."""
        self.budgets.set_limit("minutely", self.options.minutely_limit)
        self.budgets.set_limit("daily", self.options.daily_limit)
        self.blocker.limit = self.options.error_limit
        self.blocker.block_s = self.options.block_s
        self.blocker.clock_hour = self.options.error_window_clock_hour

    # --- counters ------------------------------------------------------------------------------
    def count(self, what: str, n: int = 1) -> None:
        with self.lock:
            self._counts[what] += n

    def count_request(self, method: str, division: int | None, endpoint: str, status: int) -> None:
        with self.lock:
            self._requests[f"{method} {endpoint}"] += 1
            self._by_division[f"{division}"] += 1
            self._statuses[str(status)] += 1
            if status in {400, 401, 403, 404}:
                self._errors[f"{division} {endpoint}"] += 1

    def counters(self) -> dict[str, Any]:
        """What tests check: requests per endpoint, statuses, errors, blocks, token calls and refusals."""
        with self.lock:
            tokens = dict(self.tokens.counts)
            return {"requests": dict(self._requests), "by_division": dict(self._by_division),
                    "statuses": dict(self._statuses), "errors": dict(self._errors),
                    "rate_limited": {k: self._counts[f"rate_limited_{k}"] for k in ("minutely", "daily")},
                    "blocks": len(self.blocker.events), "blocked_requests": self._counts["blocked_requests"],
                    "token_calls": tokens.get("token_calls", 0), "tokens_issued": tokens.get("tokens_issued", 0),
                    "too_early": tokens.get("too_early", 0),
                    "old_refresh_token_used": tokens.get("old_refresh_token_used", 0),
                    "refresh_token_expired": tokens.get("refresh_token_expired", 0),
                    "revoked_token_used": tokens.get("revoked_token_used", 0),
                    "expired_token_used": tokens.get("expired_token_used", 0),
                    "tokens": tokens, "other": dict(self._counts),
                    "webhooks": self.webhooks.summary(), "faults_injected": dict(self.faults.injected)}

    def reset_counters(self) -> None:
        with self.lock:
            self._counts: Counter[str] = Counter()
            self._requests: Counter[str] = Counter()
            self._by_division: Counter[str] = Counter()
            self._statuses: Counter[str] = Counter()
            self._errors: Counter[str] = Counter()
            self.tokens.counts.clear()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"divisions": sorted(self.divisions), "records": self.store.counts(),
                    "webhook_subscriptions": len(self.webhooks.subscriptions)}

    def reset(self) -> None:
        """Back to the start: no tokens, no budgets used, no blocks, the seed again (if seeded)."""
        with self.lock:
            self.options.update(self._initial_options)
            self.faults.clear()
            self.tokens.clear()
            self.budgets.reset()
            self.blocker.reset()
            self.webhooks.clear()
            self.store.clear()
            self.divisions.clear()
            self.user_divisions.clear()
            self.current_division = None
            self.forbid_reason = None
            self.reset_counters()
            if self._seed_args is not None:
                from sandbox.exact.seed import seed
                seed(self, **self._seed_args)
