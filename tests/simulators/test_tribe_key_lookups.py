"""The Tribe simulator answers key filters (``ID eq …``, ``Organization/ID eq … or …``) and
collection expands from its indexes: the answers must be exactly what scanning every record
gives, also after records move to another parent or are deleted."""
from __future__ import annotations

import random

import pytest

from sandbox.tribe import TribeState, seed
from sandbox.tribe.filter_eval import compile_filter, key_terms
from sandbox.tribe.model import ENTITY_SETS
from sandbox.tribe.odata_query import parse_options, run_collection

CUSTOMERS = "Relationship_Organization_CommercialRelationship_Customer"


@pytest.fixture(scope="module")
def state():
    state = TribeState(rate_limit=0)
    seed(state, organisations=120, persons=20, products=10, rng_seed=11)
    return state


def scanned(state: TribeState, set_name: str, text: str) -> list[str]:
    """The reference answer: every record of the set through the predicate, in stored order."""
    predicate = compile_filter(text, ENTITY_SETS[set_name], state.store.resolve)
    return [r["ID"] for r in state.store.rows(set_name) if predicate(r)]


def answered(state: TribeState, set_name: str, text: str) -> list[str]:
    params = {"$filter": text, "$top": "1000"}
    body = run_collection(state.store, set_name, parse_options(params, ENTITY_SETS[set_name]), "http://t", params)
    return [r["ID"] for r in body["value"]]


def filters(state: TribeState) -> list[tuple[str, str]]:
    rng = random.Random(5)
    customers = state.store.rows(CUSTOMERS)
    orgs = [c["Organization"] for c in customers if c["Organization"]]
    some = rng.sample(orgs, 6)
    rels = [c["ID"] for c in rng.sample(customers, 3)]
    missing = "0" * 8 + "-0000-0000-0000-" + "0" * 12
    addresses = [a["ID"] for a in rng.sample(state.store.rows("Address"), 2)]
    return [
        (CUSTOMERS, " or ".join(f"Organization/ID eq {g}" for g in some)),
        (CUSTOMERS, f"({' or '.join(f'Organization/ID eq {g}' for g in some)}) and IsFormer eq false"),
        (CUSTOMERS, f"Organization eq {some[0]} or Organization eq {some[1].upper()}"),
        (CUSTOMERS, f"ID eq {rels[0]} or Organization/ID eq {some[2]} or ID eq {missing}"),
        (CUSTOMERS, f"ID eq {rels[1].upper()}"),
        (CUSTOMERS, f"ID eq {rels[2]} or Organization/Name eq 'x'"),  # not pinned: scanned
        (CUSTOMERS, f"not (Organization/ID eq {some[3]})"),  # not pinned: scanned
        ("Relation_Organization", " or ".join(f"ID eq {g}" for g in some[:3])),
        ("Relation", f"ID eq {some[4]} or ID eq {rels[0]}"),  # a base set: its subtypes, not others
        ("Relation_Organization", f"VisitingAddress/ID eq {addresses[0]} or InvoiceAddress eq {addresses[1]}"),
        ("Address", f"Organization/ID eq {some[5]} and City ne 'nowhere'"),
    ]


def test_key_filters_answer_as_the_scan_does(state):
    cases = filters(state)
    assert sum(key_terms(text, ENTITY_SETS[name]) is not None for name, text in cases) == len(cases) - 2
    for name, text in cases:
        assert answered(state, name, text) == scanned(state, name, text), text


def test_the_index_follows_moves_and_deletes(state):
    customers = state.store.rows(CUSTOMERS)
    mover, gone = customers[3], customers[7]
    old_org, new_org = mover["Organization"], customers[10]["Organization"]
    cases = filters(state) + [(CUSTOMERS, f"Organization/ID eq {old_org} or Organization/ID eq {new_org}")]
    state.update(CUSTOMERS, mover["ID"], {"Organization": {"ID": new_org}})
    state.delete(CUSTOMERS, gone["ID"])
    for name, text in cases:
        assert answered(state, name, text) == scanned(state, name, text), text
    assert mover["ID"] in answered(state, CUSTOMERS, f"Organization/ID eq {new_org}")
    assert mover["ID"] not in answered(state, CUSTOMERS, f"Organization/ID eq {old_org}")
    assert gone["ID"] not in answered(state, CUSTOMERS, f"ID eq {gone['ID']}")


def test_collection_expands_list_every_child_in_order(state):
    invoices = [r for r in state.store.rows("Activity_Invoice") if state.store.children(r, "ProductLines")]
    assert invoices, "the seed makes invoices with product lines"
    for invoice in invoices:
        expected = [r for r in state.store.rows("ProductLine") if r.get("Activity") == invoice["ID"]]
        assert state.store.children(invoice, "ProductLines") == expected
    line = state.store.children(invoices[0], "ProductLines")[0]
    state.store.delete("ProductLine", line["ID"])
    assert line["ID"] not in [r["ID"] for r in state.store.children(invoices[0], "ProductLines")]
