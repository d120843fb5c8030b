"""
### Exact Online → Tribe CRM: relations and products, from Exact's sync endpoints

Tribe's help article on the Exact Online integration ("Relationship Synchronisation", "Product
Synchronisation", "Which Data Is Synchronised?"). Every hour this DAG brings into Tribe:

* **customers** and **suppliers** — accounts whose Status the settings' `relation_types` map to
  Customer (C unless you map more) and accounts marked `IsSupplier` → organisations with a Customer / Supplier relationship; an account that is both is
  **one organisation with both relationships**. Debtor and creditor number are the account's
  `Code`, trimmed;
* **contacts** — the contacts of those accounts → persons with a Contact relationship to their
  organisation (organisations first: a contact hangs under its organisation's link);
* **product groups**, then **products** — item groups, items → products (name, code, unit, group,
  purchase and sales price), matched on the
  Exact item ID.

**Duplicate check, in the article's order**: the Exact ID, then the debtor / creditor number
(confirmed by the name), then **name + postcode + house number + addition** — the house number
split from `AddressLine1` ("Kerkstraat 12 A" = "12a" = "12-a" = "12/A") and compared with Tribe's
structured address; never on the name alone. A third-key match on two Tribe organisations is held
in quarantine naming both.

**Inactive relations are not imported** (blocked); one blocked later is no longer synchronised
and stays active in Tribe.

Each stream reads its sync endpoint after the Timestamp the last load committed: an idle run
costs one call per enabled stream (Exact allows 5,000 a day and 60 a minute per app and
division). Once a day (Amsterdam) products also asks for the items whose `EndDate` passed since
it last looked — a day passing changes nothing in Exact — and makes them Inactive in Tribe. **Daily budget spent**: the run stops reading cleanly, what it read is imported, the
note says "budget spent, resumes after 00:00 UTC", and the next run after that goes on from the
cursor.

**A date range** (the Params `from_date` / `to_date`, the initial import's, with `dry_run` for its
counts first; or `airflow backfill create`) reads the records *modified* in it from Exact's bulk
endpoints instead, and leaves the sync cursors where they were.

Connections: `exact_default` (authorized once: `python -m tribe_operators.cli oauth authorize
--conn exact_default`), `tribe_default`, `tribe_sync_db`.
"""

from __future__ import annotations

from airflow.sdk import DAG

from tribe_operators.dag_factory import dag_settings, scoped_import, window_params
from tribe_operators.operators import SummaryOperator
from tribe_operators.timetables import LocalCronIntervals

with DAG(
    dag_id="exact_to_tribe",
    description="Exact Online → Tribe, hourly and on Exact's webhooks: customer and supplier accounts → organisations "
                "(an account in both roles: one organisation); their contacts → contacts; items → products (sync "
                "endpoints, one call per stream an idle run); a spent daily budget stops cleanly and resumes",
    schedule=LocalCronIntervals("0 * * * *", timezone="UTC"),
    **dag_settings(tags=["exact", "import"], doc_md=__doc__),
    params=window_params("Exact Online"),
) as dag:
    # One mapped task group per division of the settings (``scopes``), each with its own links,
    # staging, cursors and counts. In each, customers and suppliers (roles of one account: read
    # and mapped first, resolved with each other's keys, then loaded in turn), their contacts
    # (under their organisation's link), then these streams one after the other (they share the
    # division's 60 calls a minute).
    divisions = scoped_import("exact", ["product_groups", "products"], dry_run="{{ params.dry_run }}")
    divisions >> SummaryOperator(task_id="summary")
