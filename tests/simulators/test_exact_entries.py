"""The Exact simulator's sales entries (journal by code, EntryNumber unique per journal and year,
deferred lines), receivables, and documents with base64 attachments."""
from __future__ import annotations

import base64

import pytest

from sandbox.exact.seed import NL

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _ids(exact):
    accounts = exact.state.store.table(NL, "crm/Accounts").values()
    customer = next(a for a in accounts if a["Status"] == "C" and not a["Blocked"])
    gl = next(g for g in exact.state.store.table(NL, "financial/GLAccounts").values() if g["Code"] == "8000")
    return customer["ID"], gl["ID"]


def _entry(exact, **header):
    customer, gl = _ids(exact)
    body = {"Customer": customer, "Journal": "70", "EntryDate": "2026-03-15", "YourRef": "TRIBE-9001",
            "SalesEntryLines": [{"GLAccount": gl, "AmountFC": 100.0, "VATCode": "1", "Description": "Werk"},
                                {"GLAccount": gl, "AmountFC": 50.0, "VATCode": "2"}]}
    body.update(header)
    return body


def test_a_sales_entry_is_created_with_deferred_lines_and_a_receivable(exact, token):
    created = exact.post("salesentry/SalesEntries", token, _entry(exact, EntryNumber=26700042))
    assert created.status_code == 201, created.text
    entry = created.json()["d"]
    assert entry["EntryNumber"] == 26700042 and entry["Journal"] == "70" and entry["Status"] == 20
    assert entry["AmountFC"] == pytest.approx(150 + 21 + 4.5) and entry["VATAmountFC"] == pytest.approx(25.5)
    deferred = entry["SalesEntryLines"]["__deferred"]["uri"]
    assert deferred == f"{entry['__metadata']['uri']}/SalesEntryLines" and deferred.startswith(exact.url)
    lines = exact.get(deferred, token).json()["d"]["results"]
    assert sorted(line["LineNumber"] for line in lines) == [1, 2] and {line["EntryID"] for line in lines} == {entry["EntryID"]}
    expanded = exact.get(f"salesentry/SalesEntries(guid'{entry['EntryID']}')", token,
                         params={"$expand": "SalesEntryLines"}).json()["d"]
    assert len(expanded["SalesEntryLines"]["results"]) == 2
    receivable = exact.get("cashflow/Receivables", token, params={
        "$filter": f"TransactionEntryID eq guid'{entry['EntryID']}'"}).json()["d"]["results"]
    assert len(receivable) == 1 and receivable[0]["IsFullyPaid"] is False
    open_items = exact.get("read/financial/ReceivablesList", token, params={"$filter": "YourRef eq 'TRIBE-9001'"})
    assert [r["EntryNumber"] for r in open_items.json()["d"]["results"]] == [26700042]


def test_the_journal_is_a_code_and_a_guid_is_an_invalid_reference(exact, token):
    journal = next(j for j in exact.state.store.table(NL, "financial/Journals").values() if j["Code"] == "70")
    by_guid = exact.post("salesentry/SalesEntries", token, _entry(exact, Journal=journal["ID"]))
    assert by_guid.status_code == 400
    assert by_guid.json()["error"]["message"]["value"] == "Ongeldige referentie: Journals"
    purchase = exact.post("salesentry/SalesEntries", token, _entry(exact, Journal="60"))
    assert purchase.status_code == 400


def test_customer_journal_and_lines_are_required(exact, token):
    for missing in ("Customer", "Journal", "SalesEntryLines"):
        body = _entry(exact)
        body.pop(missing)
        response = exact.post("salesentry/SalesEntries", token, body)
        assert response.status_code == 400 and missing in response.json()["error"]["message"]["value"], missing
    bad_line = _entry(exact, SalesEntryLines=[{"AmountFC": 10.0}])
    assert exact.post("salesentry/SalesEntries", token, bad_line).status_code == 400


