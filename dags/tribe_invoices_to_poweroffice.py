"""
### Tribe CRM → PowerOffice Go: invoices marked Sent

When an invoice in Tribe becomes **Sent** it is created in PowerOffice as a sales order —
left as a **draft** or completed and sent (**booked**, then visible under OutgoingInvoices),
per `invoice_mode` in `include/mappings/poweroffice/settings.yaml` (or the Variable
`tribe_sync_poweroffice_settings`). Customer, dates, payment terms in days, product lines with
units and VAT, all per the invoice table of Tribe's help article.

**Exactly once.** Each invoice is one mapped task (named by its invoice number). An export
ledger row with a unique `ExternalImportReference` is committed before the create, the
PowerOffice id right after; a retry that finds the row in flight looks the invoice up in
PowerOffice first. **Clearing one failed invoice task retries that invoice only and never
posts it twice.**

Runs every 5 minutes as a safety poll; Tribe's webhook starts runs at once (conf
`{"invoice_ids": [...]}`). A bad invoice (unlinked customer, unmapped unit or VAT group,
negative quantity…) is quarantined and fails its own task without retries.

**One invoice again, by its number**: Trigger with `invoice_numbers` = `10001` (an invoice
exported already is never posted twice: the run says so). The `summary` task lists every invoice
of the run (number, customer, amount, draft / booked, PowerOffice id, the reason of a failure).
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG

from tribe_operators.dag_factory import dag_settings, invoice_export_tasks, invoice_params
from tribe_operators.timetables import LocalCronTrigger

with DAG(
    dag_id="tribe_invoices_to_poweroffice",
    description="Tribe → PowerOffice, on webhook + safety poll: invoices marked Sent → sales orders, draft or "
                "booked; one mapped task per invoice",
    schedule=LocalCronTrigger("*/5 * * * *", timezone="UTC"),
    **dag_settings(
        tags=["poweroffice", "export", "invoices"],
        doc_md=__doc__,
        retries=3,
        retry_delay=timedelta(seconds=30),
    ),
    params=invoice_params(),
    render_template_as_native_obj=True,
) as dag:
    invoice_export_tasks("poweroffice")
