"""Seeded data: deterministic, valid Dutch/Belgian VAT numbers (checked with python-stdnum, not
with the simulator's own rule), two legal entities, contacts, history, every payment state."""
from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta

import pytest
from stdnum.be import vat as be_vat_check
from stdnum.nl import btw

from sandbox.odoo import OdooState
from sandbox.odoo.vat import be_vat, nl_vat


def test_vat_numbers_pass_stdnum():
    rng = random.Random(5)
    dutch = [nl_vat(rng) for _ in range(1000)]
    belgian = [be_vat(rng) for _ in range(1000)]
    assert all(btw.is_valid(n) and len(n) == 14 and n[11] == "B" for n in dutch)
    assert all(be_vat_check.is_valid(n) and len(n) == 12 and n.startswith("BE0") for n in belgian)
    assert len(set(dutch)) > 990 and len(set(belgian)) > 990


@pytest.fixture(scope="module", params=[17, 19])
def seeded(request):
    state = OdooState(version=request.param)
    counts = state.seed(rng_seed=3)
    return state, counts


def partners(state, *fields, **context):
    return state.call("res.partner", "search_read", [], fields=list(fields), context={"active_test": False, **context})


def test_seed_is_deterministic():
    first, second = OdooState(version=18), OdooState(version=18)
    assert first.seed(rng_seed=9) == second.seed(rng_seed=9)
    fields = ["name", "vat", "email", "parent_id", "company_id", "active"]
    assert partners(first, *fields) == partners(second, *fields)
    moves = ["name", "amount_total", "payment_state", "invoice_date"]
    assert first.call("account.move", "search_read", [], fields=moves) == \
        second.call("account.move", "search_read", [], fields=moves)
    other = OdooState(version=18)
    other.seed(rng_seed=10)
    assert partners(other, "name") != partners(first, "name")


def test_seeded_partners(seeded):
    state, counts = seeded
    rows = partners(state, "name", "vat", "is_company", "country_id", "parent_id", "type", "active", "company_id",
                    "email", "customer_rank")
    companies = [r for r in rows if r["is_company"] and r["id"] > 3 and not r["parent_id"]]
    assert len(companies) >= 40 and counts["res.partner"] == len(rows) - 3 - 1  # minus bootstrap and BE entity
    countries = Counter(r["country_id"][1] for r in companies)
    assert countries["Netherlands"] > countries["Belgium"] > 5
    for company in companies:
        code = company["vat"][:2]
        assert (btw.is_valid if code == "NL" else be_vat_check.is_valid)(company["vat"]), company
    children = [r for r in rows if r["parent_id"]]
    assert {r["type"] for r in children} == {"contact", "invoice"}
    by_id = {r["id"]: r for r in rows}
    assert all(r["vat"] == by_id[r["parent_id"][0]]["vat"] for r in children)  # commercial fields synced
    assert any(not r["active"] for r in companies) and any(r["company_id"] for r in companies)
    individuals = [r for r in rows if not r["is_company"] and not r["parent_id"] and r["id"] > 3]
    assert len(individuals) == 15 and all(r["customer_rank"] >= 1 and r["email"] for r in individuals)
    if state.version < 19:
        assert all(r["mobile"] for r in state.call("res.partner", "read", [i["id"] for i in individuals],
                                                   fields=["mobile"]))


def test_seeded_companies_products_and_history(seeded):
    state, _ = seeded
    companies = state.call("res.company", "search_read", [], fields=["name", "country_id", "currency_id"],
                           order="id")
    assert [c["country_id"][1] for c in companies] == ["Netherlands", "Belgium"]
    assert all(c["currency_id"][1] == "EUR" for c in companies)
    for company in companies:  # each legal entity has its own chart, taxes and journals
        scoped = {"allowed_company_ids": [company["id"]]}
        journals = state.call("account.journal", "search_read", [], fields=["code", "type"], context=scoped)
        assert {j["code"] for j in journals} == {"INV", "BILL", "BNK1", "MISC"}
        assert state.call("account.tax", "search_count", [("amount", "=", 21.0)], context=scoped) == 2
        assert state.call("account.account", "search_count", [("account_type", "=", "asset_receivable")],
                          context=scoped) == 1
    products = state.call("product.product", "search_read", [], fields=["default_code", "uom_id", "taxes_id"],
                          context={"active_test": False})
    assert len(products) == 16 and all(p["default_code"].startswith("P-") for p in products)
    assert all(len(p["taxes_id"]) == 2 for p in products)  # a sales tax in each company
    stamps = [r["write_date"] for r in partners(state, "write_date") if r["id"] > 3]
    oldest = datetime.fromisoformat(min(stamps))
    assert state.now() - timedelta(days=400) < oldest < state.now() - timedelta(days=30)
    assert len(set(stamps)) > 100  # spread, not one seeding instant
    assert state.call("res.currency", "search_count", []) == 2  # GBP is archived


def test_seeded_invoices_cover_the_payment_states(seeded):
    state, counts = seeded
    moves = state.call("account.move", "search_read", [], fields=["state", "payment_state", "name", "company_id",
                                                                  "move_type", "amount_residual", "amount_total"])
    assert counts["account.move"] == len(moves) > 24  # 24 documents, plus credit notes and their redrafts
    states = Counter((m["state"], m["payment_state"]) for m in moves)
    assert {("draft", "not_paid"), ("posted", "not_paid"), ("posted", "partial"), ("posted", "in_payment"),
            ("posted", "paid"), ("posted", "reversed")} <= set(states)
    assert {m["company_id"][0] for m in moves} == {1, 2}
    assert {m["move_type"] for m in moves} == {"out_invoice", "in_invoice", "out_refund"}
    for move in moves:
        if move["payment_state"] == "partial":
            assert 0 < move["amount_residual"] < move["amount_total"]
        if move["state"] == "posted":
            assert move["name"].split("/")[0] in ("INV", "BILL", "RINV")


def test_reset_reseeds_the_same_data(seeded):
    state, counts = seeded
    before = partners(state, "name", "vat")
    state.call("res.partner", "create", {"name": "Added later"})
    state.reset()
    assert partners(state, "name", "vat") == before
