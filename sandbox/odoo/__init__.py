"""Odoo simulator: XML-RPC, JSON-RPC (plus the web routes OdooRPC uses) and JSON-2, for server
versions 17, 18 and 19, over an in-memory ORM with Odoo's semantics (domains, active_test,
multi-company rules, x2many commands, invoices, payments, errors in each wire format).

Typical use::

    state = OdooState(version=18)
    state.seed()
    with ServerThread(create_app(state)) as server:
        ...  # xmlrpc.client.ServerProxy(f"{server.url}/xmlrpc/2/object"), odoorpc, requests
"""
from __future__ import annotations

from sandbox.odoo.app import create_app
from sandbox.odoo.state import ADMIN_LOGIN, ADMIN_PASSWORD, ADMIN_UID, DEFAULT_API_KEY, DEFAULT_DB, OdooState
from sandbox.odoo.versions import SUPPORTED_VERSIONS

__all__ = ["ADMIN_LOGIN", "ADMIN_PASSWORD", "ADMIN_UID", "DEFAULT_API_KEY", "DEFAULT_DB", "SUPPORTED_VERSIONS",
           "OdooState", "create_app"]
