"""
### Odoo → Tribe CRM: relations, nightly

Tribe's help article: "The import of data from Odoo to Tribe will be performed once every 24
hours … during the night". This DAG runs at **02:00 Amsterdam time** with real daily data
intervals, and reads the partners whose `write_date` falls in its interval:

* **customers** and **suppliers** — companies Odoo ranks as customer / supplier
  (`customer_rank`, `supplier_rank`) → organisations with a Customer / Supplier relationship
  (a company that is both is one organisation with both roles);
* **contacts** — contacts of those companies → persons with a Contact relationship to their
  organisation;
* **persons** — individual customers → persons with a Customer relationship, the name split
  into first, middle (tussenvoegsel) and last name; the mobile number where the server still has
  the field (not on Odoo 19).

Matching: the Odoo ID, then the debtor / creditor number (the partner's Reference, `ref`).
**Deactivation mirrors**: an archived partner becomes a *former* customer / supplier / contact
in Tribe, a restored one active again. Archived partners are read on purpose, so an archive is
never missed. Deleting never propagates.

**Initial import / backfill**: unpausing the DAG imports everything on its first run; a range
goes through `airflow backfill create --dag-id odoo_to_tribe --from-date … --to-date …` (one
run per night), or a manual run with `from_date` / `to_date`. `dry_run` reports, writes nothing.
**Trigger** without dates syncs everything changed up to the moment you press it.

Connections: `odoo_default`, `tribe_default`, `tribe_sync_db`.
"""

from __future__ import annotations

from airflow.sdk import DAG

from tribe_operators.dag_factory import dag_settings, import_relation_groups, window_params
from tribe_operators.operators import SummaryOperator
from tribe_operators.timetables import LocalCronIntervals

# The company's night: Odoo's own users work in its timezone.
NIGHTLY = LocalCronIntervals("0 2 * * *", timezone="Europe/Amsterdam")

with DAG(
    dag_id="odoo_to_tribe",
    description="Odoo → Tribe, nightly: customer / supplier companies → organisations; their contacts → contacts; "
                "individuals → persons; archived partners → former relationships",
    schedule=NIGHTLY,
    **dag_settings(tags=["odoo", "import"], doc_md=__doc__),
    params=window_params("Odoo"),
) as dag:
    relations = import_relation_groups("odoo", dry_run="{{ params.dry_run }}")
    relations >> SummaryOperator(task_id="summary")
