"""The ``exact_online`` connection type: its form in Airflow's UI, as data (see ``tribe_operators.provider``)."""
from __future__ import annotations

from typing import Any

from tribe_operators.provider import field_spec, form_behaviour

__all__ = ["CONNECTION_TYPE"]

CONNECTION_TYPE: tuple[str, dict[str, Any]] = ("exact_online", {
    "hook-class-name": "tribe_operators.systems.exact.hook.ExactOnlineHook",
    "hook-name": "Exact Online",
    "ui-field-behaviour": form_behaviour(
        {"host": "Base URL (region)", "login": "Client ID", "password": "Client secret"},
        {"host": "https://start.exactonline.nl (.be, .de, .co.uk, .com, .es, .fr)",
         "login": "The app's client id (Exact App Center)", "password": "The app's client secret"}),
    "conn-fields": {
        "division": field_spec("Division", "The administration's division number (the {division} in "
                           "/api/v1/{division}/…).", "integer", required=True, minimum=1),
        "refresh_token": field_spec(
            "Refresh token", "From the app's authorization-code flow. Exact rotates it on every refresh; "
            "this is the first one only.", required=True, secret=True, minLength=1),
    },
})
