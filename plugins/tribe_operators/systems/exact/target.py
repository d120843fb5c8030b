"""Exact Online as a *target* (Tribe → Exact): find accounts and items by key, create, write what differs.

Every refusal counts toward Exact's block (ten 4xx per endpoint an hour block the key), so
this adapter sends nothing it can decide itself: lookups are filters that answer an empty list
(never a GET by key that could 404), an update sends only the fields that differ, and what the
client's error guard holds back reaches the load step as a record error (quarantined as held,
tried again next run). Exact pads what it stores (``Code`` to 18 characters right-aligned,
``Country`` to three, an item's ``Unit`` code) and writes its dates as ``/Date(ms)/`` Amsterdam
wall time: records are read back trimmed and with real datetimes, so a value written is a value
that compares equal. An item always has a group and a unit (Exact fills its defaults on create):
an empty one from Tribe leaves Exact's as it is rather than clearing it on every run.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tribe_operators.dedupe.keys import KeyLookup, key_needles
from tribe_operators.mapping.compare import same_value
from tribe_operators.mapping.reads import target_fields
from tribe_operators.protocols import Adapter
from tribe_operators.systems.exact.odata import by_ids, odata_string, results
from tribe_operators.systems.exact.source import ExactSource
from tribe_operators.timeutil import parse_ms_date

if TYPE_CHECKING:
    from tribe_operators.mapping.spec import StreamSpec

__all__ = ["ExactTarget"]

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PADDED = ("Code", "Country", "Unit")  # Exact pads these; compared and written back trimmed
EXACTS_WHEN_EMPTY = ("ItemGroup", "Unit")  # Exact defaults them and holds no item without them
_KEYS_PER_CALL = 20  # as by_ids: 20 terms stay well inside Exact's 6,000-character URL


def _term(field: str, needle: str) -> str:
    """What contains the key: an id equals it, digits as typed (a number has no case), text
    case-insensitively."""
    if _GUID.match(needle):
        return f"{field} eq guid'{needle}'"
    if needle.isdigit():
        return f"substringof({odata_string(needle)}, {field}) eq true"
    return f"substringof({odata_string(needle)}, tolower({field})) eq true"


class ExactTarget(Adapter):
    system = "exact"
    id_key = "ID"
    answers_with_record = True  # a POST answers with the record as stored (its Code, Modified)
    modified_field = "Modified"

    def _client(self) -> Any:
        return self.hook.client_for(self.scope.get("key") or None)

    def _record(self, raw: dict[str, Any]) -> dict[str, Any]:
        record = {k: v for k, v in raw.items() if k != "__metadata"}
        for name in PADDED:
            if isinstance(record.get(name), str):
                record[name] = record[name].strip()
        if isinstance(record.get(self.modified_field), str):
            record[self.modified_field] = parse_ms_date(record[self.modified_field], zone=self.hook.exact.timezone)
        return record

    def _select(self, spec: StreamSpec) -> str:
        return ",".join(dict.fromkeys(["ID", self.modified_field, *target_fields(spec)]))

    def _read(self, spec: StreamSpec, condition: str) -> list[dict[str, Any]]:
        from tribe_operators.http.pagination import NextLinkPaginator

        params = {"$select": self._select(spec), "$filter": condition}
        return [self._record(r) for page in self._client().pages(spec.target.entity_set, NextLinkPaginator(), params)
                for r in page]

    def fetch(self, spec: StreamSpec, ids: Any, hints: Any = None) -> dict[str, dict[str, Any]]:
        """Current records by id; an id that is gone is simply left out."""
        found: dict[str, dict[str, Any]] = {}
        for condition in by_ids([str(i) for i in ids]):
            found.update({str(r["ID"]): r for r in self._read(spec, condition)})
        return found

    def find(self, spec: StreamSpec, fields: list[str],
             values: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
        """Accounts whose ``fields`` equal each tuple in the keys' normal form: Exact is asked for
        what *contains* each key (a superset: a ``Code`` is stored padded) and the normal form
        decides here."""
        shape = spec.key_normalisers(fields)
        lookup = KeyLookup(fields, values, shape)
        groups = [" and ".join(_term(f, needle) for f, needle in zip(fields, key_needles(key, shape), strict=True)
                               if needle) for key in lookup.wanted]
        groups = [g for g in groups if g]
        for start in range(0, len(groups), _KEYS_PER_CALL):
            condition = " or ".join(f"({g})" for g in groups[start:start + _KEYS_PER_CALL])
            for record in self._read(spec, condition):
                lookup.add(record)
        return lookup.found

    def differs(self, current: dict[str, Any], fields: dict[str, Any]) -> bool:
        return not all(same_value(current.get(k), v) for k, v in _kept(fields).items())

    def create(self, spec: StreamSpec, fields: dict[str, Any]) -> dict[str, Any]:
        """POST the record; Exact answers with it as stored (a ``Code`` it assigned included)."""
        body = {k: v for k, v in fields.items() if v is not None}
        answer = self._client().request("POST", spec.target.entity_set, json=body).json()
        return self._record(results(answer)[0])

    def update(self, spec: StreamSpec, target_id: str, fields: dict[str, Any], current: dict[str, Any] | None) -> None:
        """PUT only what differs (Exact answers 204, no body)."""
        changes = {k: v for k, v in _kept(fields).items() if not same_value((current or {}).get(k), v)}
        if changes:
            self._client().request("PUT", f"{spec.target.entity_set}(guid'{target_id}')", json=changes)

    def lookup_table(self, entity_set: str, key: str, value: str | None = None) -> dict[str, str]:
        """As the source reads it, values trimmed too: a unit code is written as Exact compares it."""
        return {k: v.strip() for k, v in self.as_source().lookup_table(entity_set, key, value).items()}

    def as_source(self) -> ExactSource:
        return ExactSource(self.hook, self.settings, self.scope)


def _kept(fields: dict[str, Any]) -> dict[str, Any]:
    """What an update writes: an empty group or unit leaves Exact's own (see the module's note)."""
    return {k: v for k, v in fields.items() if not (v is None and k in EXACTS_WHEN_EMPTY)}
