"""Fail fast on configuration in the invoice export (issue 28, item 4): a PowerOffice connection
with an unknown extra fails each invoice's task on its first try (retries=2 stay configured), its
row in the run's summary and the run's note say what to fix."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.integration.test_fail_fast import po_connection, tries
from tests.integration.test_invoice_export_dag import dags, run_note, sent, world  # noqa: F401 - fixtures
from tribe_operators.store.outcomes import run_outcomes

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]


@pytest.mark.timeout(180)
def test_an_invoice_export_with_an_unknown_extra_fails_at_once_saying_so(sims, world, link_db, monkeypatch):  # noqa: F811
    invoice = sent(sims, world)
    po_connection(sims, monkeypatch, page_sise=50)
    dagrun = world["invoice_dag"].test(logical_date=datetime.now(UTC))

    assert str(dagrun.state).endswith("failed")
    assert tries(dagrun)["export_invoice[0]"] == ("failed", 1)  # retries=2, not used
    (outcome,) = run_outcomes(link_db, dagrun.run_id)
    assert outcome["tribe_id"] == invoice["ID"] and outcome["status"] == "failed"
    assert "unknown extra field(s) ['page_sise']" in outcome["reason"] and "(configuration" in outcome["reason"]
    note = run_note(dagrun)
    assert note.startswith("✖ fix: connection 'poweroffice_default': unknown extra field(s)"), note
    assert "(export_invoice[0])" in note and "1 failed" in note
