"""``ExactOnlineHook``: Exact Online's REST API (OData v2) as plain dicts, per division.

Connection (``connection.py``): host = the site of the customer's country
(``https://start.exactonline.nl``; each country is a separate Exact instance), login = the
app's client id, password = its client secret. One connection is one token chain
(``http.refresh.RefreshTokenAuth`` on the encrypted token store, scope ``oauth`` whatever the
division), and divisions are scopes of it: ``client_for(division)`` is an API client on
``/api/v1/{division}`` with that division's own budget, sharing the one token.

Exact's rules this hook sets on the core's parts: a new access token only 570 s after the last
(and every early request counts toward the key's error block), 600 s tokens, 60 calls per
clock minute and 5,000 per UTC day per app and division, ``Accept: application/json`` on every
call (without it Exact answers Atom XML).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any
from urllib.parse import urlsplit

import requests

from tribe_operators.exceptions import AuthError, FatalError
from tribe_operators.hooks.base import VendorHook
from tribe_operators.http.auth import mask
from tribe_operators.http.budget import store_url
from tribe_operators.http.client import ApiClient
from tribe_operators.http.guard import ErrorGuard, shared_guard
from tribe_operators.http.pacing import DAY_S, Window, rate_windows_reader, shared_limiter
from tribe_operators.http.refresh import RefreshTokenAuth
from tribe_operators.http.retry import build_retrying
from tribe_operators.systems.exact.odata import results

__all__ = ["MIN_RENEWAL_S", "REGIONS", "ExactOnlineConnectionInfo", "ExactOnlineHook", "exact_error"]

# Host → country of the Exact Online instances (shared/reference/exact-online-api.md §1.1).
REGIONS = {f"start.exactonline.{tld}": country for tld, country in
           (("nl", "NL"), ("be", "BE"), ("de", "DE"), ("co.uk", "UK"), ("com", "US"), ("es", "ES"), ("fr", "FR"))}
MIN_RENEWAL_S = 570.0  # Exact refuses a new access token sooner after the last
TOKEN_CALLS_PER_DAY = 200  # token endpoint calls per app and user a UTC day
ERRORS_BEFORE_HOLDING = 6  # Exact blocks the key after 10 refusals per endpoint an hour: stop well before
# Exact's two windows, each with its own headers (on a 429 only the spent one's), resets in epoch ms.
RATE_HEADERS = rate_windows_reader({"minute": ("X-RateLimit-Minutely-Remaining", "X-RateLimit-Minutely-Reset"),
                                    "day": ("X-RateLimit-Remaining", "X-RateLimit-Reset")})
TOKEN_SCOPE = "oauth"  # one chain per connection, whatever the division


@dataclass(frozen=True)
class ExactOnlineConnectionInfo:
    """Where and as which app to call Exact Online (secrets are left out of ``repr``).

    ``region`` is None for a host that is not one of Exact's (a simulator).
    """

    base_url: str
    region: str | None
    client_id: str
    division: int | None
    client_secret: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    redirect_uri: str = "https://localhost/exact/callback"
    timezone: str = "Europe/Amsterdam"

    @property
    def token_url(self) -> str:
        """OAuth2 token endpoint (authorization code and refresh grants), the same on every host."""
        return f"{self.base_url}/api/oauth2/token"

    @property
    def auth_url(self) -> str:
        return f"{self.base_url}/api/oauth2/auth"

    def api_root(self, division: int | str | None = None) -> str:
        """REST root of a division (the default one unless given): ``{base}/api/v1/{division}``."""
        chosen = division if division is not None else self.division
        if chosen is None:
            raise FatalError("no Exact division: name one in the scope of the settings, or set the connection's "
                             "Default division")
        return f"{self.base_url}/api/v1/{chosen}"


def exact_error(response: requests.Response) -> str:
    """The message of Exact's error envelope ``{"error":{"message":{"value":…}}}``."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message = error.get("message")
        text = message.get("value") if isinstance(message, dict) else message
        return str(text or error.get("error_description") or error)[:500]
    return str(body)[:500]


