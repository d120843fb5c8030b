"""The tables: one dict of rows per model, id sequences, and an undo journal per call.

Each RPC call is one transaction (Odoo opens a cursor per call): ``begin()`` starts recording,
``rollback()`` undoes every change of the call, ``commit()`` keeps them. Like PostgreSQL
sequences, ids handed out in a rolled-back call are not reused, so a failed create leaves a gap.
"""
from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

__all__ = ["Store"]


class Store:
    """Raw rows, no rules: the ORM (``orm.py``) is the only writer besides seeders."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[int, dict[str, Any]]] = {}
        self.sequences: dict[str, int] = {}
        self._undo: list[tuple] | None = None

    # ---- transaction -----------------------------------------------------------------------
    def begin(self) -> None:
        self._undo = []

    def commit(self) -> None:
        self._undo = None

    def rollback(self) -> None:
        undo, self._undo = self._undo or [], None
        for entry in reversed(undo):
            kind, model, rid = entry[:3]
            table = self.tables.setdefault(model, {})
            if kind == "insert":
                table.pop(rid, None)
            elif kind == "delete":
                table[rid] = entry[3]
            else:  # update: restore the previous values (a missing key is deleted again)
                row = table.get(rid)
                if row is not None:
                    for key, old in entry[3].items():
                        if old is _MISSING:
                            row.pop(key, None)
                        else:
                            row[key] = old

    # ---- rows ----------------------------------------------------------------------------------
    def next_id(self, model: str) -> int:
        self.sequences[model] = self.sequences.get(model, 0) + 1
        return self.sequences[model]

    def insert(self, model: str, row: dict[str, Any], rid: int | None = None) -> int:
        rid = rid or self.next_id(model)
        self.sequences[model] = max(self.sequences.get(model, 0), rid)
        self.tables.setdefault(model, {})[rid] = {**row, "id": rid}
        if self._undo is not None:
            self._undo.append(("insert", model, rid))
        return rid

    def update(self, model: str, rid: int, changes: dict[str, Any]) -> None:
        row = self.tables[model][rid]
        if self._undo is not None:
            self._undo.append(("update", model, rid,
                               {k: copy.deepcopy(row[k]) if k in row else _MISSING for k in changes}))
        row.update(changes)

    def delete(self, model: str, rid: int) -> None:
        row = self.tables.get(model, {}).pop(rid, None)
        if row is not None and self._undo is not None:
            self._undo.append(("delete", model, rid, row))

    def get(self, model: str, rid: int) -> dict[str, Any] | None:
        """The live row (do not mutate it outside ``update``)."""
        return self.tables.get(model, {}).get(rid)

    def rows(self, model: str) -> Iterator[dict[str, Any]]:
        return iter(list(self.tables.get(model, {}).values()))

    def exists(self, model: str, rid: Any) -> bool:
        return isinstance(rid, int) and rid in self.tables.get(model, {})

    def count(self, model: str) -> int:
        return len(self.tables.get(model, {}))

    def clear(self) -> None:
        self.tables.clear()
        self.sequences.clear()
        self._undo = None


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()
