"""Invoices over XML-RPC / JSON-RPC: computed totals and journal items, posting with the journal
sequence, the guards on posted entries, reset/cancel, payments and payment_state, reversal."""
from __future__ import annotations

import xmlrpc.client

import pytest
import requests

from sandbox.odoo.clients import OdooServer


@pytest.fixture(scope="module", params=[17, 18])
def odoo(request):
    with OdooServer(version=request.param) as server:
        ex = server.execute
        server.customer = ex("res.partner", "create", {"name": "Klant BV", "is_company": True})
        server.vendor = ex("res.partner", "create", {"name": "Leverancier BV", "is_company": True})
        taxes = {(t["name"], t["type_tax_use"]): t["id"] for t in ex("account.tax", "search_read", [],
                                                                       fields=["name", "type_tax_use"])}
        server.tax21, server.tax9 = taxes[("21%", "sale")], taxes[("9%", "sale")]
        server.service = ex("product.product", "create", {"name": "Consultancy", "default_code": "CONS",
                                                          "list_price": 100.0, "type": "service"})
        server.goods = ex("product.product", "create", {"name": "Boek", "list_price": 10.0,
                                                        "taxes_id": [(6, 0, [server.tax9])], "standard_price": 6.0})
        yield server


def invoice(odoo, *, post=True, kind="out_invoice", partner=None, date="2026-03-15", **extra):
    lines = extra.pop("lines", [(0, 0, {"product_id": odoo.service, "quantity": 3})])
    move = odoo.execute("account.move", "create", {"move_type": kind, "partner_id": partner or odoo.customer,
                                                   "invoice_date": date, "invoice_line_ids": lines, **extra})
    if post:
        assert odoo.execute("account.move", "action_post", [move]) is False
    return move


def read(odoo, move, *fields):
    return odoo.execute("account.move", "read", [move], fields=list(fields))[0]


def fault_of(call, *args, **kwargs) -> xmlrpc.client.Fault:
    with pytest.raises(xmlrpc.client.Fault) as caught:
        call(*args, **kwargs)
    return caught.value


def test_draft_totals_and_journal_items(odoo):
    move = invoice(odoo, post=False, lines=[(0, 0, {"product_id": odoo.service, "quantity": 3}),
                                            (0, 0, {"product_id": odoo.goods, "quantity": 2, "discount": 10})])
    row = read(odoo, move, "name", "display_name", "state", "amount_untaxed", "amount_tax", "amount_total",
               "amount_residual", "payment_state", "invoice_line_ids", "line_ids", "journal_id", "currency_id")
    assert row["name"] == "/" and row["display_name"] == f"Draft Invoice (* {move})" and row["state"] == "draft"
    assert (row["amount_untaxed"], row["amount_tax"], row["amount_total"]) == (318.0, 64.62, 382.62)
    assert row["amount_residual"] == 382.62 and row["payment_state"] == "not_paid"
    assert row["journal_id"][1] == "Customer Invoices" and row["currency_id"][1] == "EUR"
    assert len(row["invoice_line_ids"]) == 2 and len(row["line_ids"]) == 5  # + 2 tax lines + receivable
    items = odoo.execute("account.move.line", "search_read", [("move_id", "=", move)],
                         fields=["display_type", "debit", "credit", "tax_ids", "price_subtotal", "account_id"])
    assert sum(i["debit"] for i in items) == pytest.approx(sum(i["credit"] for i in items)) == 382.62
    receivable = [i for i in items if i["display_type"] == "payment_term"]
    assert receivable[0]["debit"] == 382.62 and receivable[0]["account_id"][1] == "1300 Debiteuren"
    book = [i for i in items if i["display_type"] == "product" and i["price_subtotal"] == 18.0]
    assert book[0]["tax_ids"] == [odoo.tax9]  # the product's own sales tax


def test_tax_included_prices(odoo):
    included = {"price_include": True} if odoo.state.version == 17 else {"price_include_override": "tax_included"}
    tax = odoo.execute("account.tax", "create", {"name": f"21% incl {odoo.state.version}", "amount": 21.0, **included})
    move = invoice(odoo, post=False, lines=[(0, 0, {"name": "Incl.", "quantity": 1, "price_unit": 121.0,
                                                    "tax_ids": [(6, 0, [tax])]})])
    assert (read(odoo, move, "amount_untaxed")["amount_untaxed"], read(odoo, move, "amount_total")["amount_total"]) \
        == (100.0, 121.0)


