"""``ExactOnlineHook``: the ``exact_online`` connection type, read and checked into
:class:`ExactOnlineConnectionInfo`.

Connection: host = the site of the customer's country (``https://start.exactonline.nl``; each
country is a separate Exact instance: ``.nl .be .de .co.uk .com .es .fr``), login = the app's
client id, password = its client secret; extras ``division`` (the administration, a number) and
``refresh_token`` (from the app's authorization-code flow). The form's fields are declared in
``tribe_operators.provider``.

Exact rotates the refresh token on every refresh and refuses an old one, so the connection
holds only the *first* token: the future client must keep the current one in the link database,
refreshing under a row lock (see DESIGN "Secrets"). The Exact integration (client, mappings,
DAGs) is not built yet: this hook defines the connection so it can be added in the UI now, and
the client starts from :attr:`ExactOnlineHook.exact`. It does not talk to Exact.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

from tribe_operators.exceptions import FatalError
from tribe_operators.hooks.base import FieldsOnlyHook
from tribe_operators.http.auth import mask

__all__ = ["REGIONS", "ExactOnlineConnectionInfo", "ExactOnlineHook"]

# Host → country of the Exact Online instances (shared/reference/exact-online-api.md §1.1).
REGIONS = {f"start.exactonline.{tld}": country for tld, country in
           (("nl", "NL"), ("be", "BE"), ("de", "DE"), ("co.uk", "UK"), ("com", "US"), ("es", "ES"), ("fr", "FR"))}


@dataclass(frozen=True)
class ExactOnlineConnectionInfo:
    """Where and as which app to call Exact Online (secrets are left out of ``repr``).

    ``region`` is None for a host that is not one of Exact's (a simulator).
    """

    base_url: str
    region: str | None
    client_id: str
    division: int
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)

    @property
    def token_url(self) -> str:
        """OAuth2 token endpoint (authorization code and refresh grants), the same on every host."""
        return f"{self.base_url}/api/oauth2/token"

    @property
    def api_root(self) -> str:
        """REST root of the division: ``{base}/api/v1/{division}``."""
        return f"{self.base_url}/api/v1/{self.division}"


class ExactOnlineHook(FieldsOnlyHook):
    """Connection type ``exact_online``: base URL (region), client id / secret, division, refresh token."""

    conn_name_attr = "exact_conn_id"
    default_conn_name = "exact_default"
    conn_type = "exact_online"
    hook_name = "Exact Online"

    def __init__(self, exact_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(exact_conn_id, **kwargs)

    @cached_property
    def exact(self) -> ExactOnlineConnectionInfo:
        """The connection as typed fields; a FatalError names whatever is missing or malformed."""
        info = self.connection_info  # checks the URL, client id and secret, division, refresh token
        extra = info["extra"]
        mask(info["password"])
        mask(extra["refresh_token"])
        return ExactOnlineConnectionInfo(
            base_url=info["base"], region=self._region(info["base"]), client_id=info["login"].strip(),
            division=self._division(extra["division"]), client_secret=info["password"],
            refresh_token=str(extra["refresh_token"]).strip())

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

    def describe(self) -> str:
        """(Nothing calls Exact yet, and a token refresh would burn the refresh token.)"""
        exact = self.exact
        return f"division {exact.division} at {exact.base_url}"
