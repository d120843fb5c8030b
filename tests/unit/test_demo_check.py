"""``tests/demo_check.py`` (what .ci/run checks the README's main job with) holds the Exact act to
its promise: two invoices booked with one PDF document each, one with a credit line, one paid in
Exact and Paid in Tribe, one Paid in Tribe and its payment booked once in bank journal 20."""
from __future__ import annotations

import copy

import pytest

from tests.demo_check import exact_invoice_problems


def _invoice(number: str, *, credit: int, booked_from_tribe: bool) -> dict:
    return {"number": number, "tribe_phase": "Paid", "credit_lines": credit,
            "invoice_ledger": {"state": "sent", "id": f"entry-{number}", "number": number},
            "payment_ledger": {"state": "sent", "id": f"bank-{number}", "number": None} if booked_from_tribe else None,
            "exact": {"entry_paid": True, "journal": "70", "documents": 1, "sales_invoice_documents": 1,
                      "attachments": [f"Factuur {number}.pdf"], "bank_journal": "20" if booked_from_tribe else None}}


GOOD = [_invoice("2026000001", credit=0, booked_from_tribe=False), _invoice("2026000002", credit=1, booked_from_tribe=True)]


def test_the_act_as_promised_passes():
    assert exact_invoice_problems(GOOD) == []


@pytest.mark.parametrize(("change", "says"), [
    (lambda r: r.pop(), "reported 1 invoice(s), not 2"),
    (lambda r: r[0]["invoice_ledger"].update(state="in_flight"), "is not booked in Exact"),
    (lambda r: r[1]["exact"].update(documents=2), "2 document(s) in Exact"),
    (lambda r: r[0]["exact"].update(attachments=[]), "attachments [] in Exact, not one PDF"),
    (lambda r: r[0].update(tribe_phase="Sent"), "Sent in Tribe"),
    (lambda r: r[1]["exact"].update(entry_paid=False), "settled in Exact: False"),
    (lambda r: r[1].update(credit_lines=0), "no Exact demo invoice has a credit line"),
    (lambda r: r[1].update(payment_ledger=None), "0 Exact demo invoice(s) with a payment booked from Tribe"),
    (lambda r: r[0].update(payment_ledger={"state": "sent", "id": "x"}), "2 Exact demo invoice(s) with a payment"),
    (lambda r: r[1]["exact"].update(bank_journal="10"), "in bank journal 20, expected"),
])
def test_an_outcome_missing_fails_the_check_naming_it(change, says):
    rows = copy.deepcopy(GOOD)
    change(rows)
    assert any(says in problem for problem in exact_invoice_problems(rows)), exact_invoice_problems(rows)
