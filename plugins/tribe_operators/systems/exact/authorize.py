"""Exact Online's one-time authorization (``tribe-sync oauth authorize``): a person consents
once for the app × user, the first token pair goes into the encrypted store, and the divisions
the grant covers are listed (division scoping: only those the person ticked on the consent page)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from tribe_operators.exceptions import ApiClientError
from tribe_operators.http.authorize import AuthorizationCode

if TYPE_CHECKING:
    from tribe_operators.systems.exact.hook import ExactOnlineHook

__all__ = ["ExactAuthorization"]


class ExactAuthorization:
    """What ``oauth authorize`` asks of a system: the consent URL, then the pasted answer."""

    def __init__(self, hook: ExactOnlineHook) -> None:
        exact = hook.exact
        self.hook = hook
        self.flow = AuthorizationCode(exact.auth_url, exact.token_url, exact.client_id, exact.client_secret,
                                      exact.redirect_uri, hook.token_store)

    def url(self) -> str:
        return self.flow.url()

    def complete(self, callback_url: str, *, check_state: bool = True) -> list[str]:
        """Store the first tokens; returns what the grant covers, one line per division."""
        self.flow.complete(callback_url, check_state=check_state)
        me = self.hook.me()
        lines = [f"signed in as {me.get('FullName') or me.get('UserName')} (current division {me.get('CurrentDivision')})"]
        try:
            divisions = self.hook.divisions()
        except ApiClientError as exc:  # the current division outside the grant: it cannot list the others
            return [*lines, f"the divisions could not be listed ({exc}); name yours in the settings' scopes"]
        return [*lines, *(f"division {d.get('Code')}: {d.get('Description')} ({d.get('Country')})" for d in divisions)]
