"""The ``odoo`` connection type: its form in Airflow's UI, as data (see ``tribe_operators.provider``)."""
from __future__ import annotations

from typing import Any

from tribe_operators.provider import client_fields, field_spec, form_behaviour

__all__ = ["CONNECTION_TYPE"]

CONNECTION_TYPE: tuple[str, dict[str, Any]] = ("odoo", {
    "hook-class-name": "tribe_operators.systems.odoo.hook.OdooHook",
    "hook-name": "Odoo",
    "ui-field-behaviour": form_behaviour(
        {"host": "URL", "login": "Username", "password": "API key"},
        {"host": "https://mycompany.odoo.com", "login": "The user's login (usually an e-mail address)",
         "password": "API key (Preferences → Account Security), or the password"}),
    "conn-fields": {
        "database": field_spec("Database", "The Odoo database name (Odoo Online: usually the first part of "
                           "the host name).", required=True, minLength=1),
        "protocol": field_spec("Protocol", "auto: JSON-2 from Odoo 19 on, JSON-RPC below; or json2 / jsonrpc.",
                               default="auto", enum=["auto", "json2", "jsonrpc", None]),
        **client_fields({
            "rate_per_second": field_spec("Requests per second", "Odoo publishes no limit; be kind to the server.",
                                          "number", default=5, exclusiveMinimum=0),
        }, page_size=500, page_help="Records per search_read page."),
    },
})
