"""Plain clients for tests and demos: a running simulator plus XML-RPC, JSON-RPC and JSON-2
callers that speak exactly what goes over the wire (no client library in between).

    with OdooServer(version=19) as odoo:
        odoo.execute("res.partner", "search", [])            # XML-RPC execute_kw as admin
        odoo.jsonrpc("object", "execute_kw", ...)            # the raw JSON-RPC response body
        odoo.json2("res.partner", "search_read", domain=[])  # a requests.Response
"""
from __future__ import annotations

import itertools
import xmlrpc.client
from typing import Any

import requests

from sandbox.common import ServerThread
from sandbox.odoo.app import create_app
from sandbox.odoo.state import ADMIN_LOGIN, ADMIN_PASSWORD, ADMIN_UID, DEFAULT_API_KEY, OdooState

__all__ = ["OdooServer"]


class OdooServer:
    """An ``OdooState`` served on a free port for the duration of a ``with`` block."""

    def __init__(self, state: OdooState | None = None, **state_args: Any) -> None:
        self.state = state or OdooState(**state_args)
        self._thread = ServerThread(create_app(self.state))
        self.http = requests.Session()
        self._ids = itertools.count(1)

    def __enter__(self) -> OdooServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()
        self._thread.stop()

    @property
    def url(self) -> str:
        return self._thread.url

    @property
    def db(self) -> str:
        return self.state.db

    # ---- XML-RPC -------------------------------------------------------------------------
    def proxy(self, service: str = "object", *, legacy: bool = False) -> xmlrpc.client.ServerProxy:
        path = f"/xmlrpc/{service}" if legacy else f"/xmlrpc/2/{service}"
        return xmlrpc.client.ServerProxy(self.url + path)

    def execute(self, model: str, method: str, *args: Any, uid: int = ADMIN_UID, password: str = ADMIN_PASSWORD,
                **kwargs: Any) -> Any:
        """``execute_kw`` over XML-RPC (raises ``xmlrpc.client.Fault``)."""
        return self.proxy().execute_kw(self.db, uid, password, model, method, list(args), kwargs)

    # ---- JSON-RPC ------------------------------------------------------------------------
    def jsonrpc(self, service: str, method: str, *args: Any, path: str = "/jsonrpc") -> dict[str, Any]:
        """POST a JSON-RPC call; returns the whole body (``result`` or ``error``)."""
        body = {"jsonrpc": "2.0", "method": "call", "id": next(self._ids),
                "params": {"service": service, "method": method, "args": list(args)}}
        response = self.http.post(self.url + path, json=body, timeout=10)
        response.raise_for_status()  # Odoo answers errors with HTTP 200: anything else is a fault
        return response.json()

    def call(self, model: str, method: str, *args: Any, uid: int = ADMIN_UID, password: str = ADMIN_PASSWORD,
             **kwargs: Any) -> dict[str, Any]:
        """``object.execute_kw`` over JSON-RPC; returns the whole body."""
        return self.jsonrpc("object", "execute_kw", self.db, uid, password, model, method, list(args), kwargs)

    # ---- JSON-2 --------------------------------------------------------------------------
    def json2(self, model: str, method: str, *, key: str | None = DEFAULT_API_KEY,
              headers: dict[str, str] | None = None, **body: Any) -> requests.Response:
        merged = {"Authorization": f"bearer {key}"} if key else {}
        merged.update({"X-Odoo-Database": self.db, **(headers or {})})
        return self.http.post(f"{self.url}/json/2/{model}/{method}", json=body, headers=merged, timeout=10)

    def odoorpc(self, login: str = ADMIN_LOGIN, password: str = ADMIN_PASSWORD) -> Any:
        """A logged-in ``odoorpc.ODOO`` (the unchanged PyPI client)."""
        import odoorpc

        odoo = odoorpc.ODOO(self._thread.host, port=self._thread.port, timeout=10)
        odoo.login(self.db, login, password)
        return odoo
