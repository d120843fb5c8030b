"""The ``exact_online`` connection type: its form in Airflow's UI, as data (see ``tribe_operators.provider``).

One connection is one app × user: one token chain, whatever divisions the grant covers (the
division is a URL segment, not part of the token). The refresh token is a bootstrap only: the
authorize step (``tribe-sync oauth authorize``) writes the first one straight into the encrypted
token store, and from then on the store's leads (Exact rotates it on every renewal).
"""
from __future__ import annotations

from typing import Any

from tribe_operators.provider import client_fields, field_spec, form_behaviour

__all__ = ["CONNECTION_TYPE"]

CONNECTION_TYPE: tuple[str, dict[str, Any]] = ("exact_online", {
    "hook-class-name": "tribe_operators.systems.exact.hook.ExactOnlineHook",
    "hook-name": "Exact Online",
    "ui-field-behaviour": form_behaviour(
        {"host": "Base URL (region)", "login": "Client ID", "password": "Client secret"},
        {"host": "https://start.exactonline.nl (.be, .de, .co.uk, .com, .es, .fr)",
         "login": "The app's client id (Exact App Center)", "password": "The app's client secret"}),
    "conn-fields": {
        "division": field_spec("Default division", "The administration used when a scope names none (the "
                               "{division} in /api/v1/{division}/…). Scopes of the settings name theirs.", "integer",
                               minimum=1),
        "redirect_uri": field_spec("Redirect URI", "The app's redirect URI as registered in the Exact App Center "
                                   "(the authorize step sends it).", default="https://localhost/exact/callback"),
        "refresh_token": field_spec(
            "Refresh token (bootstrap)", "Only to start from a token got elsewhere: normally empty, as "
            "'tribe-sync oauth authorize' stores the first one (encrypted) and Exact rotates it on every renewal.",
            secret=True),
        "webhook_secret": field_spec("Webhook secret", "The app's webhook secret (Exact App Center): checks the "
                                     "HashCode of Exact's webhook events.", secret=True),
        "timezone": field_spec("Time zone of /Date()", "Exact's dates are the wall time of this zone.",
                               default="Europe/Amsterdam"),
        **client_fields({
            "calls_per_minute": field_spec("Calls per minute", "Exact allows 60 per app and division.", "integer",
                                           default=60, minimum=1),
            "calls_per_day": field_spec("Calls per day", "Exact allows 5,000 per app and division (UTC day).",
                                        "integer", default=5000, minimum=1),
        }, page_size=60, page_help="Rows per page (Exact sends 60; 1,000 on bulk and sync endpoints)."),
    },
})
