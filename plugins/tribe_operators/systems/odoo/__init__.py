"""Odoo: the connection so far (its flows follow on the same seams)."""
from __future__ import annotations

from tribe_operators.systems.registry import System

SYSTEM = System(
    name="odoo", title="Odoo", default_conn_id="odoo_default", hook=".hook:OdooHook",
    connection_type=".connection:CONNECTION_TYPE", pool="odoo_api", rate_per_minute=60)  # none published: ~1/s
