"""PowerOffice simulator over real HTTP: sales orders -> outgoing invoices -> payments -> ledger."""
from __future__ import annotations

from datetime import date, timedelta

import requests

from tests.simulators.test_poweroffice_support import (  # noqa: F401  (fixtures: po, api)
    api_fixture,
    po_fixture,
    problem,
    replace,
)


def _customer(api, name: str, **extra) -> dict:
    body = {"Name": name, "EmailAddress": f"faktura@{name.split()[0].lower()}.no",
            "MailAddress": {"AddressLine1": "Kirkegata 5", "ZipCode": "7013", "City": "Trondheim"}} | extra
    response = api.post("Customers", body)
    assert response.status_code == 201, response.text
    return response.json()


def _product(api, code: str, price: float, account: int) -> dict:
    response = api.post("Products", {"Name": f"Vare {code}", "Code": code, "UnitPrice": price,
                                     "StandardSalesAccount": account})
    assert response.status_code == 200, response.text
    return response.json()


def _order(api, customer: dict, lines: list[dict], **extra) -> dict:
    response = api.post("SalesOrders/Complete", {"CustomerNo": customer["Number"], "SalesOrderLines": lines} | extra)
    assert response.status_code == 201, response.text
    return response.json()


def test_complete_order_computes_lines_from_product_and_account_vat(api):
    customer = _customer(api, "Ordre AS", PaymentTermId=2)  # 30 days
    high, exempt = _product(api, "S-HIGH", 1000.0, 3000), _product(api, "S-FREE", 500.0, 3100)
    middle = _product(api, "S-MID", 200.0, 3030)
    order = _order(api, customer, [
        {"ProductCode": "S-HIGH", "Quantity": 3, "Allowance": 10},
        {"ProductId": exempt["Id"], "Quantity": 2},
        {"ProductCode": middle["Code"], "Quantity": 1, "ProductUnitPrice": 180.0, "Description": "Rabattert"},
        {"LineType": "Text", "Description": "Takk for handelen"}],
        ExternalImportReference="TRIBE-ORDER-1", CustomerReference="Ola")
    assert order["CustomerId"] == customer["Id"] and order["SalesOrderStatus"] == "Draft"
    assert order["PaymentTerm"] == 30 and order["LineCount"] == 4 and order["IsCreatedByCurrentIntegration"]
    lines = order["SalesOrderLines"]
    assert [ln["SortOrder"] for ln in lines] == [0, 1, 2, 3]
    first, second, third, text = lines
    assert (first["ProductId"], first["Description"], first["ProductUnitPrice"]) == (high["Id"], "Vare S-HIGH", 1000.0)
    assert (first["NetAmount"], first["VatCode"], first["VatRate"], first["VatAmount"], first["TotalAmount"]) == \
        (2700.0, "3", 0.25, 675.0, 3375.0)
    assert (second["NetAmount"], second["VatCode"], second["VatAmount"]) == (1000.0, "5", 0.0)
    assert (third["NetAmount"], third["VatCode"], third["VatAmount"], third["Description"]) == (180.0, "31", 27.0, "Rabattert")
    assert text["NetAmount"] == 0.0 and text["LineType"] == "Text"
    assert order["NetAmount"] == 3880.0 and order["TotalAmount"] == 3880.0 + 675.0 + 27.0
    again = api.get(f"SalesOrders/{order['Id']}/Complete").json()
    assert again == order
    header = api.get(f"SalesOrders/{order['Id']}").json()
    assert "SalesOrderLines" not in header and header["TotalAmount"] == order["TotalAmount"]


def test_complete_order_errors(api):
    customer = _customer(api, "Feil AS")
    assert "Customer with number = 19999" in problem(api.post("SalesOrders/Complete", {"CustomerNo": 19999}), 404)["detail"]
    problem(api.post("SalesOrders/Complete", {"CustomerId": 1}), 404)
    problem(api.post("SalesOrders/Complete", {"SalesOrderLines": []}), 400)
    missing = api.post("SalesOrders/Complete", {"CustomerId": customer["Id"],
                                                "SalesOrderLines": [{"ProductCode": "NOPE", "Quantity": 1}]})
    assert problem(missing, 404)["detail"] == "Product with code = 'NOPE' not found."
    _order(api, customer, [{"Description": "Fri tekst", "ProductUnitPrice": 10.0, "Quantity": 1}],
           ExternalImportReference="DUP-1")
    dup = problem(api.post("SalesOrders/Complete", {"CustomerId": customer["Id"], "ExternalImportReference": "DUP-1"}), 400)
    assert dup["detail"].startswith("ExternalImportReference is already in use. 'DUP-1'")
    problem(api.post("SalesOrders/Complete", {"CustomerId": customer["Id"], "DepartmentCode": "Avdeling10"}), 404)


