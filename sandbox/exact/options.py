"""The simulator's switches. Defaults follow the references; where they say "unknown" the default is
the pessimistic choice and the field is marked [INFER] (flip it to try the kinder behaviour).

Tests change them on ``state.options`` (or ``PUT /_sandbox/options``); each takes effect at once.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["ExactOptions"]


@dataclass
class ExactOptions:
    # --- OAuth -------------------------------------------------------------------------------
    access_ttl_s: int = 600                # access tokens live 600 s, used or not
    refresh_min_age_s: int = 570           # no new access token before 570 s after the previous one
    too_early_status: int = 400            # observed 400; Exact's KB text says 401 (research §7.1)
    # "grace": the old refresh token lives until its successor is used, two refreshes with one
    # token fork the chain and the branch not used dies; "strict": single use at once.
    refresh_mode: str = "grace"
    # [INFER] Whose age the 570 s rule checks: "token" = the access token issued with the refresh
    # token presented (so a grace-mode fork is possible); "grant" = the newest one of the whole
    # app × user grant (no fork: the second refresh is too early).
    too_early_scope: str = "token"
    refresh_ttl_s: int = 30 * 86_400       # a refresh token unused for 30 days expires
    code_ttl_s: int = 180                  # authorization codes: 3 minutes, single use
    token_calls_per_day: int = 200         # token-endpoint calls per app × user per UTC day
    auto_consent: bool = True              # test mode: the auth page consents at once
    revoke_access_on_refresh: bool = False  # [INFER] older access tokens stay valid until expiry
    # [INFER] Which token-endpoint refusals count toward the error block: "too_early" (what Exact
    # wrote, picqer#475) or "all" 400/401 answers.
    token_errors_counted: str = "all"
    # --- budgets -------------------------------------------------------------------------------
    minutely_limit: int = 60               # per app × division per clock minute
    daily_limit: int = 5000                # per app × division per UTC day
    # --- error-rate block ----------------------------------------------------------------------
    error_limit: int = 10                  # more than this many 400/401/403/404 per hour blocks
    error_window_clock_hour: bool = False  # [INFER] sliding hour (never forgets early)
    block_s: int = 3600                    # first block: an hour; each further one doubles [INFER]
    block_scope: str = "key"               # [INFER] "key" (whole app), "division" or "endpoint"
    blocked_status: int = 429              # [INFER] what a blocked key gets: 429, or 403 + Reason
    # --- OData ---------------------------------------------------------------------------------
    page_size: int = 60
    bulk_page_size: int = 1000             # bulk/* and sync/*
    accept_mode: str = "atom"              # no Accept: application/json -> Atom XML ("406": refuse)
    mandatory_filters: bool = True         # crm/Accounts, logistics/Items (+ their bulk twins)
    select_required_on_bulk: bool = True   # [INFER] bulk/* like sync/* need $select
    post_needs_prefer: bool = False        # [INFER] True: without Prefer: return=representation
    #                                        derived fields come back null on POST
    timezone: str = "Europe/Amsterdam"     # /Date(ms)/ is this zone's wall time read as UTC
    # --- webhooks ------------------------------------------------------------------------------
    webhook_validation_delay_s: float = 1.0
    webhook_require_https: bool = False    # Exact requires HTTPS callbacks; the sandbox allows http
    webhook_attempts: int = 3              # [INFER] deliveries are retried a little
    webhook_drop_unvalidated: bool = True  # [INFER] a failed validation POST removes the subscription
    # --- business rules ----------------------------------------------------------------------
    # Refusals of Exact's own that a client cannot check beforehand (a rule of the customer's
    # administration): a POST or PUT to ``path`` whose ``field`` contains ``contains`` answers 400
    # with ``message``, counted toward the error block like any 400.
    # [{"path": "crm/Accounts", "field": "Name", "contains": "…", "message": "…"}]
    refusals: list[dict[str, str]] = field(default_factory=list)

    def update(self, values: dict[str, Any]) -> None:
        known = {f.name: f for f in fields(self)}
        for key, value in values.items():
            if key not in known:
                raise ValueError(f"unknown option {key!r}")
            setattr(self, key, value)
        if self.refresh_mode not in {"grace", "strict"}:
            raise ValueError("refresh_mode must be 'grace' or 'strict'")
        if self.too_early_scope not in {"token", "grant"}:
            raise ValueError("too_early_scope must be 'token' or 'grant'")
        if self.block_scope not in {"key", "division", "endpoint"}:
            raise ValueError("block_scope must be 'key', 'division' or 'endpoint'")
        if self.accept_mode not in {"atom", "406"}:
            raise ValueError("accept_mode must be 'atom' or '406'")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