def test_posting_names_and_checks(odoo):
    first, second = invoice(odoo, date="2025-11-03"), invoice(odoo, date="2025-11-20")
    assert read(odoo, first, "name")["name"] == "INV/2025/00001"
    assert read(odoo, second, "name")["name"] == "INV/2025/00002"
    bill = invoice(odoo, kind="in_invoice", partner=odoo.vendor, date="2025-11-07",
                   lines=[(0, 0, {"product_id": odoo.goods, "quantity": 5})])
    row = read(odoo, bill, "name", "amount_untaxed", "amount_total_signed")
    assert row["name"] == "BILL/2025/11/0001"  # purchase journals number per month
    # cost price, the default purchase tax (21%), and a bill counts negative in the signed amounts
    assert row["amount_untaxed"] == 30.0 and row["amount_total_signed"] == -36.3
    refund = invoice(odoo, kind="out_refund", date="2025-12-01")
    assert read(odoo, refund, "name")["name"] == "RINV/2025/00001"
    again = fault_of(odoo.execute, "account.move", "action_post", [first])
    assert again.faultCode == 2 and "is already posted" in again.faultString
    nobody = odoo.execute("account.move", "create", {"move_type": "out_invoice",
                                                     "invoice_line_ids": [(0, 0, {"product_id": odoo.service})]})
    assert "The field 'Customer' is required" in fault_of(odoo.execute, "account.move", "action_post",
                                                          [nobody]).faultString
    empty = odoo.execute("account.move", "create", {"move_type": "out_invoice", "partner_id": odoo.customer})
    assert "add a line" in fault_of(odoo.execute, "account.move", "action_post", [empty]).faultString
    undated = invoice(odoo, post=False, kind="in_invoice", partner=odoo.vendor, date=False)
    assert "date is required" in fault_of(odoo.execute, "account.move", "action_post", [undated]).faultString
    today = invoice(odoo, date=False)
    assert read(odoo, today, "invoice_date")["invoice_date"] == odoo.state.now().strftime("%Y-%m-%d")


def test_posted_entries_are_guarded(odoo):
    move = invoice(odoo)
    edit = fault_of(odoo.execute, "account.move", "write", [move],
                    {"invoice_line_ids": [(0, 0, {"product_id": odoo.goods})]})
    assert edit.faultCode == 2 and "reset it to draft" in edit.faultString
    assert odoo.execute("account.move", "write", [move], {"ref": "PO-42"}) is True  # harmless fields stay open
    delete = fault_of(odoo.execute, "account.move", "unlink", [move])
    assert delete.faultCode == 2 and "posted once" in delete.faultString


def test_reset_to_draft_returns_none_which_xmlrpc_cannot_marshal(odoo):
    move = invoice(odoo)
    name = read(odoo, move, "name")["name"]
    marshal = fault_of(odoo.execute, "account.move", "button_draft", [move])
    assert marshal.faultCode == 1 and "cannot marshal None" in marshal.faultString
    assert read(odoo, move, "state")["state"] == "draft"  # ...but the reset happened
    assert odoo.execute("account.move", "action_post", [move]) is False
    assert read(odoo, move, "name", "state") == {"id": move, "name": name, "state": "posted"}  # same number
    assert odoo.call("account.move", "button_cancel", [move])["result"] is None  # JSON has null
    assert read(odoo, move, "state", "payment_state") == {"id": move, "state": "cancel", "payment_state": "not_paid"}
    with pytest.raises(xmlrpc.client.Fault, match="Only draft journal entries can be cancelled"):
        odoo.execute("account.move", "button_cancel", [move])


def pay(odoo, move, **vals):
    context = {"active_model": "account.move", "active_ids": [move]}
    wizard = odoo.execute("account.payment.register", "create", vals, context=context)
    return odoo.execute("account.payment.register", "action_create_payments", [wizard], context=context)


