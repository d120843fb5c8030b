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

The connections list's **Test** button needs :class:`PortlessConnectionTest` in the API server
(a root middleware of the ``tribe_sync`` plugin): without it, Airflow 3.3 refuses the test of every
saved connection of these types with a 400.

This module is imported by every Airflow component at start-up: keep it free of heavy imports.
"""
from __future__ import annotations

import json
from typing import Any

from tribe_operators import __version__

__all__ = ["STANDARD_FIELDS", "PortlessConnectionTest", "client_fields", "connection_types", "extra_defaults",
           "field_label", "field_spec", "form_behaviour", "get_provider_info", "renamed_fields", "required_fields"]

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
        from tribe_operators.registry import load, systems

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
        "connection-types": [{"connection-type": conn_type, **{k: v for k, v in spec.items() if k not in _OURS}}
                             for conn_type, spec in connection_types().items()],
    }


# Keys of a declaration that are ours, not Airflow's (left out of the provider info).
_OURS = frozenset({"renamed-fields"})


def renamed_fields(conn_type: str) -> dict[str, dict[str, str]]:
    """``{old extra name: {"to": new name, "until": release}}``: an extra renamed in a release,
    still read under its old name (with a deprecation warning) until ``until`` drops it."""
    return dict(connection_types().get(conn_type, {}).get("renamed-fields", {}))


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


class PortlessConnectionTest:
    """ASGI middleware for Airflow's API server: the Test button of a saved connection without a
    port (every type here: the port field is hidden, the form saves null) works.

    Airflow 3.3's UI sends ``port: Number(connection.port)``, and ``Number(null)`` is ``0``; the
    ``POST /api/v2/connections/test`` route then takes 0 for a different endpoint than the stored
    NULL, will not reuse the stored secrets for it (the UI sends them masked, ``***``) and answers
    400 "The host or port to test differs from the stored connection". No endpoint has port 0, so
    it is rewritten to null on that one route, before Airflow reads the body. Airflow fixes it in
    the route (apache/airflow#73298, not in 3.3.2): drop this once requirements.txt has that release.
    """

    PATH = "/api/v2/connections/test"

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].endswith(self.PATH):
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: nothing to test
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = _portless(b"".join(chunks))
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        scope = {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if replayed:
                return await receive()  # e.g. the disconnect a streaming answer waits for
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _portless(body: bytes) -> bytes:
    """A connection-test body with ``port: 0`` as ``port: null``; any other body as it came."""
    try:
        data = json.loads(body)
    except ValueError:
        return body  # not JSON: Airflow answers it as it would have
    if not isinstance(data, dict) or data.get("port") != 0 or isinstance(data.get("port"), bool):
        return body
    return json.dumps({**data, "port": None}).encode()
