"""Exact Online: one token chain per connection (authorized once by a person), divisions as
scopes, Exact's budgets and error block respected by the core's transport; invoices as sales
entries in each division's sales journal."""
from __future__ import annotations

from tribe_operators.registry import System

SYSTEM = System(
    name="exact", title="Exact Online", default_conn_id="exact_default", hook=".hook:ExactOnlineHook",
    connection_type=".connection:CONNECTION_TYPE", pool="exact_online_api", rate_per_minute=60,
    source=".source:ExactSource", target=".target:ExactTarget", settings=".settings:ExactSettings",
    authorize=".authorize:ExactAuthorization", webhooks=".webhooks:ExactWebhooks",
    invoices=".invoices:ExactInvoices", payments=".payments:ExactPayments", transforms=".transforms:TRANSFORMS",
    exports={"relations": "tribe_to_exact", "invoices": "tribe_invoices_to_exact"})
