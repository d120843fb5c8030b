"""PowerOffice Go as a *source*: stream changed records page by page."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from tribe_operators.dedupe.keys import key_tuple
from tribe_operators.mapping.compare import same_value
from tribe_operators.mapping.filters import Condition, conditions_for, matches, split
from tribe_operators.protocols import Adapter
from tribe_operators.timeutil import iso_timestamp, parse_timestamp

if TYPE_CHECKING:
    from tribe_operators.mapping.spec import StreamSpec

__all__ = ["PowerOfficeSource"]

Row = tuple[str, datetime | None, dict[str, Any]]


def _parameter(parameters: dict[str, str], condition: Condition) -> tuple[str, str] | None:
    """A condition as a list parameter (``customerNos=10001,10002``), if the resource has one."""
    name = parameters.get(condition.field)
    if name is None or condition.op not in ("eq", "in"):
        return None
    values = condition.value if condition.op == "in" else [condition.value]
    return name, ",".join("true" if v is True else "false" if v is False else str(v) for v in values)


class PowerOfficeSource(Adapter):
    system = "poweroffice"

    def extract(self, spec: StreamSpec, since: datetime | None, until: datetime | None,
                where: list[Condition] | None = None) -> Iterator[list[Row]]:
        """Yield pages of ``(id, modified_at, record)`` changed in ``(since, until]`` that meet
        ``where`` (the stream's conditions).

        The server filters ``> since`` (strictly greater, as documented); ``until`` is applied
        here so a replayed window reads exactly what changed in it. A condition the resource
        has a list parameter for (``source.filters``) is sent; the rest is checked here.
        """
        src = spec.source
        sent, local = split(conditions_for(spec, self.settings) if where is None else where, partial(_parameter, src.filters))
        params: dict[str, Any] = dict(sent)
        if since is not None and src.changed_since_param:
            params[src.changed_since_param] = iso_timestamp(since)
        for page in self.hook.iter_pages(src.resource, params):
            rows: list[Row] = []
            for record in page:
                if not matches(record, local):
                    continue
                modified = parse_timestamp(record.get(src.modified_field))
                if since is not None and modified is not None and modified <= since:
                    continue  # the API has no filter for this resource: apply it here
                if until is not None and modified is not None and modified > until:
                    continue
                rows.append((src.record_id(record), modified, record))
            if rows:
                yield rows

    def fetch(self, spec: StreamSpec, ids: list[str], where: list[Condition] | None = None) -> list[Row]:
        """Records by id (quarantine retries) that meet ``where``; ids that no longer exist are left out."""
        from tribe_operators.exceptions import NotFoundError

        conditions = conditions_for(spec, self.settings) if where is None else where
        rows: list[Row] = []
        for record_id in ids:
            try:
                record = self.hook.get(spec.source.resource, record_id)
            except NotFoundError:
                continue
            if matches(record, conditions):
                rows.append((spec.source.record_id(record),
                             parse_timestamp(record.get(spec.source.modified_field)), record))
        return rows

    def lookup_table(self, entity_set: str, key: str, value: str | None = None) -> dict[str, str]:
        return self.hook.codes(entity_set, key, value)


class PowerOfficeTarget(Adapter):
    """PowerOffice Go as a *target* (Tribe → accounting): find, create, JSON-Patch update."""

    system = "poweroffice"
    id_key = "Id"
    # A create or PATCH answers with the whole record, as a read would return it: what was just
    # written is hashed from the answer, not read again.
    answers_with_record = True
    modified_field = None  # the stamp is on the record itself; nested records carry none

    def lookup_table(self, entity_set: str, key: str, value: str | None = None) -> dict[str, str]:
        return self.hook.codes(entity_set, key, value)

    def fetch(self, spec: StreamSpec, ids: Any, hints: dict[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
        """Current records by id. PowerOffice lists have no id filter, but they filter on
        numbers and codes 100 at a time: ids whose mapped fields (``hints``) carry such a key
        are read that way; the rest, and any the key no longer finds, one GET each."""
        from tribe_operators.exceptions import NotFoundError

        wanted = [str(i) for i in ids]
        found: dict[str, dict[str, Any]] = {}
        for field in spec.target.filters:
            keyed = {rid: (hints or {}).get(rid, {}).get(field) for rid in wanted if rid not in found}
            keyed = {rid: (str(v),) for rid, v in keyed.items() if v not in (None, "")}
            if not keyed:
                continue
            matches = self.find(spec, [field], list(keyed.values()))
            for rid, key in keyed.items():
                record = next((r for r in matches.get(key, []) if spec.target.record_id(r, self.id_key) == rid), None)
                if record is not None:
                    found[rid] = record
        for record_id in (rid for rid in wanted if rid not in found):
            try:
                found[record_id] = self.hook.get(spec.target.entity_set, record_id)
            except NotFoundError:
                continue
        return found

    def find(self, spec: StreamSpec, fields: list[str], values: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
        """Match through the resource's list filter for that field (``Number`` → ``customerNos``)."""
        if len(fields) != 1 or fields[0] not in spec.target.filters:
            raise ValueError(f"{spec.stream}: no PowerOffice filter for dedupe key {fields}; add target.filters")
        field, param = fields[0], spec.target.filters[fields[0]]
        wanted = [v for v in dict.fromkeys(values) if v[0] not in (None, "")]
        found: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        listed = param.endswith(("Nos", "Codes"))  # comma lists (customerNos, externalCodes): 100 per call
        batches = ([wanted[i:i + 100] for i in range(0, len(wanted), 100)] if listed else [[v] for v in wanted])
        asked: dict[tuple[str, ...] | None, list[tuple[Any, ...]]] = {}
        for value in wanted:  # answers are keyed by the value asked, compared in normal form
            asked.setdefault(key_tuple(value), []).append(value)
        for batch in batches:
            for record in self.hook.iter_records(spec.target.entity_set, {param: ",".join(str(v[0]) for v in batch)}):
                for value in asked.get(key_tuple([record.get(field)]), []):
                    found.setdefault(value, []).append(record)
        return found

    def differs(self, current: dict[str, Any], fields: dict[str, Any]) -> bool:
        return not all(same_value(current.get(k), v) for k, v in fields.items())

    def create(self, spec: StreamSpec, fields: dict[str, Any]) -> dict[str, Any]:
        """POST the record; one addressed under its parent goes to ``<entity_set>/<parent id>``."""
        body = {k: v for k, v in fields.items() if v is not None}
        path, parent = spec.target.entity_set, spec.target.create_under
        if parent:
            path = f"{path}/{body.pop(parent)}"
        return self.hook.create(path, body)

    def update(self, spec: StreamSpec, target_id: str, fields: dict[str, Any],
               current: dict[str, Any] | None) -> dict[str, Any] | None:
        """PATCH only what changed; nested objects leaf by leaf (``/MailAddress/City``).
        Returns the record as PowerOffice now holds it (its answer to the PATCH)."""
        current = current or {}
        changes: dict[str, Any] = {}
        for key, value in fields.items():
            if isinstance(value, dict) and isinstance(current.get(key), dict):
                changes.update({f"{key}/{k}": v for k, v in value.items() if not same_value(current[key].get(k), v)})
            elif not same_value(current.get(key), value):
                changes[key] = value
        if changes:
            return self.hook.patch(spec.target.entity_set, target_id, changes)
        return current or None

    def as_source(self) -> PowerOfficeSource:
        return PowerOfficeSource(self.hook)
