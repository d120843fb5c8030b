"""
### Odoo → Tribe CRM: payments, nightly

Per legal entity, the invoices this integration posted whose payment state changed in the run's
data interval (Odoo moves a move's `write_date` when it does): **paid** or **in payment** → the
Tribe invoice moves from Sent to **Paid**; **partial** is recorded in the export ledger (total,
open amount) and stays Sent; **reversed** (credited in full) is reported. Nightly at 03:00
Amsterdam time, after the relations import, as the rest of the Odoo integration; trigger it by
hand for a run now. Backfill a range with `airflow backfill create --dag-id odoo_payments_to_tribe …`.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG

from tribe_operators.dag_factory import dag_settings, dry_run_param, payment_tasks
from tribe_operators.timetables import LocalCronIntervals

with DAG(
    dag_id="odoo_payments_to_tribe",
    description="Odoo → Tribe, nightly: payment_state paid / in payment → Tribe invoice Paid; partial recorded, "
                "reversed reported; one mapped task per legal entity",
    schedule=LocalCronIntervals("0 3 * * *", timezone="Europe/Amsterdam"),
    **dag_settings(tags=["odoo", "import", "payments"], doc_md=__doc__, retry_delay=timedelta(minutes=2)),
    params={"dry_run": dry_run_param("Report; change nothing.")},
) as dag:
    payment_tasks("odoo")
