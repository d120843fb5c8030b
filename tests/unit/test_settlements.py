"""Money is Decimal in cents: an invoice paid in parts is settled when its cents are, whatever
floating point made of the amounts on the way."""
from __future__ import annotations

from decimal import Decimal

from tribe_operators.sync.payments import Settlement, money


def test_amounts_become_cents():
    assert money(0.1 + 0.2) == Decimal("0.30")  # 0.30000000000000004 as a float
    assert money("1234.565") == Decimal("1234.57") and money(None) == money("") == Decimal("0.00")
    assert money(0.30000000000000004 - 0.1 - 0.2) == 0  # a float balance of 5.5e-17 is nothing owed


def test_each_state_of_a_settlement():
    total = money(500)
    assert Settlement("1", total, money(0.3 - 0.1 - 0.2), None).state == "paid"
    assert Settlement("1", total, money(100), None).state == "partial"
    assert Settlement("1", total, total, None).state == "unpaid"
    assert Settlement("1", total, money(0), None, reversed=True).state == "reversed"