def test_payments_move_payment_state_and_residual(odoo):
    move = invoice(odoo)  # 363.00
    stamp = read(odoo, move, "write_date")["write_date"]
    odoo.state.clock.advance(2)
    action = pay(odoo, move, amount=100.0, payment_date="2026-03-20")
    assert action["res_model"] == "account.payment" and isinstance(action["res_id"], int)
    row = read(odoo, move, "amount_residual", "payment_state", "write_date")
    assert (row["amount_residual"], row["payment_state"]) == (263.0, "partial")
    assert row["write_date"] > stamp  # a sync on write_date sees the payment
    pay(odoo, move)  # the default amount is what is left
    assert read(odoo, move, "amount_residual", "payment_state")["payment_state"] == "in_payment"
    payments = odoo.execute("account.payment", "search_read", [("partner_id", "=", odoo.customer)],
                            fields=["state", "amount", "reconciled_invoice_ids", "name"], order="id")
    assert payments[-1]["state"] == ("posted" if odoo.state.version == 17 else "in_process")
    assert payments[-1]["reconciled_invoice_ids"] == [move] and payments[-1]["name"].startswith("PBNK1/")
    for payment in payments[-2:]:  # the bank statement matches them
        response = requests.post(f"{odoo.url}/_sandbox/odoo/payments/{payment['id']}/match", timeout=5)
        assert response.status_code == 200
    assert read(odoo, move, "amount_residual", "payment_state") == {"id": move, "amount_residual": 0.0,
                                                                   "payment_state": "paid"}
    with pytest.raises(xmlrpc.client.Fault, match="nothing left to pay"):
        pay(odoo, move)
    draft = invoice(odoo, post=False)
    with pytest.raises(xmlrpc.client.Fault, match="only register payment for posted journal entries"):
        pay(odoo, draft)


def test_payment_control_endpoint_and_cancel(odoo):
    move = invoice(odoo)
    response = requests.post(f"{odoo.url}/_sandbox/odoo/payments", json={"move_id": move, "amount": 63.0}, timeout=5)
    assert response.status_code == 200
    body = response.json()
    assert body["payment_state"] == "partial" and body["amount_residual"] == 300.0
    odoo.execute("account.payment", "action_cancel", [body["payment_id"]])
    assert read(odoo, move, "payment_state", "amount_residual") == {"id": move, "payment_state": "not_paid",
                                                                   "amount_residual": 363.0}
    bad = requests.post(f"{odoo.url}/_sandbox/odoo/payments", json={"move_id": "x"}, timeout=5)
    assert bad.status_code == 400


def test_posting_raises_the_rank_without_touching_write_date(odoo):
    partner = odoo.execute("res.partner", "create", {"name": "Nieuwe Klant"})
    before = odoo.execute("res.partner", "read", [partner], fields=["customer_rank", "write_date"])[0]
    odoo.state.clock.advance(2)
    invoice(odoo, partner=partner)
    after = odoo.execute("res.partner", "read", [partner], fields=["customer_rank", "write_date"])[0]
    assert (before["customer_rank"], after["customer_rank"]) == (0, 1)
    assert after["write_date"] == before["write_date"]  # raw SQL in Odoo: a write_date sync misses it


def test_reversal_wizard(odoo):
    move = invoice(odoo)
    context = {"active_model": "account.move", "active_ids": [move]}
    wizard = odoo.execute("account.move.reversal", "create", {"reason": "wrong price"}, context=context)
    action = odoo.execute("account.move.reversal", "refund_moves", [wizard])
    refund = read(odoo, action["res_id"], "move_type", "state", "reversed_entry_id", "ref", "amount_total")
    assert refund["move_type"] == "out_refund" and refund["state"] == "draft"
    assert refund["reversed_entry_id"][0] == move and "wrong price" in refund["ref"]
    wizard = odoo.execute("account.move.reversal", "create", {}, context=context)
    action = odoo.execute("account.move.reversal", "modify_moves", [wizard])
    assert read(odoo, move, "payment_state")["payment_state"] == "reversed"
    assert read(odoo, action["res_id"], "state", "amount_total") == {"id": action["res_id"], "state": "draft",
                                                                    "amount_total": 363.0}


def test_foreign_currency_and_second_company(odoo):
    usd = odoo.execute("res.currency", "search", [("name", "=", "USD")])[0]
    move = invoice(odoo, currency_id=usd)
    row = read(odoo, move, "amount_total", "amount_total_signed", "currency_id")
    assert row["currency_id"][1] == "USD" and row["amount_total"] == 363.0
    assert row["amount_total_signed"] == round(363.0 / 1.08, 2)  # company currency (EUR)
    other = odoo.execute("res.company", "create", {"name": f"Second {odoo.state.version} BV"})
    odoo.execute("account.journal", "create", {"name": "Sales", "code": "INV", "type": "sale", "company_id": other})
    scoped = {"context": {"allowed_company_ids": [other]}}
    move = odoo.execute("account.move", "create", {"move_type": "out_invoice", "partner_id": odoo.customer,
                                                   "invoice_date": "2026-02-02",
                                                   "invoice_line_ids": [(0, 0, {"name": "Work", "price_unit": 50})]},
                        **scoped)
    odoo.execute("account.move", "action_post", [move], **scoped)
    assert read(odoo, move, "name", "company_id")["company_id"][0] == other
    assert read(odoo, move, "name")["name"] == "INV/2026/00001"  # each journal has its own sequence
