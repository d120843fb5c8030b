"""Records per division, with the sync API's row versions and the log of deletions.

Every insert, update and delete bumps the division's Int64 ``Timestamp`` (a SQL rowversion in
Exact, so normally unique); ``touch(..., same_timestamp=True)`` gives several rows one value, the
tie a sync client must survive at a page boundary. Deletions go to ``deleted`` for ``sync/Deleted``.
Listeners hear every change (webhooks).
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sandbox.exact.entities import SPECS, EntitySpec

__all__ = ["Store"]

Listener = Callable[[int, EntitySpec, str, dict[str, Any]], None]
_FIRST_TIMESTAMP = 70_000_000  # rowversions are big, and never start at 1 [INFER]


class Store:
    def __init__(self, wall_now: Callable[[], datetime]) -> None:
        self._wall_now = wall_now
        self.listeners: list[Listener] = []
        self.clear()

    def clear(self) -> None:
        self._tables: dict[tuple[int, str], dict[Any, dict[str, Any]]] = {}
        self._timestamp: dict[int, int] = {}
        self._seq: dict[tuple[int, str], int] = {}
        self.deleted: dict[int, list[dict[str, Any]]] = {}

    def table(self, division: int, spec: EntitySpec | str) -> dict[Any, dict[str, Any]]:
        name = spec.table if isinstance(spec, EntitySpec) else SPECS[spec.lower()].table
        return self._tables.setdefault((division, name.lower()), {})

    def next_seq(self, division: int, series: str, start: int = 1) -> int:
        value = self._seq.get((division, series), start - 1) + 1
        self._seq[(division, series)] = value
        return value

    def next_after(self, division: int, series: str, floor: Callable[[], int]) -> int:
        """Next in ``series``; ``floor()`` (e.g. a scan for the highest code) seeds it the first time."""
        if (division, series) not in self._seq:
            self._seq[(division, series)] = floor()
        return self.next_seq(division, series)

    def bump_seq(self, division: int, series: str, at_least: int) -> None:
        self._seq[(division, series)] = max(self._seq.get((division, series), 0), at_least)

    def next_timestamp(self, division: int) -> int:
        value = self._timestamp.get(division, _FIRST_TIMESTAMP) + 1
        self._timestamp[division] = value
        return value

    def _stamp(self, record: dict[str, Any], spec: EntitySpec, division: int, user: dict[str, Any] | None,
               created: bool) -> None:
        now = self._wall_now()
        if "Modified" in spec.fields:
            record["Modified"] = now
            if user:
                record["Modifier"], record["ModifierFullName"] = user["UserID"], user["FullName"]
            if created:
                record.setdefault("Created", now)
                if user:
                    record.setdefault("Creator", user["UserID"])
                    record.setdefault("CreatorFullName", user["FullName"])
        if "Division" in spec.fields:
            record["Division"] = division
        record["_ts"] = self.next_timestamp(division)

    def insert(self, division: int, spec: EntitySpec, values: dict[str, Any], user: dict[str, Any] | None = None,
               *, notify: bool = True) -> dict[str, Any]:
        record = {name: None for name, typ in spec.fields.items() if typ != "n"}
        record.update(values)
        if spec.fields.get(spec.key) == "g" and not record.get(spec.key):
            record[spec.key] = str(uuid.uuid4())
        self._stamp(record, spec, division, user, created=True)
        self.table(division, spec)[record[spec.key]] = record
        if notify:
            self._notify(division, spec, "Create", record)
        return record

    def update(self, division: int, spec: EntitySpec, record: dict[str, Any], changes: dict[str, Any],
               user: dict[str, Any] | None = None) -> dict[str, Any]:
        record.update(changes)
        self._stamp(record, spec, division, user, created=False)
        self._notify(division, spec, "Update", record)
        return record

    def delete(self, division: int, spec: EntitySpec, key: Any, user: dict[str, Any] | None = None) -> None:
        record = self.table(division, spec).pop(key)
        if spec.deleted_type is not None:
            self.deleted.setdefault(division, []).append({
                "Timestamp": self.next_timestamp(division), "ID": str(uuid.uuid4()), "EntityKey": key,
                "EntityType": spec.deleted_type, "Division": division, "DeletedDate": self._wall_now(),
                "DeletedBy": user["UserID"] if user else None})
        self._notify(division, spec, "Delete", record)

    def touch(self, division: int, spec: EntitySpec, keys: list[Any], *, same_timestamp: bool = False) -> int:
        """Mark rows changed (new Modified, new Timestamp); ``same_timestamp``: all get one value."""
        shared = self.next_timestamp(division) if same_timestamp else None
        rows = self.table(division, spec)
        for key in keys:
            record = rows[key]
            self._stamp(record, spec, division, None, created=False)
            if shared is not None:
                record["_ts"] = shared
            self._notify(division, spec, "Update", record)
        return shared or 0

    def _notify(self, division: int, spec: EntitySpec, action: str, record: dict[str, Any]) -> None:
        for listener in self.listeners:
            listener(division, spec, action, record)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for (division, name), rows in self._tables.items():
            out[f"{division}:{name}"] = len(rows)
        return out