def test_order_list_filters_lines_and_locking(api):
    customer = _customer(api, "Linjer AS")
    product = _product(api, "L-1", 100.0, 3000)
    order = _order(api, customer, [{"ProductId": product["Id"], "Quantity": 1}])
    oid = order["Id"]
    listed = api.rows("SalesOrders", customerNos=str(customer["Number"]))
    assert [o["Id"] for o in listed] == [oid] and "SalesOrderLines" not in listed[0]
    assert oid in {o["Id"] for o in api.rows("SalesOrders", onlyCreatedByCurrentIntegration="true", orderStatus="Draft")}
    line = api.post(f"SalesOrders/{oid}/Lines", {"ProductCode": "L-1", "Quantity": 4})
    assert line.status_code == 201 and line.json()["NetAmount"] == 400.0 and line.json()["SortOrder"] == 1
    assert api.get(f"SalesOrders/{oid}").json()["TotalAmount"] == 625.0
    lid = line.json()["Id"]
    patched = api.patch(f"SalesOrders/{oid}/Lines/{lid}", replace("/Quantity", 2) + replace("/Allowance", 50))
    assert patched.status_code == 200 and patched.json()["NetAmount"] == 100.0
    assert [ln["Id"] for ln in api.rows(f"SalesOrders/{oid}/Lines")][1] == lid
    assert api.get(f"SalesOrders/{oid}/Lines/{lid}").json()["Quantity"] == 2.0
    problem(api.patch(f"SalesOrders/{oid}/Lines/{lid}", replace("/NetAmount", 1)), 400)
    since = api.get(f"SalesOrders/{oid}").json()["LastChangedDateTimeOffset"]
    confirmed = api.patch(f"SalesOrders/{oid}", replace("/SalesOrderStatus", "Confirmed"))
    assert confirmed.status_code == 200 and confirmed.json()["SalesOrderStatus"] == "Confirmed"
    assert [o["Id"] for o in api.rows("SalesOrders", lastChangedDateTimeOffsetGreaterThan=since)] == [oid]
    assert oid in {o["Id"] for o in api.rows("SalesOrders", orderStatus="confirmed")}
    problem(api.post(f"SalesOrders/{oid}/Lines", {"ProductId": product["Id"], "Quantity": 1}), 400)
    problem(api.patch(f"SalesOrders/{oid}", replace("/CustomerReference", "x")), 400)
    problem(api.delete(f"SalesOrders/{oid}"), 409)
    api.patch(f"SalesOrders/{oid}", replace("/SalesOrderStatus", "Draft"))
    assert api.delete(f"SalesOrders/{oid}/Lines/{lid}").status_code == 200
    assert api.get(f"SalesOrders/{oid}").json()["LineCount"] == 1
    assert api.delete(f"SalesOrders/{oid}").status_code == 200
    problem(api.get(f"SalesOrders/{oid}"), 404)
    assert problem(api.get("SalesOrders", orderStatus="Sent"), 400)["title"] == "Unable to cast object(s)"


