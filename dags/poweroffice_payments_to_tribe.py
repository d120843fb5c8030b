"""
### PowerOffice Go → Tribe CRM: payments

Every 4 hours (Tribe's help article: "payment data is synchronised every four hours") this DAG reads the
PowerOffice invoices whose balance changed in its data interval. An invoice whose balance
reached **0** is paid: its Tribe invoice moves from Sent to **Paid**. A partial payment is
recorded in the export ledger (total, open balance, when it changed) and is not marked Paid.

Only invoices this integration exported are touched (found through the export ledger).
With several legal entities (`scopes` in the settings) the sync runs once per entity, as one
mapped task each, through that entity's own connection and ledger.
Backfill a range with `airflow backfill create --dag-id poweroffice_payments_to_tribe …`.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG

from tribe_operators.dag_factory import dag_settings, dry_run_param, payment_tasks
from tribe_operators.timetables import LocalCronIntervals

with DAG(
    dag_id="poweroffice_payments_to_tribe",
    description="PowerOffice → Tribe: balance 0 → Tribe invoice Paid; partial payments recorded; "
                "one mapped task per legal entity",
    schedule=LocalCronIntervals("0 */4 * * *", timezone="UTC"),
    **dag_settings(
        tags=["poweroffice", "import", "payments"],
        doc_md=__doc__,
        retry_delay=timedelta(minutes=2),
    ),
    params={"dry_run": dry_run_param("Report; change nothing.")},
) as dag:
    payment_tasks("poweroffice")
