"""
### Tribe CRM → Odoo: relations, immediately

Tribe's help article: "The export of data from Tribe to Odoo will take place instantly".
Tribe's webhook starts this DAG at once; this schedule (every 5 minutes) is the safety poll on
`LastMutationDate` that catches whatever a webhook missed. A webhook run
runs the streams its event concerns in one task, **express** (their step tasks show as skipped;
its log has each step's lines).

* **tribe_customers** / **tribe_suppliers** — organisations → Odoo company partners ranked as
  customer / supplier;
* **tribe_contacts** — their contacts → contacts under the company's partner (after the
  organisations; a prospect's contacts are out of scope);
* **tribe_persons** — persons with a Customer relationship → individual partners.

The Odoo ID leads once linked; unlinked, a partner whose `ref` is the debtor / creditor number
is the same one. Numbers follow the setting `partner_numbering`: `tribe` writes Tribe's number to
`ref`; `odoo` lets Odoo number a new partner and writes its number back over Tribe's.
A relationship made former in Tribe archives the partner, made active again restores it.
No echo: what the nightly import just wrote is not written back. Deleting never propagates.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG

from tribe_operators.dag_factory import dag_settings, export_relation_groups, webhook_express, window_params
from tribe_operators.operators import SummaryOperator
from tribe_operators.timetables import LocalCronIntervals

with DAG(
    dag_id="tribe_to_odoo",
    description="Tribe → Odoo, on webhook + safety poll: organisations, contacts, persons → partners; "
                "a former relationship archives its partner",
    schedule=LocalCronIntervals("*/5 * * * *", timezone="UTC"),
    **dag_settings(tags=["odoo", "export"], doc_md=__doc__, retry_delay=timedelta(seconds=30)),
    params=window_params("Tribe"),
) as dag:
    summary = SummaryOperator(task_id="summary")
    export_relation_groups("odoo", dry_run="{{ params.dry_run }}") >> summary
    webhook_express(dag, "odoo") >> summary  # a webhook run's steps, in one task
