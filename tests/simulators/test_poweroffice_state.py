"""PowerOffice simulator's Python API: the store, seeding, org numbers, JSON Patch, timestamps."""
from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest
from stdnum.no import orgnr

from sandbox.poweroffice import PowerOfficeState, seed, valid_orgnr
from sandbox.poweroffice.dto import CUSTOMER_PATCH
from sandbox.poweroffice.jsonpatch import apply_patch
from sandbox.poweroffice.problems import ApiError
from sandbox.poweroffice.timefmt import fmt_ts, parse_ts


def test_valid_orgnr_always_passes_stdnum():
    rng = random.Random(1)
    numbers = [valid_orgnr(rng) for _ in range(500)]
    assert all(orgnr.is_valid(n) and len(n) == 9 and n[0] in "89" for n in numbers)
    assert len(set(numbers)) > 490


def test_seed_is_deterministic_and_varied():
    first, second = PowerOfficeState(), PowerOfficeState()
    made = seed(first, customers=60, suppliers=10, persons=8, products=30, invoices=5, rng_seed=11)
    seed(second, customers=60, suppliers=10, persons=8, products=30, invoices=5, rng_seed=11)
    names = [c["Name"] for c in first.all("customers")]
    assert names == [c["Name"] for c in second.all("customers")]
    customers = first.all("customers")
    companies = [c for c in customers if not c["IsPerson"]]
    assert all(orgnr.is_valid(c["OrganizationNumber"]) for c in companies)
    assert all(c["MailAddress"]["CountryCode"] == "NO" and len(c["MailAddress"]["ZipCode"]) == 4 for c in companies)
    dutch = [first.get("customers", cid) for cid in made["dutch_customers"]]
    assert dutch and all(c["IsPerson"] and c["MailAddress"]["CountryCode"] == "NL" for c in dutch)
    assert all(any(p in c["LastName"] for p in ("van", "de", "ter")) for c in dutch)
    people = [first.get("customers", cid) for cid in made["person_customers"]]
    assert people and all(c["FirstName"] and c["LastName"] and c["Name"] == f"{c['FirstName']} {c['LastName']}"
                          for c in people)
    assert made["archived_customers"] and all(first.get("customers", c)["IsActive"] is False
                                              for c in made["archived_customers"])
    assert len(made["shared_contact_ids"]) == 5
    assert all(first.get("suppliers", cid)["Name"] == first.get("customers", cid)["Name"]
               for cid in made["shared_contact_ids"])
    units = {p["UnitOfMeasureCode"] for p in first.all("products")}
    assert {"EA", "HUR", "KGM", "DAY"} <= units
    assert {t["CreditDays"] for t in first.all("payment_terms")} >= {14, 30}
    assert first.snapshot()["outgoing_invoices"] == 5 and len(made["contact_persons"]) == 8


def test_store_methods_and_kind_aliases():
    state = PowerOfficeState()
    customer = state.insert_customer(Name="Direkte AS", LastChangedDateTimeOffset="2020-01-01T00:00:00Z")
    assert customer["Number"] == 10000 and customer["LastChangedDateTimeOffset"].startswith("2020-01-01T00:00:00.0000000")
    assert state.get("Customers", customer["Id"]) == state.get("customer", str(customer["Id"])) == customer
    twin = state.insert_supplier(Id=customer["Id"], Name="Direkte AS")
    assert twin["Id"] == customer["Id"] and twin["Number"] == 20000
    other = state.insert("customers", {"Name": "Neste AS"})
    assert other["Id"] == customer["Id"] + 1  # contacts share one id space
    product = state.insert_product(Name="Vare", Code="V1", UnitPrice=100.0, ProductGroupCode="TJENESTER")
    assert product["ProductGroupCode"] == "TJENESTER" and product["StandardSalesAccount"] is None  # inherited
    order = state.insert_sales_order(CustomerId=customer["Id"], SalesOrderLines=[{"ProductCode": "V1", "Quantity": 2}])
    assert order["SalesOrderLines"][0]["TotalAmount"] == 250.0 and order["SalesOrderLines"][0]["VatCode"] == "3"
    invoice = state.send_invoice(order["Id"], VoucherDate=date(2026, 3, 1))
    assert invoice["Id"] == order["Id"] and invoice["VoucherDate"] == "2026-03-01" and invoice["DueDate"] == "2026-03-15"
    assert state.get("sales_orders", order["Id"]) is None
    with pytest.raises(KeyError):
        state.register_payment("7d1d2a8e-0000-4000-8000-000000000000", 1)
    with pytest.raises(ValueError):
        state.register_payment(invoice["Id"], 0)
    paid = state.register_payment(invoice["Id"], 300.0)  # overpaid: the credit stays on the payment entry
    assert paid["invoice"]["Balance"] == 0.0 and paid["payment"]["Balance"] == -50.0
    with pytest.raises(KeyError):
        state.all("nonsense")


def test_json_patch_rules():
    doc = {"Name": "A", "ContactGroupIds": [1], "MailAddress": None, "PhoneNumber": "1"}
    out = apply_patch(doc, [{"op": "add", "path": "/contactGroupIds/0", "value": "3"},
                            {"op": "copy", "from": "/Name", "path": "/LegalName"},
                            {"op": "move", "from": "/PhoneNumber", "path": "/WebsiteUrl"},
                            {"op": "add", "path": "/MailAddress/ZipCode", "value": "0150"},
                            {"op": "test", "path": "/Name", "value": "A"},
                            {"op": "remove", "path": "/ContactGroupIds/-"}],
                      CUSTOMER_PATCH, title="T", dto_name="CustomerPatchDto")
    assert out["ContactGroupIds"] == [3] and out["LegalName"] == "A" and out["WebsiteUrl"] == "1"
    assert out["PhoneNumber"] is None and out["MailAddress"] == {"ZipCode": "0150"} and doc["ContactGroupIds"] == [1]
    for ops in ([{"op": "test", "path": "/Name", "value": "B"}], [{"op": "replace", "path": "/Number", "value": "x"}],
                [{"op": "swap", "path": "/Name"}], {"op": "replace"}, []):
        with pytest.raises(ApiError) as err:
            apply_patch(doc, ops, CUSTOMER_PATCH, title="T", dto_name="CustomerPatchDto")
        assert err.value.status == 400


def test_timestamps_round_trip_with_seven_digits():
    moment = datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=UTC)
    text = fmt_ts(moment)
    assert text == "2026-11-22T10:00:00.1234560+00:00"
    assert parse_ts(text) == moment
    assert parse_ts("2021-09-25 08:03:00.1234567 -00:00") == datetime(2021, 9, 25, 8, 3, 0, 123456, tzinfo=UTC)
    assert parse_ts("2026-11-22T12:00:00.1234560 02:00") == moment  # a '+' lost to URL decoding
    assert parse_ts("2024-01-01") == datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_ts("22/11/2026")
