"""
### Exact Online ⇄ Tribe CRM: invoices paid, both ways, hourly

Tribe's Exact article: "When the invoice is paid, the status is updated automatically in both
systems." Per division (the settings' scopes), the receivables (`cashflow/Receivables`) of the
sales entries this integration booked that changed in the run's data interval: **fully paid** →
the Tribe invoice moves from Sent to **Paid**; **partially paid** is recorded in the export ledger
(total, open amount from `read/financial/ReceivablesList`) and stays Sent.

The other way: an invoice marked **Paid in Tribe** whose entry Exact still shows open is booked as
a payment in the division's bank or cash journal (`payments.<division>` in
`include/mappings/exact/settings.yaml`) — once: a ledger row is claimed before the booking and
looked up after a lost answer. Without that setting it is **reported as a difference** (counted
under conflicts in the run's note and summary, logged by invoice number), to be booked by hand.

**Reversed in Exact** — a payment taken back (the receivable open again after it was settled) or
the sales entry reversed — is **reported**, never acted on: Tribe's article says what a payment
does, not what its reversal does, so the Tribe invoice is left as it is (Paid stays Paid; a
reversed entry is never taken for paid), the run counts it under `reversed` and `differences`
(⚠ in the run's note), logs the invoice numbers, and a payment taken back is not booked again.

Hourly, inside Exact's budget (two to three reads per division an idle run), and **at once on
Exact's `FinancialTransactions` webhook** (a bank or cash entry, a reversal; `python -m tribe_operators.cli
webhooks subscribe --conn exact_default …` subscribes it): the event starts a run for the division
that sent it; a redelivered event starts nothing. Where Exact does not offer the topic the hourly
run alone reads payments. Trigger it by hand for a run now; backfill a range with
`airflow backfill create --dag-id exact_payments_to_tribe …`.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG

from tribe_operators.dag_factory import dag_settings, dry_run_param, payment_tasks
from tribe_operators.timetables import LocalCronIntervals

with DAG(
    dag_id="exact_payments_to_tribe",
    description="Exact Online ⇄ Tribe, hourly and on Exact's FinancialTransactions webhook: receivable fully paid → "
                "Tribe invoice Paid; partial recorded; reversed reported; Paid in Tribe → payment booked in the "
                "division's bank/cash journal or reported; one task per division",
    schedule=LocalCronIntervals("0 * * * *", timezone="UTC"),
    **dag_settings(tags=["exact", "import", "payments"], doc_md=__doc__, retry_delay=timedelta(minutes=2)),
    params={"dry_run": dry_run_param("Report; change nothing.")},
) as dag:
    payment_tasks("exact")
