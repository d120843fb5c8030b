"""The Exact simulator's payments and their reversal over the REST API: a bank entry naming the
invoice (``OurRef``) settles the receivable and sends a signed ``FinancialTransactions`` webhook;
a line the other way takes the payment back (the receivable opens again, back in
``ReceivablesList``); a sales entry booked with ``Reversal`` and the invoice's number cancels the
original (both open items matched, the reversal's receivable ``TransactionIsReversal``)."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from sandbox.exact.receiver import CallbackReceiver
from sandbox.exact.seed import NL
from tests.simulators.test_exact_entries import _entry

RECEIVABLES = "cashflow/Receivables"


@pytest.fixture
def exact(server):
    server.state.reset()
    server.state.options.webhook_validation_delay_s = 0.0
    return server


def _receivable(exact, token, entry_id: str) -> dict:
    rows = exact.get(RECEIVABLES, token, params={"$filter": f"TransactionEntryID eq guid'{entry_id}'"}).json()
    return rows["d"]["results"][0]


def _open_items(exact, token) -> list[dict]:
    return exact.get("read/financial/ReceivablesList", token,
                     params={"$filter": "JournalCode eq '70'"}).json()["d"]["results"]


def _bank(exact, token, entry: dict, amount: float) -> dict:
    response = exact.post("financialtransaction/BankEntries", token, {"Journal": "20", "BankEntryLines": [
        {"Account": entry["Customer"], "OurRef": entry["InvoiceNumber"], "AmountFC": amount}]})
    assert response.status_code == 201, response.text
    return response.json()["d"]


def test_a_payment_settles_signed_on_its_topic_and_taken_back_opens_the_receivable_again(exact, token):
    entry = exact.post("salesentry/SalesEntries", token, _entry(exact)).json()["d"]
    with CallbackReceiver() as hook:
        response = exact.post("webhooks/WebhookSubscriptions", token,
                              {"CallbackURL": hook.url, "Topic": "FinancialTransactions"})
        assert response.status_code == 201, response.text
        hook.wait_for(1)  # the validation POST
        payment = _bank(exact, token, entry, -entry["AmountFC"])
        calls = hook.wait_for(2)
    assert _receivable(exact, token, entry["EntryID"])["IsFullyPaid"] is True
    assert all(item["EntryNumber"] != entry["EntryNumber"] for item in _open_items(exact, token))
    body = calls[1].body.decode()
    raw = body[len('{"Content":'):body.rindex(',"HashCode":')]
    content = json.loads(raw)
    assert (content["Topic"], content["Action"], content["Key"], content["Division"]) == (
        "FinancialTransactions", "Create", payment["EntryID"], NL)
    expected = hmac.new(exact.state.webhook_secret.encode(), raw.encode(), hashlib.sha256).hexdigest().upper()
    assert json.loads(body)["HashCode"] == expected

    _bank(exact, token, entry, entry["AmountFC"])  # the same line the other way: taken back
    receivable = _receivable(exact, token, entry["EntryID"])
    assert (receivable["IsFullyPaid"], receivable["Status"], receivable["EndDate"]) == (False, 20, None)
    [item] = [i for i in _open_items(exact, token) if i["EntryNumber"] == entry["EntryNumber"]]
    assert item["Amount"] == pytest.approx(entry["AmountFC"])


def test_a_reversal_entry_cancels_the_invoice_it_names(exact, token):
    entry = exact.post("salesentry/SalesEntries", token, _entry(exact)).json()["d"]
    lines = [{"GLAccount": line["GLAccount"], "AmountFC": -line["AmountFC"], "VATCode": line["VATCode"]}
             for line in exact.state.store.table(NL, "salesentry/SalesEntryLines").values()
             if line["EntryID"] == entry["EntryID"]]
    response = exact.post("salesentry/SalesEntries", token, _entry(
        exact, Reversal=True, InvoiceNumber=entry["InvoiceNumber"], SalesEntryLines=lines))
    assert response.status_code == 201, response.text
    reversal = response.json()["d"]
    assert reversal["Reversal"] is True and reversal["EntryNumber"] != entry["EntryNumber"]
    original, own = _receivable(exact, token, entry["EntryID"]), _receivable(exact, token, reversal["EntryID"])
    assert (original["IsFullyPaid"], original["Status"], original["TransactionIsReversal"]) == (True, 50, False)
    assert (own["IsFullyPaid"], own["TransactionIsReversal"], own["InvoiceNumber"]) == (
        True, True, entry["InvoiceNumber"])
    numbers = {entry["EntryNumber"], reversal["EntryNumber"]}
    assert [i for i in _open_items(exact, token) if i["EntryNumber"] in numbers] == []

    refused = exact.post("salesentry/SalesEntries", token, _entry(exact, Reversal=True, InvoiceNumber=999999))
    assert refused.status_code == 400  # a reversal names an invoice of the customer
