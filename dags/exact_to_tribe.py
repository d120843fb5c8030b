"""
### Exact Online → Tribe CRM: relations, per division, from Exact's sync endpoint

Tribe's help article on the Exact Online integration: relations are imported with a duplicate
check on the Exact ID, then the debtor number. This DAG so far imports Exact's **customer
accounts** into Tribe organisations with a Customer relationship (suppliers, contacts, products
and the export follow on the same seams).

* Read from `sync/CRM/Accounts` after the Timestamp the last load committed: an idle run costs one
  call per division (Exact allows 5,000 a day and 60 a minute per app and division).
* **Inactive accounts are not imported** (blocked); an account blocked later stays active in Tribe.
* **Daily budget spent**: the run stops reading cleanly, what it read is imported, the note says
  "budget spent, resumes after 00:00 UTC", and the next run after that goes on from the cursor.

Connections: `exact_default` (authorized once: `python -m tribe_operators.cli oauth authorize
--conn exact_default`), `tribe_default`, `tribe_sync_db`.
"""

from __future__ import annotations

from airflow.sdk import DAG

from tribe_operators.dag_factory import dag_settings, stream_group, window_params
from tribe_operators.operators import SummaryOperator
from tribe_operators.timetables import LocalCronIntervals

with DAG(
    dag_id="exact_to_tribe",
    description="Exact Online → Tribe, hourly: customer accounts → organisations (sync endpoint, one call an "
                "idle run); a spent daily budget stops cleanly and resumes",
    schedule=LocalCronIntervals("0 * * * *", timezone="UTC"),
    **dag_settings(tags=["exact", "import"], doc_md=__doc__),
    params=window_params("Exact Online"),
) as dag:
    stream_group("exact", "customers", dry_run="{{ params.dry_run }}") >> SummaryOperator(task_id="summary")
