"""The ``poweroffice_go`` connection type: its form in Airflow's UI, as data (see ``tribe_operators.provider``)."""
from __future__ import annotations

from typing import Any

from tribe_operators.provider import client_fields, field_spec, form_behaviour

__all__ = ["CONNECTION_TYPE"]

CONNECTION_TYPE: tuple[str, dict[str, Any]] = ("poweroffice_go", {
    "hook-class-name": "tribe_operators.systems.poweroffice.hook.PowerOfficeHook",
    "hook-name": "PowerOffice Go",
    "ui-field-behaviour": form_behaviour(
        {"host": "Base URL", "login": "Application key", "password": "Client key"},
        {"host": "https://goapi.poweroffice.net (demo: https://goapi.poweroffice.net/Demo)",
         "login": "The integration's application key",
         "password": "The client key PowerOffice Go issued for this client"}),
    # The old name of a renamed extra is read for one release more, with a deprecation warning.
    "renamed-fields": {"subscription_key": {"to": "subscription_api_key", "until": "0.2.0"}},
    "conn-fields": {
        # Named *_api_key: Airflow masks extras by name only (API answers, the edit form's values,
        # logs), and "subscription_key" matches none of its sensitive names.
        "subscription_api_key": field_spec(
            "Subscription key", "Ocp-Apim-Subscription-Key of the product subscription (developer portal). "
            "PowerOffice's 10 requests/s are per subscription key.", required=True, secret=True, minLength=1),
        "api_path": field_spec("API path", "Below the base URL.", default="/v2"),
        "token_path": field_spec("Token path", "Below the base URL.", default="/OAuth/Token"),
        **client_fields({
            "rate_per_second": field_spec("Requests per second", "PowerOffice allows 10 per subscription key.",
                                          "number", default=10, exclusiveMinimum=0),
        }, page_size=1000, page_help="Records per page of a list endpoint (PowerOffice's PageSize)."),
    },
})
