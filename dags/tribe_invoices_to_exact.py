"""
### Tribe CRM → Exact Online: invoices marked Sent, booked as sales entries

Tribe's Exact article: "When an invoice has the status Sent, it is synchronised to Exact Online as
a sales booking." Each invoice becomes a **sales entry** (`salesentry/SalesEntries`, booked on
creation: Exact has no draft) in its division's sales journal, `invoices.<division>.journal` in
`include/mappings/exact/settings.yaml`: the customer's account (through the relations link), the
invoice date, Tribe's invoice number as the entry number and the customer's reference (YourRef),
and per line the amount excluding VAT, the VAT amount, the Exact VAT code (`vat_codes`) and the
revenue GL account (`gl_accounts`) of the line's Tribe VAT group. A credit keeps its sign: a
negative entry is Exact's credit note.

**Division**: by the settings' `invoice_scope` rule (default: the default scope), each scope's
`key` being the division number.

**Checked before anything is sent.** Every refusal counts toward Exact's block of the app's key:
a VAT group the division's maps lack, or a journal, VAT code or GL account the division does not
have (read from Exact once per run and division — only the codes the settings name — by the
run's first invoice task and shared with the others through the link database; a task's retry
reads them afresh), holds the invoice in quarantine naming the field — no request reaches
SalesEntries. An entry number another entry
holds in the journal is held the same way.

**Exactly once.** Each invoice is one mapped task (named by its invoice number). An export ledger
row with a unique reference (`tribe:<id>`, the entry's ExternalLinkReference) is committed before
the create, the Exact entry id right after; a retry that finds the row in flight looks the entry
up by that reference first (and by its number in the journal). **Clearing one failed invoice task
retries that invoice only and never books it twice.**

Runs every 5 minutes as a safety poll; Tribe's webhook starts runs at once (conf
`{"invoice_ids": [...]}`). **One invoice again, by its number**: Trigger with `invoice_numbers` =
`2026000001`, or from the command line: `airflow dags trigger tribe_invoices_to_exact --conf
'{"invoice_numbers": [2026000001]}'` (an invoice booked already is never booked twice: the run
says so). The `summary` task lists every invoice of the run.

Connections: `exact_default` (authorized once: `python -m tribe_operators.cli oauth authorize
--conn exact_default`), `tribe_default`, `tribe_sync_db`.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG

from tribe_operators.dag_factory import dag_settings, invoice_export_tasks, invoice_params
from tribe_operators.timetables import LocalCronTrigger

with DAG(
    dag_id="tribe_invoices_to_exact",
    description="Tribe → Exact Online, on webhook + safety poll: invoices marked Sent → sales entries (negative: "
                "credit notes) in their division's sales journal; one mapped task per invoice",
    schedule=LocalCronTrigger("*/5 * * * *", timezone="UTC"),
    **dag_settings(tags=["exact", "export", "invoices"], doc_md=__doc__, retries=3, retry_delay=timedelta(seconds=30)),
    params=invoice_params(),
    render_template_as_native_obj=True,
) as dag:
    invoice_export_tasks("exact")
