"""
### Tribe CRM → Exact Online: relations, immediately

Tribe's help article on the Exact Online integration: "new and updated relationships are
synchronised automatically in both directions, based on the Exact Online ID". Tribe's webhook
starts this DAG at once; this schedule (every 5 minutes) is the safety poll on `LastMutationDate`
that catches whatever a webhook missed. A webhook run
runs the streams its event concerns in one task, **express** (their step tasks show as skipped;
its log has each step's lines).

* **tribe_customers** / **tribe_suppliers** — organisations → Exact accounts (status C, and
  IsSupplier): an organisation in both roles is one account, resolved together;
* **tribe_contacts** — their contacts → contacts of the account (after the organisations);
* **tribe_products** — active products → Exact items (unit and item group: Exact's of the same
  name, looked up; one Exact lacks holds the product, naming it). Exact's item groups are
  made in Exact (its API cannot create them): Tribe's product groups are not exported.

The Exact ID leads once linked; unlinked, an account whose Code is the debtor / creditor number
(and whose name agrees) is the same one. Exact numbers a new account: its Code is written back
over Tribe's debtor / creditor number. Every refusal counts toward Exact's block of the key (ten
an hour per endpoint): after six, the rest of the hour's records are held in quarantine, not sent,
and tried again by a later run. Deleting and deactivating never propagate (a product made
inactive in Tribe is no longer sent; its item in Exact is not ended).

The relation type written (an account's Status) comes from the settings' `relation_types`; the
settings' `filters.<stream>` narrow what each stream reads (`include/mappings/exact/settings.yaml`).

Connections: `exact_default` (authorized once: `python -m tribe_operators.cli oauth authorize
--conn exact_default`), `tribe_default`, `tribe_sync_db`.
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
    dag_id="tribe_to_exact",
    description="Tribe → Exact Online, on webhook + safety poll: organisations, contacts → accounts and their "
                "contacts; products → items; Exact's Code becomes Tribe's number",
    schedule=LocalCronIntervals("*/5 * * * *", timezone="UTC"),
    **dag_settings(tags=["exact", "export"], doc_md=__doc__, retry_delay=timedelta(seconds=30)),
    params=window_params("Tribe"),
) as dag:
    common = {"dry_run": "{{ params.dry_run }}"}
    summary = SummaryOperator(task_id="summary")
    # A contact is created under its account: organisations first. Products stand alone (an
    # item's group and unit are Exact's own, looked up).
    export_relation_groups("exact", **common) >> summary
    stream_group("exact", "tribe_products", **common) >> summary
    webhook_express(dag, "exact") >> summary  # a webhook run's steps, in one task
