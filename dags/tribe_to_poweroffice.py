"""
### Tribe CRM → PowerOffice Go: relations and products

Tribe's help article: "changes from Tribe to PowerOffice are synchronised immediately". Tribe's webhook
starts this DAG at once; this schedule (every 5 minutes) is the safety poll on
`LastMutationDate` that catches whatever a webhook missed. A webhook run
runs the streams its event concerns in one task, **express** (their step tasks show as skipped;
its log has each step's lines).

* **tribe_customers** / **tribe_suppliers** — customer and supplier organisations →
  PowerOffice customers and suppliers. The PowerOffice ID leads once linked; a new one gets
  PowerOffice's number, written back over Tribe's debtor / creditor number.
* **tribe_contacts** — contacts of those organisations → their PowerOffice contact persons
  (after the organisations, which they are created under; a prospect's contacts are out of scope).
* **tribe_persons** — persons with a Customer relationship → individual customers.
* **tribe_product_groups**, then **tribe_products** — products → PowerOffice products (unit and VAT group through the
  settings' maps; the VAT group picks the sales account).

No echo: an organisation that PowerOffice's own changes just updated in Tribe is linked, and
is written to PowerOffice only when its content differs from the last sync (content hash per
side) and from what PowerOffice holds. Deleting in one system never deletes in the other.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG

from tribe_operators.dag_factory import (
    dag_settings,
    export_relation_groups,
    stream_group,
    webhook_express,
    window_params,
)
from tribe_operators.operators import SummaryOperator
from tribe_operators.timetables import LocalCronIntervals

with DAG(
    dag_id="tribe_to_poweroffice",
    description="Tribe → PowerOffice, on webhook + safety poll: customer and supplier organisations, their "
                "contacts → contact persons, persons (individual customers), product groups, products; "
                "PowerOffice's number written back",
    schedule=LocalCronIntervals("*/5 * * * *", timezone="UTC"),
    **dag_settings(
        tags=["poweroffice", "export"],
        doc_md=__doc__,
        retry_delay=timedelta(seconds=30),
    ),
    params=window_params("Tribe"),
) as dag:
    common = {"dry_run": "{{ params.dry_run }}"}
    # A contact person is created under its organisation: organisations first.
    relations = export_relation_groups("poweroffice", **common)
    # A product names its group: groups first.
    products = stream_group("poweroffice", "tribe_product_groups", **common) >> stream_group(
        "poweroffice", "tribe_products", **common)
    summary = SummaryOperator(task_id="summary")
    relations >> summary
    products >> summary
    webhook_express(dag, "poweroffice") >> summary  # a webhook run's steps, in one task
