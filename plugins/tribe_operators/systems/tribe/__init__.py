"""Tribe CRM, the hub: organisations, persons, contacts, products, invoices over OData."""
from __future__ import annotations

from tribe_operators.registry import System

SYSTEM = System(
    name="tribe", title="Tribe CRM", default_conn_id="tribe_default", hook=".hook:TribeCrmHook",
    source=".source:TribeSource", target=".target:TribeTarget", connection_type=".connection:CONNECTION_TYPE",
    invoices=".invoices:TribeInvoices",
    pool="tribe_api", rate_per_minute=1000)  # none published: our own pacing