def test_entry_numbers_are_unique_per_journal_per_year(exact, token):
    assert exact.post("salesentry/SalesEntries", token, _entry(exact, EntryNumber=5001)).status_code == 201
    duplicate = exact.post("salesentry/SalesEntries", token, _entry(exact, EntryNumber=5001))
    assert duplicate.status_code == 400 and "5001" in duplicate.json()["error"]["message"]["value"]
    assert exact.post("salesentry/SalesEntries", token, _entry(exact, EntryNumber=5001, Journal="71")).status_code == 201
    next_year = _entry(exact, EntryNumber=5001, EntryDate="2027-01-05")
    assert exact.post("salesentry/SalesEntries", token, next_year).status_code == 201
    numbered = exact.post("salesentry/SalesEntries", token, _entry(exact)).json()["d"]
    assert numbered["EntryNumber"] and numbered["InvoiceNumber"] == numbered["EntryNumber"]


def test_a_negative_total_is_a_credit_note(exact, token):
    customer, gl = _ids(exact)
    credit = exact.post("salesentry/SalesEntries", token, _entry(
        exact, SalesEntryLines=[{"GLAccount": gl, "AmountFC": -40.0, "VATCode": "1"}])).json()["d"]
    assert credit["Type"] == 21 and credit["AmountFC"] < 0


def test_a_payment_takes_the_entry_off_the_receivables_list(exact, token):
    entry = exact.post("salesentry/SalesEntries", token, _entry(exact)).json()["d"]
    paid = exact.http.post(f"{exact.url}/_sandbox/payments",
                           json={"division": NL, "entry_id": entry["EntryID"], "amount": entry["AmountFC"]})
    assert paid.json()["IsFullyPaid"] is True
    rows = exact.get("read/financial/ReceivablesList", token, params={"$filter": "YourRef eq 'TRIBE-9001'"})
    assert rows.json()["d"]["results"] == []
    receivable = exact.get("cashflow/Receivables", token, params={
        "$filter": f"TransactionEntryID eq guid'{entry['EntryID']}'"}).json()["d"]["results"][0]
    assert receivable["IsFullyPaid"] is True and receivable["Status"] == 50


def test_a_document_takes_a_base64_attachment_and_refuses_raw_bytes(exact, token):
    customer, _ = _ids(exact)
    entry = exact.post("salesentry/SalesEntries", token, _entry(exact)).json()["d"]
    document = exact.post("documents/Documents", token, {"Subject": "Factuur 9001", "Type": 10, "Account": customer,
                                                         "FinancialTransactionEntryID": entry["EntryID"]})
    assert document.status_code == 201, document.text
    doc = document.json()["d"]
    assert doc["CategoryDescription"] == "Customers" and doc["HasEmptyBody"] is True and doc["TypeDescription"]
    raw = exact.post("documents/DocumentAttachments", token, {"Document": doc["ID"], "FileName": "f.pdf",
                                                              "Attachment": PDF.decode("latin-1")})
    assert raw.status_code == 400
    assert "'Attachment' to type 'Byte[]'" in raw.json()["error"]["message"]["value"]
    attached = exact.post("documents/DocumentAttachments", token, {
        "Document": doc["ID"], "FileName": "factuur-9001.pdf", "Attachment": base64.b64encode(PDF).decode()})
    assert attached.status_code == 201
    row = attached.json()["d"]
    assert row["Attachment"] is None and row["FileSize"] == len(PDF)
    download = exact.http.get(row["Url"] + "&Download=1", headers={"Authorization": f"Bearer {token}"})
    assert download.status_code == 200 and download.content == PDF
    assert exact.call("PUT", row["__metadata"]["uri"], token, json={"FileName": "x.pdf"}).status_code == 400
    linked = exact.call("PUT", f"salesentry/SalesEntries(guid'{entry['EntryID']}')", token, json={"Document": doc["ID"]})
    assert linked.status_code == 204
