"""Odoo: partners both ways (companies, individuals, contacts) with their archived state;
invoices as posted customer invoices; payments from their payment state."""
from __future__ import annotations

from tribe_operators.registry import System

SYSTEM = System(
    name="odoo", title="Odoo", default_conn_id="odoo_default", hook=".hook:OdooHook",
    source=".source:OdooSource", target=".target:OdooTarget", settings=".settings:OdooSettings",
    invoices=".invoices:OdooInvoices", payments=".payments:OdooPayments",
    connection_type=".connection:CONNECTION_TYPE", pool="odoo_api", rate_per_minute=60,  # none published: ~1/s
    exports={"relations": "tribe_to_odoo", "invoices": "tribe_invoices_to_odoo"})
