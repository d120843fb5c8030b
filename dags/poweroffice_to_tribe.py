"""
### PowerOffice Go → Tribe CRM: relations and products

Every 15 minutes (Tribe's help article: "Updates from PowerOffice to Tribe run every 15 minutes") this DAG
reads what changed in its data interval and brings it into Tribe:

* **customers** and **suppliers** → organisations with a Customer / Supplier relationship;
* **contacts** (contact persons of a customer or supplier) → persons with a Contact
  relationship to their organisation;
* **persons** (individual customers) → persons with a Customer relationship, the name split
  into first, middle (tussenvoegsel) and last name;
* **product groups** and **products** (deduplicated on the PowerOffice product ID; a product
  archived in PowerOffice becomes Inactive in Tribe; a relation archived there stays active).

Per stream: **extract** (changed records → staging) → **map** (`include/mappings/poweroffice/*.yaml`)
→ **dedupe** (PowerOffice ID, then debtor/creditor number) → **load** (write, bind the ID link).
Records that cannot be synced are quarantined with the field and the reason; the rest lands.
PowerOffice's customer/supplier number overwrites Tribe's debtor/creditor number.

**Trigger** (a manual run) syncs everything changed up to the moment you press it. **Params**:
`from_date` / `to_date` import what changed in that range instead (initial import); `dry_run`
reports what would happen without writing.

**After a run**: its note says what it did ("⚠ 7 quarantined · 238 created · 24 updated"); the
`summary` task's log has the counts per stream and every quarantined record with the field and
the reason; the **Tribe sync** page (navigation bar) has them over time, with Retry now / Dismiss.

**Initial import / backfill**: `poweroffice_initial_import` is the same pipeline with *daily*
data intervals (paused until you use it), so a backfill over months is a few dozen runs rather
than thousands of 15-minute ones:
`airflow backfill create --dag-id poweroffice_initial_import --from-date … --to-date …`.

Connections: `poweroffice_default`, `tribe_default`, `tribe_sync_db`.
"""

from __future__ import annotations

from airflow.sdk import DAG

from tribe_operators.dag_factory import dag_settings, import_relation_groups, stream_group, window_params
from tribe_operators.operators import SummaryOperator
from tribe_operators.timetables import LocalCronIntervals


def import_dag(dag_id: str, cron: str, description: str, **extra: object) -> DAG:
    """The PowerOffice → Tribe pipeline on one schedule (one task group per stream)."""
    with DAG(
        dag_id=dag_id,
        description=description,
        schedule=LocalCronIntervals(cron, timezone="UTC"),
        **dag_settings(tags=["poweroffice", "import"], doc_md=__doc__, **extra),
        params=window_params("PowerOffice"),
    ) as dag:
        common = {"dry_run": "{{ params.dry_run }}"}
        # One contact can be customer and supplier (one PowerOffice Id, one organisation): both
        # roles are read and mapped first, resolved with each other's keys, then loaded in turn;
        # contact persons hang under their organisation's link: organisations first.
        relations = import_relation_groups("poweroffice", **common)
        # Products refer to their group through its link: groups first.
        groups = stream_group("poweroffice", "product_groups", **common)
        products = stream_group("poweroffice", "products", **common)
        summary = SummaryOperator(task_id="summary")
        relations >> summary
        groups >> products >> summary
    return dag


import_dag("poweroffice_to_tribe", "*/15 * * * *",
           "PowerOffice → Tribe: customers, suppliers → organisations; contact persons → contacts of their "
           "organisation; individual customers → persons; product groups, products")
# Same pipeline, daily intervals: for `airflow backfill create` over a long range.
import_dag("poweroffice_initial_import", "0 0 * * *",
           "PowerOffice → Tribe, for backfills (paused): the same pipeline, one run per day of a backfilled range",
           is_paused_upon_creation=True)