def test_send_invoice_then_pay_it(po, api):
    state, url, _ = po
    customer = _customer(api, "Faktura AS", PaymentTermId=1)  # 14 days
    product = _product(api, "F-1", 1000.0, 3000)
    order = _order(api, customer, [{"ProductId": product["Id"], "Quantity": 2}], ExternalImportReference="INV-1",
                   CustomMatchingReference="TRIBE-INV-1")
    oid = order["Id"]
    before_send = api.get("OutgoingInvoices", Fields="InvoiceNo,SentDateTimeOffset", OrderBy="InvoiceNo desc", PageSize=1)
    last_no, last_sent = before_send.json()[0]["InvoiceNo"], before_send.json()[0]["SentDateTimeOffset"]
    sent = api.post(f"SalesOrders/{oid}/createAndSendInvoice", {"DeliveryType": "Auto"})
    assert sent.status_code == 202
    assert sent.json()["Id"] == oid and sent.json()["DeliveryType"] == "Auto"
    location = sent.headers["Location"]
    assert location.endswith(f"/v2/SalesOrders/sentState?id={oid}")
    status = api.session.get(location, timeout=5)
    assert status.status_code == 200
    [sent_state] = status.json()
    assert sent_state["InvoiceNo"] == last_no + 1 and sent_state["SentDateTimeOffset"]
    assert sent_state["IsInvoiceBeingProcessed"] is False and sent_state["LastErrorMessage"] is None
    problem(api.get(f"SalesOrders/{oid}"), 404)  # the draft became the invoice
    invoice = api.get(f"OutgoingInvoices/{oid}").json()
    assert invoice["Id"] == oid and invoice["InvoiceNo"] == last_no + 1 and invoice["CustomerNo"] == customer["Number"]
    assert invoice["TotalAmount"] == 2500.0 and invoice["NetAmount"] == 2000.0 and invoice["Balance"] == 2500.0
    assert invoice["VoucherType"] == "OutgoingInvoice" and invoice["InvoiceDeliveryType"] == "PdfByEmail"
    voucher_date = date.fromisoformat(invoice["VoucherDate"])
    assert date.fromisoformat(invoice["DueDate"]) == voucher_date + timedelta(days=14)
    assert invoice["DeliveryAddressCity"] == "Trondheim" and invoice["Cid"].startswith(str(customer["Number"]))
    lines = api.rows(f"OutgoingInvoices/{oid}/Lines")
    assert [(ln["AccountNo"], ln["VatCode"], ln["VatAmount"], ln["NetAmount"]) for ln in lines] == [(3000, "3", 500.0, 2000.0)]
    assert isinstance(lines[0]["Id"], int)
    # filters
    assert [i["Id"] for i in api.rows("OutgoingInvoices", invoiceIds=oid)] == [oid]
    assert [i["Id"] for i in api.rows("OutgoingInvoices", invoiceNos=f"{last_no + 1}-")] == [oid]
    assert [i["Id"] for i in api.rows("OutgoingInvoices", customerNos=str(customer["Number"]))] == [oid]
    assert [i["Id"] for i in api.rows("OutgoingInvoices", sentDateTimeOffsetGreaterThan=last_sent)] == [oid]
    assert oid in {i["Id"] for i in api.rows("OutgoingInvoices", fromDate=invoice["VoucherDate"], toDate=invoice["VoucherDate"])}
    assert oid not in {i["Id"] for i in api.rows("OutgoingInvoices", toDate=str(voucher_date - timedelta(days=1)))}
    mine = api.rows("OutgoingInvoices", onlyCreatedByCurrentIntegration="true")
    assert oid in {i["Id"] for i in mine} and all(i["IsCreatedByCurrentIntegration"] for i in mine)
    assert oid in {i["Id"] for i in api.rows("OutgoingInvoices", onlyUnpaidInvoices="true")}
    problem(api.post("SalesOrders/Complete", {"CustomerId": customer["Id"], "ExternalImportReference": "INV-1"}), 400)
    # pay in two parts through the control API
    balance_mark = invoice["BalanceLastChangedDateTimeOffset"]
    part = requests.post(f"{url}/_sandbox/payments", json={"invoice_id": oid, "amount": 1000}, timeout=5)
    assert part.status_code == 200 and part.json()["invoice"]["Balance"] == 1500.0
    changed = api.rows("OutgoingInvoices", balanceLastChangedDateTimeOffsetGreaterThan=balance_mark)
    assert [i["Id"] for i in changed] == [oid]
    rest = state.register_payment(oid, 1500.0)
    assert rest["invoice"]["Balance"] == 0.0 and rest["payment"]["Amount"] == -1500.0
    assert api.get(f"OutgoingInvoices/{oid}").json()["Balance"] == 0.0
    assert oid not in {i["Id"] for i in api.rows("OutgoingInvoices", onlyUnpaidInvoices="true")}
    assert requests.post(f"{url}/_sandbox/payments", json={"invoice_id": oid, "amount": -5}, timeout=5).status_code == 400
    assert requests.post(f"{url}/_sandbox/payments", json={"invoice_id": "7d1d2a8e-0000-4000-8000-000000000000",
                                                            "amount": 5}, timeout=5).status_code == 404
    # the customer ledger: one invoice entry and two payments sharing the MatchId
    entries = api.rows("Customerledger/EntriesByMatchId", matchId=invoice["MatchId"])
    assert sorted(e["Amount"] for e in entries) == [-1500.0, -1000.0, 2500.0]
    assert all(e["Balance"] == 0.0 and e["MatchId"] == invoice["MatchId"] for e in entries)
    assert {e["VoucherType"] for e in entries} == {"OutgoingInvoice", "BankJournal"}
    assert all(e["LastChangedDateTimeOffset"] > balance_mark for e in entries)
    today = str(state.today())
    balances = {b["CustomerId"]: b["Balance"] for b in api.rows("Customerledger/CustomerBalances", date=today)}
    assert balances[customer["Id"]] == 0.0
    yesterday = str(voucher_date - timedelta(days=1))
    assert customer["Id"] not in {b["CustomerId"] for b in api.rows("Customerledger/CustomerBalances", date=yesterday)}
    open_items = api.rows("Customerledger/OpenItems", date=today, customerNos=str(customer["Number"]))
    assert open_items == []
    statement = api.rows("Customerledger/Statement", fromDate=yesterday, toDate=today, customerNos=str(customer["Number"]))
    assert len(statement) == 3 and statement[0]["InvoiceNo"] == str(invoice["InvoiceNo"])
    assert [e["VoucherType"] for e in api.rows("Customerledger/Statement", fromDate=yesterday, toDate=today,
                                                customerNos=str(customer["Number"]), voucherTypes="BankJournal")] == ["BankJournal"] * 2
    problem(api.get("Customerledger/OpenItems"), 400)
    problem(api.get("Customerledger/Statement", fromDate=today, toDate=today, voucherTypes="Nonsense"), 400)


