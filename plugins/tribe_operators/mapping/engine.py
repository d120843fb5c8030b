"""Apply a stream's field map: a pure ``dict → dict`` function plus a content hash."""
from __future__ import annotations

import hashlib
import json
import string
from dataclasses import dataclass
from typing import Any

from tribe_operators.exceptions import RecordError
from tribe_operators.mapping.compare import below_floor
from tribe_operators.mapping.spec import StreamSpec
from tribe_operators.mapping.catalogue import known_transforms
from tribe_operators.mapping.transforms import MapContext, _path

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
        self._match_only = {f.target for f in spec.fields if f.is_match_only(ctx.settings)}
        self._floors = {f.target for f in spec.fields if f.at_least}
        self._only_create = {f.target for f in spec.fields if f.only_create} | self._match_only | self._floors
        # What can be worked out once per field rather than once per record and field.
        self._plans = {id(fields): (fields, [_Plan.of(fm) for fm in fields])
                       for fields in (spec.fields, *(child.fields for child in spec.children))}

    def map(self, record: dict[str, Any]) -> Mapped:
        """Map one record, or raise ``RecordError`` naming every bad field."""
        record_id = self._record_id(record)
        out, errors = self._fields(self.spec.fields, record, "")
        for child in self.spec.children:
            items = _path(record, child.source) or []
            if child.required and not items:
                errors.append((child.source, "has no elements; at least one is required", None))
            mapped_items = []
            for index, item in enumerate(items, start=1):
                fields, problems = self._fields(child.fields, item, f"{child.source}[{index}].")
                mapped_items.append(fields)
                errors.extend(problems)
            out[child.target] = mapped_items
        if errors:
            field, reason, action = errors[0]
            more = "; ".join(f"{f}: {r}" for f, r, _ in errors[1:])
            raise RecordError(field, reason + (f" (also {more})" if more else ""), record_id=record_id, mapped=out,
                              action=action)
        updatable = {k: v for k, v in out.items() if k not in self._only_create}
        return Mapped(fields=out, update_hash=content_hash(updatable))

    def _record_id(self, record: dict[str, Any]) -> str:
        try:
            return self.spec.source.record_id(record)
        except (KeyError, ValueError):
            return str(record.get(self.spec.source.id_field))

    def _fields(self, fields: list[Any], record: dict[str, Any],
                prefix: str) -> tuple[dict[str, Any], list[tuple[str, str, dict[str, Any] | None]]]:
        known = self._plans.get(id(fields))
        plans = known[1] if known is not None and known[0] is fields else [_Plan.of(fm) for fm in fields]
        out: dict[str, Any] = {}
        errors: list[tuple[str, str, dict[str, Any] | None]] = []  # (field, reason, action)
        for plan in plans:
            fm = plan.fm
            try:
                if plan.template is not None:
                    value: Any = "".join(literal + ("" if path is None else format(_get(record, path, ""), ""))
                                         for literal, path in plan.template)
                elif fm.template is not None:
                    value = _TEMPLATE.vformat(fm.template, (), record)
                elif plan.path is not None:
                    value = _get(record, plan.path)
                else:
                    value = fm.value
                for name, args in plan.steps:
                    value = known_transforms()[name](value, self.ctx, record, **args)
                if not plan.steps and isinstance(value, str):
                    value = value.strip() or None
            except RecordError as exc:
                errors.append((prefix + plan.where, exc.reason, exc.action))
                continue
            if fm.required and value in (None, "", {}):
                errors.append((prefix + plan.where,
                               f"is required for {self.spec.target.entity_set}.{fm.target} but is empty", None))
                continue
            if fm.spread:
                out.update(value or {})  # several fields, or none (no address: nothing to write)
            elif not fm.check_only:
                out[fm.target] = value
        return out, errors

    def updatable(self, fields: dict[str, Any]) -> dict[str, Any]:
        """What an update writes: no create-only or match-only fields."""
        return {k: v for k, v in fields.items() if k not in self._only_create}

    def raised(self, fields: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        """The ``at_least`` fields an update must write: those the target holds less of."""
        return below_floor({k: v for k, v in fields.items() if k in self._floors}, current)

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


def _get(record: Any, path: tuple[str, ...], none: Any = None) -> Any:
    """``_path`` over a path split once: a dotted path into nested records, None (or ``none``)
    where it leads nowhere."""
    value = record
    for part in path:
        if not isinstance(value, dict):
            return none
        value = value.get(part)
    return none if value is None else value


@dataclass(frozen=True)
class _Plan:
    """One field map, prepared for many records: its source path split, its transforms listed,
    a plain template (``"poweroffice:{Id}"``) parsed into literal text and paths."""

    fm: Any
    where: str
    path: tuple[str, ...] | None
    steps: tuple[tuple[str, dict[str, Any]], ...]
    template: tuple[tuple[str, tuple[str, ...] | None], ...] | None

    @classmethod
    def of(cls, fm: Any) -> _Plan:
        return cls(fm=fm, where=fm.source or fm.target,
                   path=tuple(fm.source.split(".")) if fm.source is not None else None,
                   steps=tuple((step.transform, step.args) for step in fm.steps()),
                   template=_plain_template(fm.template) if fm.template is not None else None)


def _plain_template(template: str) -> tuple[tuple[str, tuple[str, ...] | None], ...] | None:
    """``[(literal, path or None)]`` when every field is a bare name (no index, conversion or
    format spec: those go through ``_TEMPLATE``, as does a template that does not parse)."""
    try:
        parts = list(_TEMPLATE.parse(template))
    except ValueError:
        return None
    plain = []
    for literal, name, spec, conversion in parts:
        if name is not None and (not name or name.isdigit() or spec or conversion):
            return None
        plain.append((literal, tuple(name.split(".")) if name is not None else None))
    return tuple(plain)
