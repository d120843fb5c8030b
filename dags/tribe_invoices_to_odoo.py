"""
### Tribe CRM → Odoo: invoices marked Sent, posted

Tribe's help article: "When an invoice status is changed to 'Sent', it will automatically
synchronize it as a posted invoice to Odoo". Each invoice becomes a **posted** customer invoice
(`out_invoice`; a negative one a credit note, `out_refund`) in its legal entity's sales journal:
customer, currency, invoice date and lines (product when Odoo has one with the Tribe product's
code, quantity, unit price, discount; the tax through `vat_map` and the revenue account through
`ledger_map` of that legal entity, in `include/mappings/odoo/settings.yaml`).

**Legal entity**: with `use_multiple_legal_entities`, the one chosen on the invoice in Tribe
(`invoice_scope.field`), else the default one (`invoice_scope.default`).

**Exactly once.** Each invoice is one mapped task (named by its invoice number). An export
ledger row with a unique reference (stored on the move as its Origin) is committed before the
create, the Odoo id right after; a retry that finds the row in flight looks for the move first,
and posting is checked before and after. **Clearing one failed invoice task retries that
invoice only and never posts it twice.**

Runs every 5 minutes as a safety poll; Tribe's webhook starts runs at once (conf
`{"invoice_ids": [...]}`). A bad invoice (unlinked customer, unmapped VAT group…) is
quarantined and fails its own task without retries.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG

from tribe_operators.dag_factory import dag_settings, invoice_export_tasks, invoice_params
from tribe_operators.timetables import LocalCronTrigger

with DAG(
    dag_id="tribe_invoices_to_odoo",
    description="Tribe → Odoo, on webhook + safety poll: invoices marked Sent → posted customer invoices "
                "(negative: credit notes) in their legal entity; one mapped task per invoice",
    schedule=LocalCronTrigger("*/5 * * * *", timezone="UTC"),
    **dag_settings(tags=["odoo", "export", "invoices"], doc_md=__doc__, retries=3, retry_delay=timedelta(seconds=30)),
    params=invoice_params(),
    render_template_as_native_obj=True,
) as dag:
    invoice_export_tasks("odoo")
