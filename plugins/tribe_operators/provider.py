"""tribe-sync as an Airflow provider: the connection types of Tribe CRM, PowerOffice Go, Odoo and
Exact Online, with their form fields in the UI.

Airflow finds :func:`get_provider_info` through the ``apache_airflow_provider`` entry point in
``pyproject.toml`` (the package must be pip-installed: ``scripts/setup.sh`` and the Dockerfile
do ``pip install -e .``). Since Airflow 3.2 the form is declared here, as data: ``conn-fields``
(extra fields, JSON Schema) and ``ui-field-behaviour`` (hidden, relabelled and placeholder
standard fields) per connection type. The API server reads them without importing a hook — the
UI's ``GET /ui/connections/hook_meta`` — and the hooks' ``get_connection_form_widgets()`` /
``get_ui_field_behaviour()`` are deprecated (and ignored when these keys are present), so the
hooks do not define them. The hooks check a connection against the same declaration
(:func:`required_fields`), so the UI and the runtime agree on what is mandatory.

This module is imported by every Airflow component at start-up: keep it free of heavy imports.
"""
from __future__ import annotations

from typing import Any

from tribe_operators import __version__

__all__ = ["CONNECTION_TYPES", "STANDARD_FIELDS", "field_label", "get_provider_info", "required_fields"]

STANDARD_FIELDS = ("host", "schema", "login", "password", "port")
# Every type takes the whole base URL in ``host`` (scheme and port included); the separate
# schema and port fields would only be a second way to say part of it.
_HIDDEN = ["schema", "port"]


def _field(label: str, description: str, type_: str | list[str] = "string", *, required: bool = False,
           secret: bool = False, **schema: Any) -> dict[str, Any]:
    """One ``conn-fields`` entry; optional fields also accept null (a field left empty in the form)."""
    types = [type_] if isinstance(type_, str) else list(type_)
    if not required:
        types.append("null")
    spec: dict[str, Any] = {"type": types[0] if len(types) == 1 else types, **schema}
    if secret:
        spec["format"] = "password"  # masked in the form; Airflow treats the value as sensitive
    return {"label": label, "description": description, "schema": spec}


def _behaviour(labels: dict[str, str], placeholders: dict[str, str]) -> dict[str, Any]:
    return {"hidden-fields": list(_HIDDEN), "relabeling": labels, "placeholders": placeholders}


CONNECTION_TYPES: dict[str, dict[str, Any]] = {
    "tribe_crm": {
        "hook-class-name": "tribe_operators.hooks.tribe.TribeCrmHook",
        "hook-name": "Tribe CRM",
        "ui-field-behaviour": _behaviour(
            {"host": "Base URL", "login": "Client ID", "password": "Client secret"},
            {"host": "https://api.tribecrm.nl", "login": "OAuth2 client id (Tribe: Configuration → API)",
             "password": "OAuth2 client secret"}),
        "conn-fields": {
            "scope": _field("Scope", "OAuth2 scopes, space-separated. Empty: 'read write'."),
            "token_url": _field("Token URL", "Empty: <Base URL>/oauth2/token.", format="url"),
            "webhook_secret": _field(
                "Webhook secret", "The secret Tribe shows for our webhook (X-Tribe-Signature). While rotating, "
                "or with one secret per webhook: a JSON list of secrets.", ["string", "array"]),
        },
    },
    "poweroffice_go": {
        "hook-class-name": "tribe_operators.hooks.poweroffice.PowerOfficeHook",
        "hook-name": "PowerOffice Go",
        "ui-field-behaviour": _behaviour(
            {"host": "Base URL", "login": "Application key", "password": "Client key"},
            {"host": "https://goapi.poweroffice.net (demo: https://goapi.poweroffice.net/Demo)",
             "login": "The integration's application key",
             "password": "The client key PowerOffice Go issued for this client"}),
        "conn-fields": {
            "subscription_key": _field(
                "Subscription key", "Ocp-Apim-Subscription-Key of the product subscription (developer portal). "
                "PowerOffice's 10 requests/s are per subscription key.", required=True, secret=True, minLength=1),
        },
    },
    "odoo": {
        "hook-class-name": "tribe_operators.hooks.odoo.OdooHook",
        "hook-name": "Odoo",
        "ui-field-behaviour": _behaviour(
            {"host": "URL", "login": "Username", "password": "API key"},
            {"host": "https://mycompany.odoo.com", "login": "The user's login (usually an e-mail address)",
             "password": "API key (Preferences → Account Security), or the password"}),
        "conn-fields": {
            "database": _field("Database", "The Odoo database name (Odoo Online: usually the first part of "
                               "the host name).", required=True, minLength=1),
        },
    },
    "exact_online": {
        "hook-class-name": "tribe_operators.hooks.exact.ExactOnlineHook",
        "hook-name": "Exact Online",
        "ui-field-behaviour": _behaviour(
            {"host": "Base URL (region)", "login": "Client ID", "password": "Client secret"},
            {"host": "https://start.exactonline.nl (.be, .de, .co.uk, .com, .es, .fr)",
             "login": "The app's client id (Exact App Center)", "password": "The app's client secret"}),
        "conn-fields": {
            "division": _field("Division", "The administration's division number (the {division} in "
                               "/api/v1/{division}/…).", "integer", required=True, minimum=1),
            "refresh_token": _field(
                "Refresh token", "From the app's authorization-code flow. Exact rotates it on every refresh; "
                "this is the first one only.", required=True, secret=True, minLength=1),
        },
    },
}


def get_provider_info() -> dict[str, Any]:
    """What Airflow's ProvidersManager reads (``provider_info.schema.json``)."""
    return {
        "package-name": "tribe-sync",
        "name": "tribe-sync",
        "description": "Tribe CRM ⇄ PowerOffice Go, Odoo and Exact Online: connection types and hooks.",
        "versions": [__version__],
        "connection-types": [{"connection-type": conn_type, **spec} for conn_type, spec in CONNECTION_TYPES.items()],
    }


def field_label(conn_type: str, name: str) -> str:
    """The label the UI shows for a standard or extra field of ``conn_type``."""
    spec = CONNECTION_TYPES.get(conn_type, {})
    if name in STANDARD_FIELDS:
        return spec.get("ui-field-behaviour", {}).get("relabeling", {}).get(name, name)
    return spec.get("conn-fields", {}).get(name, {}).get("label", name)


def required_fields(conn_type: str) -> dict[str, str]:
    """``{field: label}`` a connection of ``conn_type`` must fill: host, login and password
    (every type authenticates), plus each extra field whose schema does not accept null."""
    if conn_type not in CONNECTION_TYPES:
        return {}
    names = ["host", "login", "password"]
    for name, spec in CONNECTION_TYPES[conn_type]["conn-fields"].items():
        types = spec["schema"]["type"]
        if "null" not in ([types] if isinstance(types, str) else types):
            names.append(name)
    return {name: field_label(conn_type, name) for name in names}
