"""Fault-injection suite (``pytest -m chaos``): CI sizes by default, full sizes with
``TRIBE_SYNC_CHAOS_FULL=1`` (the issue's figures: 1,000 invoices, …)."""
from __future__ import annotations

import os

import pytest

FULL = os.environ.get("TRIBE_SYNC_CHAOS_FULL", "").lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/chaos/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.chaos)


@pytest.fixture
def chaos_size():
    """``chaos_size(ci, full)``: the CI size, or the full one under TRIBE_SYNC_CHAOS_FULL=1."""
    return lambda ci, full: full if FULL else ci