class ExactOnlineHook(VendorHook):
    """Connection type ``exact_online``: one token chain, one API client per division."""

    conn_name_attr = "exact_conn_id"
    default_conn_name = "exact_default"
    conn_type = "exact_online"
    hook_name = "Exact Online"

    def __init__(self, exact_conn_id: str = default_conn_name, *, link_engine: Any = None, **kwargs: Any) -> None:
        super().__init__(exact_conn_id, **kwargs)
        self._link_engine = link_engine  # the link database (default: the tribe_sync_db connection)
        self._clients: dict[str, ApiClient] = {}
        self._clients_lock = threading.Lock()

    # ---- the connection ---------------------------------------------------------------------
    @cached_property
    def exact(self) -> ExactOnlineConnectionInfo:
        """The connection as typed fields; a FatalError names whatever is missing or malformed."""
        info = self.connection_info
        extra = info["extra"]
        mask(info["password"])
        refresh = str(extra.get("refresh_token") or "").strip() or None
        if refresh:
            mask(refresh)
        if extra.get("webhook_secret"):
            mask(str(extra["webhook_secret"]))
        division = extra.get("division")
        return ExactOnlineConnectionInfo(
            base_url=info["base"], region=self._region(info["base"]), client_id=info["login"].strip(),
            division=self._division(division) if division not in (None, "") else None,
            client_secret=info["password"], refresh_token=refresh, redirect_uri=str(extra["redirect_uri"]),
            timezone=str(extra["timezone"]))

    def _region(self, base: str) -> str | None:
        parts = urlsplit(base)
        host = parts.hostname or ""
        if "exactonline." not in host:
            return None
        if host not in REGIONS or parts.path not in ("", "/"):
            raise FatalError(f"connection {self.conn_id!r}: Base URL (region) {base!r} is not an Exact Online "
                             f"site; use one of {', '.join('https://' + h for h in REGIONS)}")
        return REGIONS[host]

    def _division(self, value: Any) -> int:
        text = str(value).strip()
        if isinstance(value, bool) or not text.isdigit() or int(text) < 1:
            raise FatalError(f"connection {self.conn_id!r}: Division (extra 'division') must be the "
                             f"administration's number (a positive whole number), not {value!r}")
        return int(text)

    # ---- tokens -----------------------------------------------------------------------------
    @property
    def chain_key(self) -> str:
        """Whose token chain this is: the app (client id) at one Exact instance — not the Airflow
        connection's name, so every connection of that app (and the transient one the Test button
        builds) shares the one chain Exact keeps, instead of starting a second that races it."""
        return f"{self.exact.base_url}|{self.exact.client_id}"

    @cached_property
    def token_store(self) -> Any:
        from tribe_operators.store.engine import engine_for
        from tribe_operators.store.tokens import TokenStore

        return TokenStore(self._link_engine or engine_for(), self.chain_key, TOKEN_SCOPE)

    @cached_property
    def auth(self) -> RefreshTokenAuth:
        return self._token_auth()

    def _token_auth(self, **overrides: Any) -> RefreshTokenAuth:
        """The chain's auth with Exact's rules (``max_wait_s=0``: never wait, for the Test button)."""
        exact = self.exact
        return RefreshTokenAuth(exact.token_url, exact.client_id, exact.client_secret, self.token_store,
                                initial_refresh_token=exact.refresh_token, min_interval_s=MIN_RENEWAL_S,
                                renew_before_s=20.0, timeout=float(self.connection_info["extra"]["timeout"]),
                                calls_per_day=TOKEN_CALLS_PER_DAY,
                                **overrides)

    # ---- clients ----------------------------------------------------------------------------
    def _api_client(self, root: str, limiter: Any = None, guard: ErrorGuard | None = None) -> ApiClient:
        extra = self.connection_info["extra"]
        return ApiClient(root, self.auth, limiter=limiter, guard=guard, rate_headers=RATE_HEADERS,
                         error_message=exact_error, headers={"Accept": "application/json"},
                         timeout=float(extra["timeout"]),
                         retrying=partial(build_retrying, max_attempts=int(extra["max_attempts"])))

    def client_for(self, division: int | str | None = None) -> ApiClient:
        """The API client of one division (the connection's default unless given), with that
        division's budget as Exact counts it (per app and division: a clock minute that paces,
        a UTC day that stops the task when spent) and its error guard (it stops sending to an
        endpoint before Exact's ten refusals an hour block the key), on the connection's one token."""
        root = self.exact.api_root(division)
        with self._clients_lock:
            client = self._clients.get(root)
            if client is None:
                extra = self.connection_info["extra"]
                key = f"exact:{self.exact.client_id}:{root.rsplit('/', 1)[1]}"
                windows = [Window("minute", int(extra["calls_per_minute"]), 60.0, fixed=True),
                           Window("day", int(extra["calls_per_day"]), DAY_S, fixed=True, final=True)]
                limiter = shared_limiter(key, windows=windows, store=store_url(extra))
                guard = shared_guard(key, limit=ERRORS_BEFORE_HOLDING, store=store_url(extra))
                client = self._clients[root] = self._api_client(root, limiter, guard)
        return client

    def _build_client(self, info: dict[str, Any]) -> ApiClient:
        """Calls outside a division (``current/Me``): not counted toward a division's budget."""
        return self._api_client(f"{self.exact.base_url}/api/v1")

    # ---- what any flow asks -----------------------------------------------------------------
    def me(self) -> dict[str, Any]:
        """``current/Me``: the user, and the division the user works in now."""
        return results(self.client.request("GET", "current/Me").json())[0]

    def divisions(self) -> list[dict[str, Any]]:
        """The divisions the grant covers (``system/Divisions`` through the current one)."""
        current = self.me()["CurrentDivision"]
        return results(self.client_for(current).request(
            "GET", "system/Divisions", params={"$select": "Code,Description,Country"}).json())

    def test_connection(self) -> tuple[bool, str]:
        """The Test button: ``current/Me`` (not rate-counted) with the stored token, renewing only
        when the rules allow it now — never waiting, never forcing a renewal."""
        quick = self._token_auth(max_wait_s=0.0)
        try:
            client = self._api_client(f"{self.exact.base_url}/api/v1")
            client.auth = quick
            me = results(client.request("GET", "current/Me").json())[0]
        except AuthError as exc:
            return False, f"{self.hook_name}: {exc}"
        except Exception as exc:  # noqa: BLE001 - the UI wants a message, not a traceback
            return False, str(exc)
        return True, f"signed in as {me.get('FullName') or me.get('UserName')}, division {me.get('CurrentDivision')}"
