"""Apply a stream's field map: a pure ``dict → dict`` function plus a content hash."""
from __future__ import annotations

import hashlib
import json
import string
from dataclasses import dataclass
from typing import Any

from tribe_operators.exceptions import RecordError
from tribe_operators.mapping.spec import StreamSpec
from tribe_operators.mapping.transforms import TRANSFORMS, MapContext, _path

__all__ = ["Mapped", "Mapper", "content_hash"]


def content_hash(payload: dict[str, Any]) -> str:
    """Stable SHA-256 of a payload (key order and whitespace do not matter)."""
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Mapped:
    """A mapped record: ``fields`` to write and the hash of what an update would write."""

    fields: dict[str, Any]
    update_hash: str


class Mapper:
    """Maps source records of one stream. Never mutates its input.

    Args:
        spec: The stream's validated mapping.
        ctx: Lookup tables and settings for this run.
    """

    def __init__(self, spec: StreamSpec, ctx: MapContext) -> None:
        self.spec = spec
        self.ctx = ctx
        self._only_create = {f.target for f in spec.fields if f.only_create or f.match_only}
        self._match_only = {f.target for f in spec.fields if f.match_only}

    def map(self, record: dict[str, Any]) -> Mapped:
        """Map one record, or raise ``RecordError`` naming every bad field."""
        record_id = self._record_id(record)
        out, errors = self._fields(self.spec.fields, record, "")
        for child in self.spec.children:
            items = _path(record, child.source) or []
            if child.required and not items:
                errors.append((child.source, "has no elements; at least one is required"))
            mapped_items = []
            for index, item in enumerate(items, start=1):
                fields, problems = self._fields(child.fields, item, f"{child.source}[{index}].")
                mapped_items.append(fields)
                errors.extend(problems)
            out[child.target] = mapped_items
        if errors:
            field, reason = errors[0]
            more = "; ".join(f"{f}: {r}" for f, r in errors[1:])
            raise RecordError(field, reason + (f" (also {more})" if more else ""), record_id=record_id)
        updatable = {k: v for k, v in out.items() if k not in self._only_create}
        return Mapped(fields=out, update_hash=content_hash(updatable))

    def _record_id(self, record: dict[str, Any]) -> str:
        try:
            return self.spec.source.record_id(record)
        except (KeyError, ValueError):
            return str(record.get(self.spec.source.id_field))

    def _fields(self, fields: list[Any], record: dict[str, Any], prefix: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        out: dict[str, Any] = {}
        errors: list[tuple[str, str]] = []
        for fm in fields:
            where = prefix + (fm.source or fm.target)
            try:
                if fm.template is not None:
                    value: Any = _TEMPLATE.vformat(fm.template, (), record)
                elif fm.source is not None:
                    value = _path(record, fm.source)
                else:
                    value = fm.value
                steps = fm.steps()
                for step in steps:
                    value = TRANSFORMS[step.transform](value, self.ctx, record, **step.args)
                if not steps and isinstance(value, str):
                    value = value.strip() or None
            except RecordError as exc:
                errors.append((where, exc.reason))
                continue
            if fm.required and value in (None, "", {}):
                errors.append((where, f"is required for {self.spec.target.entity_set}.{fm.target} but is empty"))
                continue
            if fm.spread and isinstance(value, dict):
                out.update(value)
            elif not fm.check_only:
                out[fm.target] = value
        return out, errors

    def updatable(self, fields: dict[str, Any]) -> dict[str, Any]:
        """What an update writes: no create-only or match-only fields."""
        return {k: v for k, v in fields.items() if k not in self._only_create}

    def creatable(self, fields: dict[str, Any]) -> dict[str, Any]:
        """What a create writes: everything but match-only fields."""
        return {k: v for k, v in fields.items() if k not in self._match_only}


class _RecordFormatter(string.Formatter):
    """``str.format`` over a record: ``{Person.LastName}`` is a dotted path into nested records,
    and absent or null fields format as an empty string (``"{MiddleName} {LastName}"`` for a
    person without a middle name)."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, str]:
        value = _path(kwargs, field_name)
        return ("" if value is None else value), field_name


_TEMPLATE = _RecordFormatter()