def test_open_items_and_balances_for_partial_payment(po, api):
    state = po[0]
    customer = _customer(api, "Delvis AS")
    order = _order(api, customer, [{"Description": "Arbeid", "ProductUnitPrice": 800.0, "Quantity": 1}])
    sent = api.post(f"SalesOrders/{order['Id']}/createAndSendInvoice", {"DeliveryType": "PdfPrintForDownload"})
    assert sent.status_code == 202
    invoice = api.get(f"OutgoingInvoices/{order['Id']}").json()
    assert invoice["InvoiceDeliveryType"] == "Print" and invoice["TotalAmount"] == 1000.0
    state.register_payment(order["Id"], 400.0)
    today = str(state.today())
    [item] = api.rows("Customerledger/OpenItems", date=today, customerNos=str(customer["Number"]))
    assert item["Amount"] == 1000.0 and item["Balance"] == 600.0
    partly = api.rows("Customerledger/OpenItems", date=today, onlyBalancesLessThanAmount="true",
                      customerNos=str(customer["Number"]))
    assert [e["Id"] for e in partly] == [item["Id"]]
    balances = {b["CustomerId"]: b["Balance"] for b in api.rows("Customerledger/CustomerBalances", date=today,
                                                                 includeOnlyOpenItems="true")}
    assert balances[customer["Id"]] == 600.0
    assert api.get(f"OutgoingInvoices/{order['Id']}").json()["Balance"] == 600.0


def test_send_errors(po, api):
    state = po[0]
    customer = _customer(api, "Tom AS")
    empty = _order(api, customer, [])
    assert "no lines" in problem(api.post(f"SalesOrders/{empty['Id']}/createAndSendInvoice", {}), 400)["detail"]
    problem(api.post("SalesOrders/7d1d2a8e-0000-4000-8000-000000000000/createAndSendInvoice", {}), 404)
    no_mail = api.post("Customers", {"Name": "Uten Epost AS"}).json()
    order = _order(api, no_mail, [{"Description": "X", "ProductUnitPrice": 1.0, "Quantity": 1}])
    problem(api.post(f"SalesOrders/{order['Id']}/createAndSendInvoice", {"DeliveryType": "PdfByEmail"}), 400)
    state.allow_send_invoice = False
    try:
        body = problem(api.post(f"SalesOrders/{order['Id']}/createAndSendInvoice", {}), 400)
        assert body["title"] == "Missing privilege"
    finally:
        state.allow_send_invoice = True
    pending = api.get("SalesOrders/sentState", id=order["Id"])
    assert pending.status_code == 204 and pending.content == b""
    problem(api.get("SalesOrders/sentState", id="7d1d2a8e-0000-4000-8000-000000000000"), 404)
