"""The operator CLI against the real link database."""
from __future__ import annotations

import io

import pytest

from tribe_operators.cli import main
from tribe_operators.store.ledger import ExportLedger
from tribe_operators.store.quarantine import Quarantine

pytestmark = pytest.mark.postgres


def test_list_and_dismiss_quarantine_and_show_a_ledger_row(link_db, pg_url):
    url = pg_url.render_as_string(hide_password=False)
    Quarantine(link_db, "poweroffice").add(
        [{"record_id": "7", "field": "UnitOfMeasureCode", "reason": "PowerOffice unit 'MON' is not mapped"}],
        system="poweroffice", stream="products", run_id="r1")
    out = io.StringIO()
    assert main(["--db-url", url, "--integration", "poweroffice", "quarantine", "list"], out) == 0
    assert "poweroffice/products\t7\tUnitOfMeasureCode\ttries=1\tPowerOffice unit 'MON'" in out.getvalue()
    assert main(["--db-url", url, "--integration", "poweroffice", "quarantine", "dismiss", "--stream", "products", "--id", "7"], io.StringIO()) == 0
    assert Quarantine(link_db, "poweroffice").open() == []

    ExportLedger(link_db, "poweroffice").claim("inv-1", "tribe:inv-1", "2026000001")
    out = io.StringIO()
    assert main(["--db-url", url, "--integration", "poweroffice", "ledger", "show", "--tribe-id", "inv-1"], out) == 0
    assert '"state": "in_flight"' in out.getvalue()
    assert main(["--db-url", url, "--integration", "poweroffice", "ledger", "show", "--tribe-id", "nope"], io.StringIO()) == 1
