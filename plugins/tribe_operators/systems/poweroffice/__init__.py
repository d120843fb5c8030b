"""PowerOffice Go: customers, suppliers, contact persons, products both ways; invoices as sales
orders; payments from their balance."""
from __future__ import annotations

from tribe_operators.registry import System

SYSTEM = System(
    name="poweroffice", title="PowerOffice Go", default_conn_id="poweroffice_default", hook=".hook:PowerOfficeHook",
    source=".adapters:PowerOfficeSource", target=".adapters:PowerOfficeTarget", transforms=".transforms:TRANSFORMS",
    connection_type=".connection:CONNECTION_TYPE", invoices=".invoices:PowerOfficeInvoices", payments=".payments:PowerOfficePayments",
    settings=".settings:PowerOfficeSettings",
    pool="poweroffice_api", rate_per_minute=600,
    exports={"relations": "tribe_to_poweroffice", "invoices": "tribe_invoices_to_poweroffice"})
