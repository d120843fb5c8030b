"""The ``tribe_crm`` connection type: its form in Airflow's UI, as data (see ``tribe_operators.provider``)."""
from __future__ import annotations

from typing import Any

from tribe_operators.provider import client_fields, field_spec, form_behaviour

__all__ = ["CONNECTION_TYPE"]

CONNECTION_TYPE: tuple[str, dict[str, Any]] = ("tribe_crm", {
    "hook-class-name": "tribe_operators.systems.tribe.hook.TribeCrmHook",
    "hook-name": "Tribe CRM",
    "ui-field-behaviour": form_behaviour(
        {"host": "Base URL", "login": "Client ID", "password": "Client secret"},
        {"host": "https://api.tribecrm.nl", "login": "OAuth2 client id (Tribe: Configuration → API)",
         "password": "OAuth2 client secret"}),
    "conn-fields": {
        "scope": field_spec("Scope", "OAuth2 scopes, space-separated. Empty: 'read write'."),
        "token_url": field_spec("Token URL", "Empty: <Base URL>/oauth2/token.", format="url"),
        "webhook_secret": field_spec(
            "Webhook secret", "The secret Tribe shows for our webhook (X-Tribe-Signature). While rotating, "
            "or with one secret per webhook: all of them as a JSON list, [\"new\", \"old\"].", secret=True),
        **client_fields({
            "rate_limit": field_spec("Requests per window", "Tribe allows 1,000 requests per 60 s per client id.",
                                     "integer", default=1000, minimum=1),
            "rate_window_s": field_spec("Window (s)", "The length of Tribe's rate window.", "number", default=60,
                                        exclusiveMinimum=0),
        }, page_size=100, page_help="Records per OData page ($top); Tribe returns at most 100."),
    },
})
