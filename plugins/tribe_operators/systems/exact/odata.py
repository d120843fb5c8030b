"""Exact's OData v2 dialect, as the hook, source and target write and read it."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["by_ids", "odata_string", "results"]

_IDS_PER_CALL = 20  # an "or" of 20 guids stays well inside Exact's 6,000-character URL


def results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of an OData v2 answer: ``{"d":{"results":[…]}}``, or ``{"d":[…]}``, or one ``{"d":{…}}``."""
    data = body.get("d", body)
    if isinstance(data, dict):
        return data.get("results", [data]) if "results" in data else [data]
    return list(data)


def odata_string(text: str) -> str:
    """A v2 string literal: quoted, a quote doubled (``'O''Brien'``)."""
    return "'" + str(text).replace("'", "''") + "'"


def by_ids(ids: list[str]) -> Iterator[str]:
    """``ID eq guid'…' or …`` filters, 20 ids each: a read by id that answers an empty list for
    a record that is gone, where a GET by key would 404 (a refusal counting toward Exact's block)."""
    for start in range(0, len(ids), _IDS_PER_CALL):
        yield " or ".join(f"ID eq guid'{i}'" for i in ids[start:start + _IDS_PER_CALL])
