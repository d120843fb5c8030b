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

__all__ = ["STANDARD_FIELDS", "client_fields", "connection_types", "extra_defaults", "field_label", "field_spec",
           "form_behaviour", "get_provider_info", "required_fields"]

STANDARD_FIELDS = ("host", "schema", "login", "password", "port")
# Every type takes the whole base URL in ``host`` (scheme and port included); the separate
# schema and port fields would only be a second way to say part of it.
_HIDDEN = ["schema", "port"]


def field_spec(label: str, description: str, type_: str | list[str] = "string", *, required: bool = False,
           secret: bool = False, **schema: Any) -> dict[str, Any]:
    """One ``conn-fields`` entry; optional fields also accept null (a field left empty in the form)."""
    types = [type_] if isinstance(type_, str) else list(type_)
    if not required:
        types.append("null")
    spec: dict[str, Any] = {"type": types[0] if len(types) == 1 else types, **schema}
    if secret:
        spec["format"] = "password"  # masked in the form; Airflow treats the value as sensitive
    return {"label": label, "description": description, "schema": spec}


def client_fields(rate: dict[str, dict[str, Any]], *, page_size: int, page_help: str) -> dict[str, dict[str, Any]]:
    """The advanced extras every API client reads, as form fields showing their defaults (the
    hooks take the defaults from here: :func:`extra_defaults`). ``rate``: the vendor's own
    rate-limit fields (names differ: requests per second, or per window)."""
    return {
        **rate,
        "page_size": field_spec("Page size", page_help, "integer", default=page_size, minimum=1),
        "timeout": field_spec("Timeout (s)", "Seconds one HTTP call may take before it is retried.", "number",
                              default=60, exclusiveMinimum=0),
        "max_attempts": field_spec("Attempts per call", "Tries of one call on 429, 5xx or a dropped connection, "
                                   "the first included.", "integer", default=6, minimum=1),
        "rate_limit_store": field_spec(
            "Shared rate budget (Redis URL)", "redis://host:6379/1: one rate budget for every worker, without "
            "its password (next field). Empty: [tribe_sync] rate_limit_store of the Airflow config, else a "
            "budget per process.", format="url"),
        "rate_limit_store_password": field_spec("Shared rate budget: Redis password", "Empty: none.", secret=True),
    }


def extra_defaults(conn_type: str) -> dict[str, Any]:
    """``{extra: default}`` as the form declares them: what a connection left empty means."""
    fields = connection_types().get(conn_type, {}).get("conn-fields", {})
    return {name: spec["schema"]["default"] for name, spec in fields.items() if "default" in spec["schema"]}


def form_behaviour(labels: dict[str, str], placeholders: dict[str, str]) -> dict[str, Any]:
    return {"hidden-fields": list(_HIDDEN), "relabeling": labels, "placeholders": placeholders}


def connection_types() -> dict[str, dict[str, Any]]:
    """``{conn_type: declaration}`` of every system (``System.connection_type``)."""
    global _TYPES
    if _TYPES is None:
        from tribe_operators.systems.registry import load, systems

        _TYPES = dict(load(s.connection_type, s.package) for s in systems().values() if s.connection_type)
    return _TYPES


_TYPES: dict[str, dict[str, Any]] | None = None


def get_provider_info() -> dict[str, Any]:
    """What Airflow's ProvidersManager reads (``provider_info.schema.json``)."""
    return {
        "package-name": "tribe-sync",
        "name": "tribe-sync",
        "description": "Tribe CRM ⇄ PowerOffice Go, Odoo and Exact Online: connection types and hooks.",
        "versions": [__version__],
        "connection-types": [{"connection-type": conn_type, **spec} for conn_type, spec in connection_types().items()],
    }


def field_label(conn_type: str, name: str) -> str:
    """The label the UI shows for a standard or extra field of ``conn_type``."""
    spec = connection_types().get(conn_type, {})
    if name in STANDARD_FIELDS:
        return spec.get("ui-field-behaviour", {}).get("relabeling", {}).get(name, name)
    return spec.get("conn-fields", {}).get(name, {}).get("label", name)


def required_fields(conn_type: str) -> dict[str, str]:
    """``{field: label}`` a connection of ``conn_type`` must fill: host, login and password
    (every type authenticates), plus each extra field whose schema does not accept null."""
    if conn_type not in connection_types():
        return {}
    names = ["host", "login", "password"]
    for name, spec in connection_types()[conn_type]["conn-fields"].items():
        types = spec["schema"]["type"]
        if "null" not in ([types] if isinstance(types, str) else types):
            names.append(name)
    return {name: field_label(conn_type, name) for name in names}
