"""
### Tribe CRM → PowerOffice Go: relations

Seed: "changes from Tribe to PowerOffice are synchronised immediately". Tribe's webhook
starts this DAG at once; this schedule (every 5 minutes) is the safety poll on
`LastMutationDate` that catches whatever a webhook missed.

* **tribe_customers** — customer organisations → PowerOffice customers. The PowerOffice ID
  leads once linked; a new customer gets PowerOffice's number, written back over Tribe's
  debtor number.

No echo: an organisation that PowerOffice's own changes just updated in Tribe is linked, and
is written to PowerOffice only when its content differs from the last sync (content hash per
side) and from what PowerOffice holds. Deleting in one system never deletes in the other.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, CronDataIntervalTimetable, Param

from tribe_operators.dag_factory import dag_settings, stream_group
from tribe_operators.operators import SummaryOperator

with DAG(
    dag_id="tribe_to_poweroffice",
    description="Tribe relations → PowerOffice, on webhook and every 5 minutes",
    schedule=CronDataIntervalTimetable("*/5 * * * *", timezone="UTC"),
    **dag_settings(
        tags=["poweroffice", "export"],
        doc_md=__doc__,
        retry_delay=timedelta(seconds=30),
    ),
    params={
        "from_date": Param(
            None,
            type=["null", "string"],
            format="date-time",
            description="Export Tribe changes from this moment; empty = incremental.",
        ),
        "to_date": Param(None, type=["null", "string"], format="date-time"),
        "dry_run": Param(False, type="boolean", description="Report what would change; write nothing."),
    },
) as dag:
    customers = stream_group("poweroffice", "tribe_customers", dry_run="{{ params.dry_run }}")
    customers >> SummaryOperator(task_id="summary", trigger_rule="all_done")
