"""A payment booked in Exact reaches Tribe by Exact's webhook, without waiting for the hour: the
Exact simulator, subscribed through our own ``ExactWebhooks.subscribe``, posts its signed
``FinancialTransactions`` event when a bank entry settles the receivable; the receiver
(``SystemReceiver``, as the plugin's route calls it) verifies it and starts
``exact_payments_to_tribe`` alone, for the division, with the event's conf; that run (dag.test)
marks the Tribe invoice Paid. The same event delivered again starts nothing.

Real pieces: the simulators over HTTP, the replay store on PostgreSQL, the DAG as Airflow runs
it; only the start of the run is ``dag.test`` instead of a queued run for a scheduler.
"""
from __future__ import annotations

import json
from typing import Any

import pytest

from sandbox.exact.receiver import CallbackReceiver
from sandbox.exact.seed import NL
from tests.fixtures.records import invoice_phase, payment_counts
from tests.integration.test_exact_invoices import FAST
from tests.integration.test_exact_payments import booked, dags, pay_by_bank, unpaced  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
SECRET = "exact-app-webhook-secret-payments-test"
SIGNED = pytest.mark.parametrize("world", [dict(FAST, webhook_secret=SECRET)], indirect=True, ids=["unpaced"])
PAYMENTS = "exact_payments_to_tribe"


def topic_of(body: bytes) -> str | None:
    return json.loads(body)["Content"]["Topic"] if body else None


@SIGNED
def test_a_payment_booked_in_exact_marks_the_invoice_paid_by_the_webhook(dags, unpaced, link_db):  # noqa: F811
    from tribe_operators.store.webhook_events import WebhookEvents
    from tribe_operators.systems.exact.hook import ExactOnlineHook
    from tribe_operators.systems.exact.webhooks import ExactWebhooks
    from tribe_operators.webhooks.inbound import SystemReceiver

    tribe, exact = unpaced
    exact.state.webhook_secret = SECRET  # the app's secret, as the connection has it
    [(invoice, entry)] = booked(tribe, exact, link_db, dags, 1)
    with CallbackReceiver() as callback:
        done = ExactWebhooks().subscribe(ExactOnlineHook(), callback.url, [str(NL)])
        assert ("FinancialTransactions", "subscribed") in [(s.topic, s.outcome) for s in done], done
        validations = len([s for s in done if s.outcome == "subscribed"])
        callback.wait_for(validations)
        pay_by_bank(exact, entry)
        calls = callback.wait_for(validations + 1)
    [body] = [c.body for c in calls if topic_of(c.body) == "FinancialTransactions"]

    started: list[tuple[str, str, dict[str, Any]]] = []

    def start_run(dag_id: str, run_id: str, conf: dict[str, Any]) -> str:
        started.append((dag_id, run_id, conf))
        return run_id

    receiver = SystemReceiver(events=lambda: WebhookEvents(link_db), start_run=start_run)
    status, answer = receiver.handle("exact", body)
    assert (status, answer["status"]) == (200, "triggered"), answer
    [(dag_id, run_id, conf)] = started
    assert (dag_id, conf["scope"], conf["division"]) == (PAYMENTS, "default", NL)  # not the relations import
    assert receiver.handle("exact", body)[1]["status"] == "duplicate" and len(started) == 1  # Exact's redelivery

    assert invoice_phase(tribe, invoice["ID"]) == "Sent"
    dagrun = dags[1].test(run_conf=conf)
    assert str(dagrun.state).endswith("success")
    assert invoice_phase(tribe, invoice["ID"]) == "Paid"
    assert payment_counts(link_db, dagrun.run_id)["default"]["paid"] == 1
